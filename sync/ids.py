"""Document ids: ``<area code>:<kind>:<ulid>``.

The prefix routes a write to its scope without a lookup (like CouchDB's
partitioned databases); the ULID keeps ids unique across offline devices and
sortable by time. Documents of the ``global`` scope use ``global:<kind>:<key>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ulid import ULID

ID_RE = re.compile(r"^([a-z0-9][a-z0-9-]{0,62}):([a-z][a-z0-9_-]{0,31}):([^:\s][^\s]{0,200})\Z")
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}\Z")

SUBMISSION = "sub"
REVIEW = "review"
FEEDBACK = "feedback"
DERIVED = "derived"  # <area>:derived:<submission key>, written by the server (sync/derived.py)
FAMILY = "fam"
KINDERGARTEN = "kg"
CASE = "case"  # <area>:case:<ulid>, a child protection case: its team only (sync/cases.py)
CHILD = "child"  # <area>:child:<key>, a child of the register; growth visits name <key> (sync/families.py)
FES = "fes"  # <area>:fes:<family key>, the family card (sync/families.py)
FACILITY = "fac"  # <area>:fac:<ulid>, a facility scored by community scorecards (sync/facility_register.py)
FIELD_KINDS = {SUBMISSION, FAMILY, KINDERGARTEN, CHILD, FES, FACILITY}


@dataclass(frozen=True)
class DocId:
    scope: str
    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.kind}:{self.key}"


@lru_cache(maxsize=20_000)
def parse_doc_id(docid: str) -> DocId | None:
    # Remembered: a pushed document's id is parsed a dozen times on its way (routing, access,
    # conflicts, reviews, derived values, receipts), 2 us each; a DocId cannot be changed.
    m = ID_RE.match(docid)
    return DocId(m.group(1), m.group(2), m.group(3)) if m else None


def new_ulid() -> str:
    return str(ULID())


def feedback_id(docid: str) -> str | None:
    """Where the device learns why a document was refused: same area, same key."""
    parsed = parse_doc_id(docid)
    if parsed is None or parsed.scope == "global":
        return None
    return f"{parsed.scope}:{FEEDBACK}:{parsed.key}"
