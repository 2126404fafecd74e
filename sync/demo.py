"""A small, realistic demo data set, so a first run has something to sync.

Idempotent: revision ids are derived from content, so seeding twice writes
nothing new.
"""

from __future__ import annotations

import random

from .docs import check_doc
from .store import Store

AREAS = [
    ("uvs-tes", "Uvs, Tes soum", "Увс, Тэс сум"),
    ("uvs-naranbulag", "Uvs, Naranbulag soum", "Увс, Наранбулаг сум"),
    ("ovr-kharkhorin", "Övörkhangai, Kharkhorin soum", "Өвөрхангай, Хархорин сум"),
]
FAMILY_NAMES = ["Батбаяр", "Должин", "Ганбаатар", "Сарангэрэл", "Мөнхбат", "Оюунчимэг", "Төмөрбаатар", "Нарантуяа"]


def seed_demo(store: Store, submissions_per_area: int = 100) -> str:
    rng = random.Random(42)
    store.ensure("global")
    written = 0
    for code, en, mn in AREAS:
        db = store.ensure(code)
        docs = []
        for i in range(submissions_per_area):
            name = rng.choice(FAMILY_NAMES)
            docs.append(check_doc({
                "_id": f"{code}:sub:{i:026d}",
                "type": "submission",
                "form": "household_visit",
                "form_version": 1,
                "author": "demo",
                "created_at": f"2026-10-{1 + i % 28:02d}T10:00:00+08:00",
                "data": {"head_of_household": f"{name}ын гэр бүл", "members": rng.randint(1, 9),
                         "area_name": {"en": en, "mn": mn}},
            }, new_edits=True))
        written += sum(1 for r in db.bulk_docs(docs) if "rev" in r)
    return f"{len(AREAS)} areas, {written} new submissions"
