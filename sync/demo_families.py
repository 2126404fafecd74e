"""Demo children in the register and family cards, for the families pages (issue 19.2).

The demo's growth visits name children ``<soum>-child-<n>`` (``sync.demo_programmes``);
here the first of them get their register documents (``<soum>:child:<soum>-child-<n>``),
two to a family of the soum's register, and each family a card with a few programme
areas somewhere in the Triple-A cycle. Documents already there are left alone, so
seeding again adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sync import families, ids, records
from sync.docs import check_doc
from sync.stores.base import Store

CHILDREN_PER_FAMILY = 2
NOTES = {
    "awareness": "Эцэг эх FES-ийн сургалтад оролцсон.",
    "assessment": "Гэр бүлийн үнэлгээ хийсэн, хүүхдийн өсөлтийн карт үзсэн.",
    "action": "Олон нийтийн төсөлд хамрагдсан.",
}


def _growth_children(db) -> dict[str, dict]:
    """The first growth visit's data of each child named in the area's growth visits."""
    found: dict[str, dict] = {}
    for doc in records.iter_docs(db, f"{db.name}:{ids.SUBMISSION}:"):
        data = doc.get("data") or {}
        if doc.get("form") == "growth_visit" and isinstance(data.get("child_id"), str):
            found.setdefault(data["child_id"], data)
    return dict(sorted(found.items()))


def _card(rng: random.Random, family_id: str, today: date, codes: list[str], author: str) -> dict:
    areas = {}
    for code in rng.sample(codes, k=rng.randint(3, 5)):
        steps = STEPS[: rng.randint(1, 4)]
        day = today - timedelta(days=rng.randint(120, 300))
        history = []
        for status in steps:
            history.append({"status": status, "date": day.isoformat(), "note": NOTES[status], "by": author})
            day += timedelta(days=rng.randint(15, 50))
        areas[code] = {"status": history[-1]["status"], "history": history}
    return {"_id": families.card_id(family_id), "type": "fes", "family": family_id, "areas": areas,
            "author": author, "updated_at": f"{today.isoformat()}T09:00:00+08:00"}


STEPS = ("awareness", "assessment", "action", "awareness")


def seed_families(store: Store, tree, author_for, today: date | None = None) -> int:
    """Children and family cards in every data area with families; how many documents were added."""
    today = today or date.today()
    codes = sorted(families.FesAreas(store).codes())
    added = 0
    for code in tree.data_scopes():
        if not store.exists(code):
            continue
        db = store.open(code)
        fams = list(records.iter_docs(db, f"{code}:{ids.FAMILY}:"))
        if not fams:
            continue
        rng = random.Random(f"families:{code}")
        author = author_for(code)
        children = list(_growth_children(db).items())
        docs = []
        for n, fam in enumerate(fams):
            for child_id, data in children[n * CHILDREN_PER_FAMILY:(n + 1) * CHILDREN_PER_FAMILY]:
                docs.append({"_id": f"{code}:{ids.CHILD}:{child_id}", "type": "child",
                             "name": data.get("child_name") or child_id, "sex": data["sex"], "dob": data["dob"],
                             "family": fam["_id"], "bag": fam.get("bag"), "author": author,
                             "created_at": f"{data['visit_date']}T10:00:00+08:00"})
            docs.append(_card(rng, fam["_id"], today, codes, author))
        there = {r["id"] for r in db.all_docs(keys=[d["_id"] for d in docs]) if "value" in r}
        fresh = [d for d in docs if d["_id"] not in there]
        for doc in fresh:
            problems = (families.check_card(doc, None, set(codes)) if doc["type"] == "fes"
                        else families.check_child(doc, today))
            if problems:  # the demo must only hold what the gate would accept
                raise ValueError(f"demo document {doc['_id']} is invalid: {problems}")
            check_doc(doc, new_edits=True)
        if fresh:
            added += sum(1 for r in db.bulk_docs(fresh) if "rev" in r)
    return added
