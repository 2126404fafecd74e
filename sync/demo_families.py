"""Demo children in the register and family cards, for the families pages (issue 19.2).

The demo's growth visits name children ``<soum>-child-<n>`` (``sync.demo_programmes``);
here the first of them get their register documents (``<soum>:child:<soum>-child-<n>``),
two to a family of the soum's register, and each family a card with a few programme
areas somewhere in the Triple-A cycle, and ``family_assessment`` submissions: a
baseline for every family and a follow-up for three families in four (with three
awareness sessions between the rounds and three community projects), answering
the indicator list (``sync.families.IndicatorList``) with a family's chance of
meeting an item rising between the rounds, so the soum's assessment page
(``server/web/families.py``) has both rounds to compare. An item that concerns
children of an age the family has none of is answered not applicable.
Documents already there are left alone, so seeding again adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from programmes import family_assessment as fa
from sync import families, ids, records
from sync.demo import demo_ulid
from sync.derived import DerivedValues
from sync.docs import check_doc
from sync.forms import FormRegistry
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


EVIDENCE = {"growth_monitored": "card_seen", "immunisation": "card_seen", "improved_water": "observed",
            "improved_latrine": "observed", "handwashing_soap": "observed", "home_garden": "observed"}


def _months(dob: str, day: date) -> int:
    born = date.fromisoformat(dob)
    return (day.year - born.year) * 12 + day.month - born.month - (day.day < born.day)


def _answers(rng: random.Random, indicators: list[dict], kids: list[str], day: date, chance: float) -> list[dict]:
    ages = [_months(dob, day) for dob in kids]
    has = {"family": True, "child_0_59m": any(0 <= a < 60 for a in ages),
           "child_3_5y": any(36 <= a < 72 for a in ages), "pregnant_woman": rng.random() < 0.15}
    rows = []
    for item in indicators:
        if not has.get(item["applies_to"], False):
            rows.append({"indicator": item["id"], "answer": "na"})
            continue
        p = 0.06 if item["id"] in fa.FLAGS else chance
        rows.append({"indicator": item["id"], "answer": "yes" if rng.random() < p else "no",
                     "evidence": EVIDENCE.get(item["id"], "reported")})
    return rows


def assessments(code: str, fams: list[dict], kids_of: dict[str, list[str]], indicators: list[dict],
                author: str, today: date) -> list[dict]:
    """The demo's family_assessment submissions of one soum: a baseline each, a follow-up for 3 in 4."""
    rng = random.Random(f"assessments:{code}")
    keys = random.Random(f"assessment-ids:{code}")  # ids of their own: the same however the answers fall
    docs = []
    for n, fam in enumerate(fams):
        chance = rng.uniform(0.2, 0.6)
        rounds = [("baseline", today - timedelta(days=rng.randint(150, 200)))]
        if n % 4 != 3:
            rounds.append(("follow_up", today - timedelta(days=rng.randint(10, 40))))
        for rnd, day in rounds:
            data = {"family_id": fam["_id"], "round": rnd, "date": day.isoformat(),
                    "present": ["mother"] if rng.random() < 0.6 else ["mother", "father"],
                    "indicators": _answers(rng, indicators, kids_of.get(fam["_id"], []), day, chance)}
            if "location" in fam:
                data["location"] = fam["location"]
            docs.append({"_id": f"{code}:{ids.SUBMISSION}:{demo_ulid(keys)}", "type": "submission",
                         "form": fa.FORM, "form_version": 1, "author": author,
                         "created_at": f"{day.isoformat()}T11:00:00+08:00", "data": data})
            chance = min(chance + 0.25, 0.95)
    return docs


# (programme area, topic, method, audience)
SESSIONS = (("growth", "Хүүхдийн өсөлтийн графикийг гэртээ хөтлөх нь", "group_talk", ["mothers", "grandparents"]),
            ("wash", "Савантай гар угаах, ундны усыг буцалгах", "demonstration", ["mothers", "fathers"]),
            ("eccd", "Явуулын цэцэрлэг ба гэрээрээ хүүхэдтэйгээ тоглох", "group_talk", ["mothers", "caregivers"]))
