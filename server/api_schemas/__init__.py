"""The shapes of ``/api`` requests and answers, one module per resource.

Request schemas validate what views read (``server.api_validation``) and,
with the answer schemas, make the OpenAPI description (``server.openapi``).
Schema class names are unique across modules: they become the names of the
description's components.
"""
