"""Quarantined documents: the listing and a coordinator's release or discard."""

from __future__ import annotations

from marshmallow import fields

from sync.gate.quarantine_actions import MAX_NOTE

from .base import Answer, ApiQuery, ApiSchema, Text, Whole, at_least, length, one_of

STATUSES = ("held", "released", "discarded", "all")


class QuarantineQuery(ApiQuery):
    status = Text(load_default="held", validate=one_of(STATUSES))


class Release(ApiSchema):
    form_version = Whole(allow_none=True, validate=at_least(1, 1_000_000),
                         metadata={"description": "validate against this version instead of the one the "
                                                  "document names"})


class Discard(ApiSchema):
    reason = Text(required=True, validate=length(1, MAX_NOTE),
                  metadata={"description": "why: shown to the worker on their device"})


class QuarantineEntry(Answer):
    _id = fields.String(required=True)
    status = fields.String(required=True)
    doc_id = fields.String()
    rev = fields.String()
    scope = fields.String()
    user = fields.String()
    received_at = fields.String()
    reasons = fields.List(fields.Dict(), metadata={"description": "each {field, message, messages: {en, mn}}"})
    note = fields.String(allow_none=True)


class Released(Answer):
    ok = fields.Boolean()
    id = fields.String(required=True, metadata={"description": "the document's id"})
    rev = fields.String(required=True, metadata={"description": "the revision stored"})


class Discarded(Answer):
    _id = fields.String(required=True)
    status = fields.String(required=True)
