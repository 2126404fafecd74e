"""Languages of the web pages: which one a request gets, and the gettext catalogs.

The choice, first that applies: the language stored with the user's account
(chosen in the pages, so it follows them to any laptop), the ``fieldsync_lang``
cookie (chosen before logging in), the browser's ``Accept-Language``, and
Mongolian, the language of the people who use these pages.

The ``.po`` catalogs are committed; their compiled ``.mo`` files are not (a
generated file beside its source goes stale): ``compile_catalogs`` makes them
when the app starts, beside the ``.po`` when the package directory is
writable (a clone, ``pip install -e``), else in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import g, request
from flask_babel import get_locale

LANGUAGES = ("mn", "en")
LANGUAGE_NAMES = {"mn": "Монгол", "en": "English"}
COOKIE = "fieldsync_lang"
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    from .guard import user  # noqa: PLC0415 - guard imports this module

    chosen = g.get("lang_override")
    if chosen in LANGUAGES:
        return chosen
    account = user()
    if account is not None and account.lang in LANGUAGES:
        return account.lang
    cookie = request.cookies.get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(LANGUAGES, default="mn")


def lang() -> str:
    """The current request's language code."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "mn"


def pick(texts, fallback: str = "") -> str:
    """A label kept per language in data (``{"en": ..., "mn": ...}``) in the current language."""
    if isinstance(texts, dict):
        return texts.get(lang()) or texts.get("en") or next(iter(texts.values()), fallback) or fallback
    if texts is None:
        return fallback
    return str(texts)


def compile_catalogs() -> Path:
    """The directory holding compiled catalogs (``<lang>/LC_MESSAGES/messages.mo``), up to date."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    sources = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    target = TRANSLATIONS
    if not _writable(TRANSLATIONS, sources):
        target = Path(tempfile.mkdtemp(prefix="fieldsync-translations-"))
    for po in sources:
        mo = target / po.relative_to(TRANSLATIONS).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        # Written aside and renamed: several worker processes may start at once.
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)
    return target


def _writable(root: Path, sources: list[Path]) -> bool:
    return all(os.access(po.parent, os.W_OK) for po in sources) if sources else os.access(root, os.W_OK)
