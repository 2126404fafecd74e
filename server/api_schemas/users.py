"""Accounts: what an admin sends to add or change one, and what comes back."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from sync.accounts.users import NAME_RE, ROLES

from .base import Answer, ApiSchema, Flag, ListOf, Text, length, matching, one_of

PASSWORD = length(8, 1024)
NAME_WORDS = "must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"


class NewUser(ApiSchema):
    name = Text(required=True, validate=matching(NAME_RE.pattern, NAME_WORDS))
    role = Text(required=True, validate=one_of(ROLES))
    areas = ListOf(Text(), load_default=list, metadata={"description": "area codes the user works in"})
    password = Text(required=True, validate=PASSWORD, load_only=True)

    @validates_schema
    def _areas_for_non_admins(self, data: dict[str, Any], **kw: Any) -> None:
        if data.get("role") in ("worker", "coordinator") and not data.get("areas"):
            raise ValidationError("must name at least one area for a worker or coordinator", field_name="areas")


class UserChange(ApiSchema):
    disabled = Flag()
    areas = ListOf(Text())
    role = Text(validate=one_of(ROLES))
    password = Text(validate=PASSWORD, load_only=True)


class UserInfo(Answer):
    name = fields.String(required=True)
    role = fields.String(required=True)
    areas = fields.List(fields.String(), required=True)
    disabled = fields.Boolean(required=True)
