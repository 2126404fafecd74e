"""Coordinators' reviews of submissions."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from sync.reviews import DECISIONS, MAX_COMMENT_CHARS, STATES

from .base import Answer, ApiQuery, ApiSchema, QueryWhole, Text, at_least, length, one_of


class ReviewsQuery(ApiQuery):
    area = Text(required=True, metadata={"description": "the area code whose submissions to list"})
    state = Text(validate=one_of(STATES))
    form = Text()
    author = Text()
    after = Text(metadata={"description": "`next` of the previous page"})
    limit = QueryWhole(load_default=50, validate=at_least(1), metadata={"description": "at most 200 are given"})


class ReviewDecision(ApiSchema):
    status = Text(allow_none=True, validate=one_of(DECISIONS))
    comment = Text(allow_none=True, validate=length(0, MAX_COMMENT_CHARS))
    review_rev = Text(allow_none=True, metadata={"description": "the review's _rev you read (\"\" for none)"})
    submission_rev = Text(allow_none=True, metadata={"description": "the submission's _rev you read"})

    @validates_schema
    def _something(self, data: dict[str, Any], **kw: Any) -> None:
        if not data.get("status") and not (data.get("comment") or "").strip():
            raise ValidationError("is required when there is no comment (choose a state or write a comment)",
                                  field_name="status")


class ReviewListing(Answer):
    reviews = fields.List(fields.Dict(), required=True)
    next = fields.String(allow_none=True, required=True)


class ReviewShown(Answer):
    submission = fields.String(required=True)
    state = fields.String(required=True)
    review = fields.Dict(allow_none=True)


class ReviewRecorded(Answer):
    ok = fields.Boolean(required=True)
    id = fields.String(required=True)
    rev = fields.String(required=True)
    state = fields.String(required=True)
    review = fields.Dict(required=True)
