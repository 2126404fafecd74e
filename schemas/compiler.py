"""From a form version to the marshmallow schema that validates its submissions.

The write gate validates every submission against the exact form version it
names, so compiling must be cached and validating must be cheap.  A
marshmallow schema with one marshmallow field per question costs about 4 µs
per answer; instead each form version gets a generated marshmallow `Schema`
whose single `@validates_schema` hook runs the precompiled checks of
`schemas.plan`.  It is a real marshmallow schema (usable with `load` and
`validate`, errors as a `ValidationError` keyed by answer path), at a fraction of
the cost.

Problems come back as `[{"field": "household.children[2].age", "message": ...}]`:
`.` goes into a group or repeat entry, `[i]` is a 0-based repeat entry, and ""
is the submission's data as a whole.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, post_load, validates_schema
from marshmallow.experimental.context import Context

from schemas.definition import load_definition
from schemas.errors import FormDefinitionError
from schemas.messages import catalog
from schemas.plan import Run, build_checker

CACHE_SIZE = 256


class _Call:
    """What a validation needs besides the data: each submission's attachments, and the language.

    ``attachments`` maps ``id(data)`` to that submission's attachments: one call
    may validate a whole batch (``validate_many``), and the hook only sees the data.
    """

    __slots__ = ("attachments", "lang")

    def __init__(self, attachments: dict[int, dict], lang: str) -> None:
        self.attachments = attachments
        self.lang = lang


_NO_CALL = _Call({}, "en")
_NONE: dict = {}


def _schema_class(definition: dict) -> type[Schema]:
    checker = build_checker(definition)

    class SubmissionSchema(Schema):
        class Meta:
            # Unknown keys are refused by the checks themselves, with a message
            # a field worker can act on, rather than by marshmallow; the checks
            # read the submission as sent (pass_original), so marshmallow need
            # not copy every answer into a loaded result first (7 µs a document).
            unknown = EXCLUDE

        @validates_schema(pass_original=True)
        def _check_answers(self, _loaded: dict, data: dict, **kwargs: Any) -> None:
            call = Context.get(_NO_CALL)
            if type(call) is not _Call:  # another library's marshmallow context
                call = _NO_CALL
            run = Run(data, call.attachments.get(id(data), _NONE), catalog(call.lang), call.lang)
            checker(run)
            if run.problems:
                raise ValidationError(run.problems)

        @post_load(pass_original=True)
        def _as_sent(self, _loaded: dict, data: dict, **kwargs: Any) -> dict:
            return data  # what load() gives callers: the answers, all of them checked

    SubmissionSchema.__name__ = SubmissionSchema.__qualname__ = (
        f"Submission_{definition['form'].replace('-', '_')}_v{definition['version']}"
    )
    return SubmissionSchema


class SubmissionValidator:
    """Validates the `data` of submissions that name one form version."""

    def __init__(self, definition: dict) -> None:
        self.definition = definition
        self.form: str = definition["form"]
        self.version: int = definition["version"]
        self.schema_class = _schema_class(definition)
        self.schema = self.schema_class()

    def validate(
        self, data: Any, attachments: dict | None = None, lang: str = "en"
    ) -> list[dict[str, str]]:
        """Everything wrong with a submission, as field path and message; [] if valid.

        `attachments` is the submission document's `_attachments` (stubs are
        enough: only names and content types are read).  `lang` picks the
        message language ("en" or "mn"); the form's own constraint messages are
        used when it has them.
        """
        return self.validate_many([(data, attachments)], lang)[0]

    def validate_many(
        self, submissions: list[tuple[Any, dict | None]], lang: str = "en"
    ) -> list[list[dict[str, str]]]:
        """``validate`` for each ``(data, attachments)``, in one marshmallow pass.

        The write gate checks a pushed batch a form version at a time: one
        ``validate(many=True)`` costs marshmallow's set-up once, not once per
        submission (a third of the time of checking a household visit).
        """
        out: list[list[dict[str, str]]] = [[] for _ in submissions]
        batch, where, attachments = [], [], {}
        for i, (data, atts) in enumerate(submissions):
            if type(data) is not dict:
                out[i] = [{"field": "", "message": catalog(lang)["data"]}]
                continue
            if id(data) in attachments:  # the same dict twice: check a copy, so ids stay apart
                data = dict(data)
            attachments[id(data)] = atts if type(atts) is dict else _NONE
            batch.append(data)
            where.append(i)
        if not batch:
            return out
        with Context(_Call(attachments, lang)):
            errors = self.schema.validate(batch, many=True)
        for index, problems in errors.items():
            out[where[index]] = [
                {"field": path, "message": message}
                for path, messages in problems.items()
                for message in messages
            ]
        return out

    def __repr__(self) -> str:
        return f"<SubmissionValidator {self.form} v{self.version}>"


class _Cache:
    """A small thread-safe LRU of compiled validators."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple, SubmissionValidator] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> SubmissionValidator | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple, validator: SubmissionValidator) -> None:
        with self.lock:
            self.items[key] = validator
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_cache = _Cache(CACHE_SIZE)


def definition_digest(definition: dict) -> str:
    """A hash of the definition's content, ignoring key order and `_` metadata."""
    content = {
        k: v for k, v in definition.items() if not (isinstance(k, str) and k.startswith("_"))
    }
    try:
        encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError) as err:
        raise FormDefinitionError([{"path": "", "message": f"Not JSON: {err}"}]) from None
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def compile_form(definition: dict) -> SubmissionValidator:
    """The validator of one form version; compiled once, then served from a cache.

    The cache key is (form, version, content hash), so an edited draft that
    keeps its version number is recompiled.  A definition read from the store
    carries its CouchDB `_rev`, which changes whenever the content does; it is
    then found by (form, version, _rev) without hashing, which makes calling
    this once per submitted document cheap (about a microsecond).
    Raises FormDefinitionError if the definition is not valid.
    """
    if not isinstance(definition, dict):
        raise FormDefinitionError([{"path": "", "message": "A form definition is a JSON object."}])
    form, version, rev = definition.get("form"), definition.get("version"), definition.get("_rev")
    rev_key = (form, version, "_rev", rev) if isinstance(rev, str) else None
    if rev_key is not None:
        validator = _cache.get(rev_key)
        if validator is not None:
            return validator
    key = (form, version, definition_digest(definition))
    validator = _cache.get(key)
    if validator is None:
        validator = SubmissionValidator(load_definition(definition))
        _cache.put(key, validator)
    if rev_key is not None:
        _cache.put(rev_key, validator)
    return validator


def clear_cache() -> None:
    """Forget compiled validators (for tests and for reloading edited drafts)."""
    _cache.clear()
