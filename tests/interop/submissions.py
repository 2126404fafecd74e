"""Submission-like documents and photo bytes for interop tests and benchmarks.

Replication bugs hide in realistic data: nested field values, Cyrillic text,
ids with ':' (escaped in URLs), ~1-2 KB bodies, 150 KB photos that do not
compress. So the documents here look like what an outreach worker's device
sends (DESIGN.md, "Submission documents"), not like {"_id": "a"}.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ulid import ULID

from sync import demo

FAMILY = "Өвөрхангай аймаг, Хархорин сум — Батбаярын гэр бүл"
AUTHORS = ["bat.erdene", "oyunaa", "tsetseg.b", "munkh-od"]
GIVEN_NAMES = ["Батбаяр", "Оюунаа", "Цэцэг", "Мөнх-Од", "Сарангэрэл", "Төмөр", "Энхжаргал", "Болд"]
NOTES = [
    "Гэр бүл намрын отор руу нүүхээр бэлтгэж байна.",
    "Хүүхдүүд цэцэрлэгт явдаг, вакцин бүрэн.",
    "Ус 3 км зайтай худгаас зөөдөг.",
    "Family moved from the summer pasture last week; livestock count updated.",
]


def new_id(area: str, kind: str = "sub", when: datetime | None = None) -> str:
    """`<area>:<kind>:<ulid>`, the id scheme every document uses."""
    ulid = ULID.from_datetime(when) if when else ULID()
    return f"{area}:{kind}:{ulid}"


def submission(area: str, n: int = 0, *, rng: random.Random | None = None, size: str = "small") -> dict[str, Any]:
    """One valid submission document for `area` (a bundled form, version 1).

    The data come from the demo generators, which the write gate accepts;
    a household visit is 1-2 KB of JSON.
    """
    rng = rng or random.Random(n)
    # In the past whatever n is: forms refuse visits dated in the future.
    created = datetime(2025, 3, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=3 * n + rng.randint(0, 2))
    form, data = "household_visit", demo.household_visit(rng, day=created.date())
    data["remarks"] = f"{FAMILY}. {rng.choice(NOTES)}"
    return {
        "_id": new_id(area, when=created),
        "type": "submission",
        "form": form,
        "form_version": 1,
        "author": AUTHORS[n % len(AUTHORS)],
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def submissions(area: str, count: int, *, seed: int = 1, size: str = "small") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [submission(area, n, rng=rng, size=size) for n in range(count)]


def photo_bytes(size: int = 150_000, seed: int = 7) -> bytes:
    """JPEG-looking bytes that do not compress, so no layer can shrink them unnoticed."""
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = random.Random(seed).randbytes(size - len(header) - 2)
    return header + body + b"\xff\xd9"


def md5_digest(data: bytes) -> str:
    """CouchDB's attachment digest: "md5-" + base64 of the raw md5."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def inline_attachment(data: bytes, content_type: str = "image/jpeg") -> dict[str, str]:
    return {"content_type": content_type, "data": base64.b64encode(data).decode()}


def rev_key(rev: str) -> tuple[int, str]:
    """CouchDB's winner order among leaves of equal standing: generation, then hash."""
    generation, digest = rev.split("-", 1)
    return int(generation), digest
