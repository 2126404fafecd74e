"""Form versions: publishing a definition, retiring versions, and the list.

The definition itself is the form language's own schema
(``schemas.definition.DefinitionSchema``, see docs/forms.md): the one that
checks it when it is published.
"""

from __future__ import annotations

from marshmallow import fields

from .base import Answer, ApiQuery, ApiSchema, QueryFlag, Whole, at_least


class PublishQuery(ApiQuery):
    draft = QueryFlag(load_default=False, metadata={"description": "store as a draft, not published"})


class Retire(ApiSchema):
    version = Whole(allow_none=True, validate=at_least(1), metadata={"description": "default: every published one"})
    grace_days = Whole(allow_none=True, validate=at_least(0, 3650),
                       metadata={"description": "days submissions of it are still accepted (default 30)"})


class FormInfo(Answer):
    form = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
    title = fields.Raw(metadata={"description": "per language"})
    sensitive = fields.Boolean(allow_none=True)


class FormPublished(Answer):
    id = fields.String(required=True)
    form = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)


class FormRetired(Answer):
    form = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True)