# (programme area, name, the indicators it should improve, responsible, budget, status)
PROJECTS = (("wash", "Багийн төвд гар угаах цэг, усны сав байрлуулах", ["handwashing_soap", "improved_water"],
             "Багийн Засаг дарга", 2_400_000, "in_progress"),
            ("gardening", "Өрхийн хүнсний ногооны талбай, үрийн сан", ["home_garden"],
             "Сумын ХАА-н мэргэжилтэн", 850_000, "done"),
            ("growth", "Сар бүрийн өсөлтийн хяналтын өдөр", ["growth_monitored", "micronutrients"],
             "Сумын эрүүл мэндийн төвийн эмч", 300_000, "planned"))


def triple_a_docs(code: str, fams: list[dict], author: str, today: date) -> list[dict]:
    """The demo's awareness sessions (between the two rounds) and community projects of one soum."""
    rng = random.Random(f"triple-a:{code}")
    keys = random.Random(f"triple-a-ids:{code}")
    bags = sorted({str(f.get("bag") or "") for f in fams} - {""}) or [""]
    docs = []

    def sub(form: str, day: date, data: dict) -> dict:
        return {"_id": f"{code}:{ids.SUBMISSION}:{demo_ulid(keys)}", "type": "submission", "form": form,
                "form_version": 1, "author": author, "created_at": f"{day.isoformat()}T15:00:00+08:00", "data": data}

    for n, (area, topic, method, audience) in enumerate(SESSIONS):
        day = today - timedelta(days=rng.randint(100, 140))
        came = rng.sample(fams, k=min(len(fams), rng.randint(2, 4)))
        docs.append(sub(fa.SESSION_FORM, day, {
            "date": day.isoformat(), "bag": bags[n % len(bags)], "area": area, "topic": topic, "method": method,
            "audience": audience, "attendees_women": rng.randint(6, 18), "attendees_men": rng.randint(0, 6),
            "families": [{"family_id": f["_id"]} for f in came]}))
    for n, (area, name, targets, responsible, budget, status) in enumerate(PROJECTS):
        start = today - timedelta(days=rng.randint(90, 120))
        data = {"project_name": name, "area": area, "bag": bags[n % len(bags)], "start_date": start.isoformat(),
                "targets": [{"indicator": t} for t in targets], "budget_mnt": budget, "funding": ["soum", "community"],
                "responsible": responsible, "status": status,
                "status_date": (start if status == "planned" else today - timedelta(days=rng.randint(5, 30))).isoformat()}
        docs.append(sub(fa.PROJECT_FORM, start, data))
    return docs


def seed_families(store: Store, tree, author_for, today: date | None = None,
                  forms: FormRegistry | None = None) -> int:
    """Children, family cards and (with ``forms`` holding the FES forms) the families' assessments, awareness
    sessions and community projects in every data area with families; how many submissions were added."""
    today = today or date.today()
    codes = sorted(families.FesAreas(store).codes())
    indicators = families.IndicatorList(store).get().get("items", [])
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
        if forms is not None and forms.get(fa.FORM, 1) is not None:
            kids_of: dict[str, list[str]] = {}
            for doc in docs:
                if doc["type"] == "child":
                    kids_of.setdefault(doc["family"], []).append(doc["dob"])
            docs += assessments(code, fams, kids_of, indicators, author, today)
        if forms is not None and all(forms.get(f, 1) is not None for f in (fa.SESSION_FORM, fa.PROJECT_FORM)):
            docs += triple_a_docs(code, fams, author, today)
        there = {r["id"] for r in db.all_docs(keys=[d["_id"] for d in docs]) if "value" in r}
        fresh = [d for d in docs if d["_id"] not in there]
        for doc in fresh:
            if doc["type"] == "submission":
                problems = forms.check_submission(doc) if forms is not None else []
            elif doc["type"] == "fes":
                problems = families.check_card(doc, None, set(codes))
            else:
                problems = families.check_child(doc, today)
            if problems:  # the demo must only hold what the gate would accept
                raise ValueError(f"demo document {doc['_id']} is invalid: {problems}")
            check_doc(doc, new_edits=True)
        if fresh:
            subs = [d["_id"] for d in fresh if d["type"] == "submission"]
            added += sum(1 for r in db.bulk_docs(fresh) if "rev" in r and r.get("id") in subs)
            if subs:  # the families' scores, as the write gate makes them for a device's push
                DerivedValues().refresh(db, subs)
    return added
