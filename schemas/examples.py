"""The example forms shipped with fieldsync, for demos, tests and as templates.

They are plain definition files in schemas/forms/ so that admins can copy one,
edit it and upload it; loading them through `load_definition` here means a
broken example fails loudly instead of reaching a device.
"""

from __future__ import annotations

from importlib import resources

import orjson

from schemas.definition import load_definition


def bundled_forms() -> list[dict]:
    """Every bundled form definition, checked and normalized, sorted by form id."""
    folder = resources.files("schemas") / "forms"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".json")),
        key=lambda entry: entry.name,
    )
    return [load_definition(orjson.loads(entry.read_bytes())) for entry in files]
