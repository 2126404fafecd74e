"""Fields and a base schema whose errors read as plain words, for people calling ``/api``.

marshmallow's own messages ("Not a valid string.", "Unknown field.") name the
type system, not what the caller should send; these say it ("must be text",
"is not something this request takes"). The field's name is put in front of
each message by ``server.api_validation``, so messages start lower-case.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, fields, pre_load, validate

REQUIRED = {"required": "is required", "null": "must not be null", "validator_failed": "is not valid"}


class Text(fields.String):
    default_error_messages = {**REQUIRED, "invalid": "must be text", "invalid_utf8": "must be UTF-8 text"}


class Whole(fields.Integer):
    """A JSON integer: ``true``, ``1.5`` and ``"1"`` are refused, not coerced."""

    default_error_messages = {**REQUIRED, "invalid": "must be a whole number",
                              "too_large": "is too large a number"}

    def __init__(self, **kw: Any) -> None:
        super().__init__(strict=True, **kw)


class QueryWhole(fields.Integer):
    """An integer given as text in the query string."""

    default_error_messages = {**REQUIRED, "invalid": "must be a whole number",
                              "too_large": "is too large a number"}


class Number(fields.Float):
    default_error_messages = {**REQUIRED, "invalid": "must be a number", "too_large": "is too large a number",
                              "special": "must be a finite number"}


class Flag(fields.Boolean):
    """A JSON ``true`` or ``false``: ``1`` and ``"yes"`` are refused, not guessed at."""

    default_error_messages = {**REQUIRED, "invalid": "must be true or false"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class QueryFlag(fields.Boolean):
    """``true``/``1`` or ``false``/``0``/empty in the query string, as CouchDB's parameters."""

    default_error_messages = {**REQUIRED, "invalid": "must be true or false"}
    truthy = {"true", "1"}
    falsy = {"false", "0", ""}


class ListOf(fields.List):
    default_error_messages = {**REQUIRED, "invalid": "must be a list"}


class Mapping(fields.Dict):
    default_error_messages = {**REQUIRED, "invalid": "must be an object"}


class Object(fields.Nested):
    default_error_messages = {**REQUIRED, "type": "must be an object"}


class ApiSchema(Schema):
    """A request body or query: unknown members are refused, each by name."""

    class Meta:
        unknown = RAISE

    error_messages = {"type": "must be a JSON object", "unknown": "is not something this request takes"}


class ApiQuery(ApiSchema):
    """Query parameters: others are ignored (as CouchDB does; tools add cache busters), and an
    empty one is as good as absent, except a flag, where empty reads as false."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_empty(self, data: Any, **kw: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items()
                if v != "" or isinstance(self.fields.get(k), QueryFlag)}


def one_of(choices: tuple[str, ...] | list[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="must be one of: " + ", ".join(choices))


def length(min: int = 0, max: int | None = None) -> validate.Length:  # noqa: A002 - marshmallow's names
    if max is None:
        words = f"must be at least {min} characters long"
    elif min > 1:
        words = f"must be {min} to {max} characters long"
    elif min == 1:
        words = f"must not be empty, and at most {max} characters long"
    else:
        words = f"must be at most {max} characters long"
    return validate.Length(min=min, max=max, error=words)


def at_least(minimum: float, maximum: float | None = None) -> validate.Range:
    words = f"must be at least {minimum}" if maximum is None else f"must be between {minimum} and {maximum}"
    return validate.Range(min=minimum, max=maximum, error=words)


def matching(pattern: str, words: str) -> validate.Regexp:
    return validate.Regexp(pattern, error=words)


class Answer(Schema):
    """What a route answers: the members documented are there; others may be added later."""

    class Meta:
        unknown = INCLUDE


class Error(Answer):
    """Every failure: CouchDB's shape, ``fields`` added when members of the request are at fault
    (some failures add more, such as a refused form's ``problems``)."""

    error = fields.String(required=True, metadata={"description": "a token clients branch on"})
    reason = fields.String(required=True, metadata={"description": "what went wrong, in plain words"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          metadata={"description": "each wrong member (dotted path; `body` for the body "
                                                   "as a whole) and what is wrong with it"})


class Ok(Answer):
    ok = fields.Boolean(required=True)
