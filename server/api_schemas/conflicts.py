"""Conflicting edits: the listing and a person's resolution."""

from __future__ import annotations

from marshmallow import fields

from .base import Answer, ApiQuery, ApiSchema, ListOf, Mapping, QueryWhole, Text, at_least, length


class ConflictsQuery(ApiQuery):
    area = Text(metadata={"description": "one area code of the caller's (default: all of them)"})
    after = Text(metadata={"description": "`next` of the previous page"})
    limit = QueryWhole(load_default=50, validate=at_least(1), metadata={"description": "at most 200 are given"})


class Resolution(ApiSchema):
    revs = ListOf(Text(), required=True, validate=length(1), metadata={"description": "the revisions compared"})
    picks = Mapping(keys=Text(), values=Text(), load_default=dict,
                    metadata={"description": "field (a JSON pointer) -> the revision whose value to keep"})
    note = Text(allow_none=True, validate=length(0, 2000))


class ConflictListing(Answer):
    conflicts = fields.List(fields.Dict(), required=True)
    next = fields.String(allow_none=True, required=True)


class FieldComparison(Answer):
    field = fields.String(required=True, metadata={"description": "a JSON pointer into the document"})
    rule = fields.String(metadata={"description": "how the server would merge it"})
    values = fields.Dict(keys=fields.String(), values=fields.Dict(),
                         metadata={"description": "revision -> {present, value}"})
    base = fields.Dict(allow_none=True, metadata={"description": "{present, value} in the shared base"})
    suggested = fields.String(allow_none=True, metadata={"description": "the revision the merge rule would keep"})


class ConflictView(Answer):
    id = fields.String(required=True)
    scope = fields.String(required=True)
    winner = fields.String(required=True)
    revs = fields.List(fields.String(), required=True, metadata={"description": "send these back to resolve"})
    base_rev = fields.String(allow_none=True)
    mergeable = fields.Boolean()
    fields_ = fields.List(fields.Nested(FieldComparison), data_key="fields",
                          metadata={"description": "the fields where the revisions differ"})
    docs = fields.Dict(metadata={"description": "each live revision's document"})


class Resolved(Answer):
    ok = fields.Boolean()
    id = fields.String()
    rev = fields.String()
