"""Areas of the tree (aimag > soum > bag, district > khoroo)."""

from __future__ import annotations

from marshmallow import fields

from sync.areas import CODE_RE, LEVELS

from .base import Answer, ApiSchema, Flag, Object, Text, length, matching, one_of

CODE_WORDS = "must be 1-63 lowercase letters, digits and '-', starting with a letter or digit"


class AreaName(ApiSchema):
    en = Text(required=True, validate=length(1, 200))
    mn = Text(allow_none=True, validate=length(0, 200))


class NewArea(ApiSchema):
    code = Text(required=True, validate=matching(CODE_RE.pattern, CODE_WORDS))
    name = Object(AreaName, required=True)
    parent = Text(allow_none=True, metadata={"description": "the code of the area it lies in"})
    level = Text(allow_none=True, validate=one_of(LEVELS))
    holds_data = Flag(load_default=False, metadata={"description": "whether submissions are kept per this area"})


class AreaCreated(Answer):
    code = fields.String(required=True)
    holds_data = fields.Boolean(required=True)


class AreaInfo(Answer):
    code = fields.String(required=True)
    name = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    parent = fields.String(allow_none=True)
    level = fields.String(allow_none=True)
    holds_data = fields.Boolean(required=True)
