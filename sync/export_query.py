"""The parameters of an export, read from text as a URL, a web form and the command line give them.

One reading for the three, so a wrong value is refused in the same words
everywhere: a ``400`` that names the parameter (``extra["parameter"]``), in
English and Mongolian, before anything is read or written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sync.errors import BadRequest
from sync.gate.messages import Text
from sync.reviews import STATES

FORMATS = ("csv", "xlsx")
LABELS = ("name", "mn", "en")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_AREA = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
MAX_AREAS = 200


@dataclass
class Params:
    fmt: str = "csv"
    version: int | None = None
    areas: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None
    state: str | None = None
    labels: str | None = None  # None: field names
    photos: bool = False


def bad(parameter: str, en: str, mn: str) -> BadRequest:
    return BadRequest(Text({"en": f"{parameter}: {en}", "mn": f"{parameter}: {mn}"}),
                      extra={"parameter": parameter, "fields": {parameter: en}})


def _one(get: Callable[[str], str | None], name: str) -> str | None:
    value = get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse(get: Callable[[str], str | None], getlist: Callable[[str], list[str]]) -> Params:
    """Every parameter checked; the first wrong one raises ``bad(...)``."""
    p = Params()
    fmt = _one(get, "format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise bad("format", f"{fmt[:20]!r} is not a format; choose csv or xlsx.",
                      f"{fmt[:20]!r} гэсэн хэлбэр байхгүй; csv эсвэл xlsx-ийг сонгоно уу.")
        p.fmt = fmt
    version = _one(get, "version")
    if version is not None and version != "all":
        if not (version.isascii() and version.isdigit()) or len(version) > 6 or int(version) < 1:
            raise bad("version", "the form version is a whole number from 1 (or empty for all versions).",
                      "маягтын хувилбар нь 1-ээс эхэлсэн бүхэл тоо (бүх хувилбарт хоосон орхино).")
        p.version = int(version)
    areas = [a.strip() for a in getlist("area") if a and a.strip()]
    if len(areas) > MAX_AREAS:
        raise bad("area", f"name at most {MAX_AREAS} areas.", f"ихдээ {MAX_AREAS} нутаг сонгоно уу.")
    for code in areas:
        if not _AREA.match(code):
            raise bad("area", f"{code[:40]!r} is not an area code.", f"{code[:40]!r} нь нутгийн код биш.")
    p.areas = sorted(set(areas))
    for name in ("from", "to"):
        value = _one(get, name)
        if value is None:
            continue
        try:
            if not _DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            raise bad(name, "dates are written as YYYY-MM-DD.",
                      "огноог ОООО-СС-ӨӨ хэлбэрээр бичнэ.") from None
        setattr(p, "date_from" if name == "from" else "date_to", value)
    if p.date_from and p.date_to and p.date_from > p.date_to:
        raise bad("to", "the end date comes before the start date.", "дуусах огноо эхлэх огнооноос өмнө байна.")
    state = _one(get, "state")
    if state is not None and state != "any":
        if state not in STATES:
            raise bad("state", f"{state[:40]!r} is not a review state; use one of {', '.join(STATES)}.",
                      f"{state[:40]!r} гэсэн хяналтын төлөв байхгүй; {', '.join(STATES)}-ийн аль нэгийг ашиглана уу.")
        p.state = state
    labels = _one(get, "labels")
    if labels is not None:
        if labels not in LABELS:
            raise bad("labels", "headers are field names (name) or labels in mn or en.",
                      "гарчиг нь талбарын нэр (name), эсвэл mn, en хэлний шошго байна.")
        p.labels = None if labels == "name" else labels
    photos = _one(get, "photos")
    if photos is not None:
        if photos not in ("0", "1", "true", "false", "on", "off"):
            raise bad("photos", "say 1 to include the photos, 0 not to.",
                      "зургийг оруулах бол 1, оруулахгүй бол 0 гэж бичнэ.")
        p.photos = photos in ("1", "true", "on")
    return p
