"""A realistic demo: two aimags with a few soums, workers, a coordinator, an
admin, the bundled forms and a few hundred submissions with Mongolian names.

Idempotent: ids and revisions derive from a fixed seed, so running it twice
adds nothing. The submission generators are also what the tests and
benchmarks use for realistic, valid documents.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from programmes import growth
from schemas.examples import bundled_forms
from sync.accounts.users import User, UserDirectory
from sync.areas import AreaRegistry
from sync.docs import check_doc
from sync.errors import Conflict
from sync.forms import FormRegistry
from sync.modules import ModuleSwitch
from sync.stores.base import Store

DEMO_PASSWORD = "fieldsync-demo"

AREAS = [
    # code, English, Mongolian, parent, level, holds data, centre (lat, lon)
    ("uvs", "Uvs aimag", "Увс аймаг", None, "aimag", False, (49.98, 92.07)),
    ("uvs-tes", "Tes soum", "Тэс сум", "uvs", "soum", True, (50.47, 93.60)),
    ("uvs-naranbulag", "Naranbulag soum", "Наранбулаг сум", "uvs", "soum", True, (49.38, 92.56)),
    ("uvs-zavkhan", "Zavkhan soum", "Завхан сум", "uvs", "soum", True, (48.83, 93.10)),
    ("ovr", "Övörkhangai aimag", "Өвөрхангай аймаг", None, "aimag", False, (46.27, 102.78)),
    ("ovr-kharkhorin", "Kharkhorin soum", "Хархорин сум", "ovr", "soum", True, (47.20, 102.82)),
    ("ovr-bat-ulzii", "Bat-Ölzii soum", "Бат-Өлзий сум", "ovr", "soum", True, (46.82, 102.23)),
    ("ovr-kharkhorin-1", "Kharkhorin 1st bag", "Хархорин 1-р баг", "ovr-kharkhorin", "bag", False,
     (47.19, 102.80)),
]
USERS = [
    ("bolormaa", "worker", ["uvs-tes"]),
    ("ganzorig", "worker", ["uvs-naranbulag"]),
    ("tsetseg", "worker", ["ovr-kharkhorin"]),
    ("batbold", "worker", ["ovr-bat-ulzii", "ovr-kharkhorin"]),
    ("oyunaa", "coordinator", ["uvs"]),
    ("enkhjargal", "coordinator", ["ovr-kharkhorin", "ovr-bat-ulzii"]),
    ("admin", "admin", []),
]
GIVEN = ["Батбаяр", "Должинсүрэн", "Ганбаатар", "Сарангэрэл", "Мөнхбат", "Оюунчимэг",
         "Төмөрбаатар", "Нарантуяа", "Энхтуяа", "Болд", "Цэцэгмаа", "Хишигт", "Алтанцэцэг", "Тэмүүлэн"]
FAMILY = ["Дорж", "Бат", "Гомбо", "Цэрэн", "Очир", "Пүрэв", "Жамбал", "Лхагва", "Сүх", "Нямаа"]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)}ийн {rng.choice(GIVEN)}"


def _point(rng: random.Random, centre: tuple[float, float]) -> dict:
    return {"lat": round(centre[0] + rng.uniform(-0.3, 0.3), 5),
            "lon": round(centre[1] + rng.uniform(-0.3, 0.3), 5), "accuracy": rng.randint(3, 30)}


def household_visit(rng: random.Random, centre=(47.9, 106.9), day: date | None = None) -> dict:
    """Data of a valid household_visit v1 submission."""
    day = day or date(2026, 10, 1) + timedelta(days=rng.randint(0, 40))
    members = []
    for i in range(rng.randint(1, 5)):
        age = rng.randint(0, 80)
        m = {"member_name": person(rng), "member_relation": "head" if i == 0 else rng.choice(
            ["spouse", "child", "grandchild", "parent", "other"]),
             "member_sex": rng.choice(["female", "male"]), "member_age": age}
        if 2 <= age <= 18:
            m["in_school"] = rng.choice(["yes", "no"])
        members.append(m)
    water = rng.choice(["piped", "well", "spring", "delivered", "snow_ice"])
    data = {
        "consent": "yes", "visit_date": day.isoformat(), "location": _point(rng, centre),
        "bag": f"{rng.randint(1, 5)}-р баг",
        "head": {"head_name": members[0]["member_name"], "head_sex": members[0]["member_sex"],
                 "head_age": max(members[0]["member_age"], 18)},
        "dwelling": rng.choice(["ger", "house", "winter_shelter"]),
        "migration": rng.choice(["settled", "seasonal", "new"]),
        "household_size": len(members) + rng.randint(0, 2), "members": members,
        "herder": "yes", "livestock": {"sheep": rng.randint(0, 600), "goats": rng.randint(0, 500),
                                       "cattle": rng.randint(0, 60), "horses": rng.randint(0, 40)},
        "water_source": water, "heating_fuel": rng.sample(["dung", "wood", "coal"], k=rng.randint(1, 2)),
        "needs": rng.sample(["food", "fuel", "health", "school", "fodder"], k=rng.randint(0, 3)),
        "welfare": rng.choice(["yes", "no"]), "remarks": "Өвөлжөөндөө бэлтгэлтэй, хүүхдүүд эрүүл.",
    }
    data["head"]["head_age"] = max(data["head"]["head_age"], 14)
    if water != "piped":
        data["water_distance_km"] = round(rng.uniform(0.1, 12), 1)
    return data


def child_growth(rng: random.Random, centre=(47.9, 106.9), day: date | None = None) -> dict:
    """Data of a valid child_growth v1 submission."""
    day = day or date(2026, 10, 1) + timedelta(days=rng.randint(0, 40))
    months = rng.randint(1, 58)
    birth = day - timedelta(days=int(months * 30.4375) + 5)
    data = {
        "measure_date": day.isoformat(), "location": _point(rng, centre), "child_name": person(rng),
        "child_sex": rng.choice(["female", "male"]), "birth_date": birth.isoformat(),
        "age_months": months, "weight_kg": round(3 + months * 0.25 + rng.uniform(-0.5, 0.5), 1),
        "height_position": "lying" if months < 24 else "standing",
        "height_cm": round(max(50 + months * 0.9, 61), 1), "oedema": "no",
        "vaccinations": [{"vaccine": v, "vaccine_date": (birth + timedelta(days=3 + i * 30)).isoformat()}
                         for i, v in enumerate(rng.sample(["bcg", "hepb", "penta", "polio"], k=2))],
        "referral": "none",
    }
    if months >= 6:
        data["muac_mm"] = rng.randint(125, 170)
    if months < 24:
        data["foods_yesterday"] = rng.sample(["breastmilk", "porridge", "meat", "dairy"], k=2)
    return data


def growth_visit(rng: random.Random, centre=(47.9, 106.9), day: date | None = None,
                 child_id: str | None = None) -> dict:
    """Data of a valid growth_visit v1 submission: a child under 5 measured as in the field.

    Length and weight are drawn on WHO's reference (length-for-age z about -0.6 +/- 1.1,
    weight-for-length z about 0.2 +/- 1.0), so z-scores and classes come out realistic;
    1 in 20 children is measured in the other position, 1 in 200 has oedema.
    """
    day = day or date(2026, 10, 1) + timedelta(days=rng.randint(0, 40))
    age = rng.randint(0, 1825)
    sex = rng.choice(["f", "m"])
    position = "l" if age < 731 else "h"
    if rng.random() < 0.05:
        position = "h" if position == "l" else "l"
    clenhei = growth.reference_value("lhfa", sex, age, rng.gauss(-0.6, 1.1)) or 50.0
    clenhei = min(max(clenhei, 46.0), 119.0)
    lenhei = clenhei
    if age < 731 and position == "h" and age / 30.4375 >= 9:
        lenhei = clenhei - growth.ADJUST_CM  # what the worker read standing
    elif age >= 731 and position == "l":
        lenhei = clenhei + growth.ADJUST_CM
    table = "wfl" if age < 731 else "wfh"
    weight = (growth.reference_value(table, sex, round(clenhei, 1), rng.gauss(0.2, 1.0))
              or growth.reference_value("wfa", sex, age, 0.0))
    data = {
        "child_id": child_id or f"child-{rng.randint(0, 10**9):09d}", "child_name": person(rng),
        "bag": f"{rng.randint(1, 5)}-р баг", "visit_date": day.isoformat(),
        "location": _point(rng, centre), "dob": (day - timedelta(days=age)).isoformat(),
        "dob_approximate": "yes" if rng.random() < 0.1 else "no", "sex": sex,
        "weight_kg": round(max(weight, 0.9), 1), "position": position,
        "lenhei_cm": round(lenhei, 1), "oedema": "yes" if rng.random() < 0.005 else "no",
        "services": rng.sample(["vitamin_a", "vitamin_d", "deworming", "feeding_counselling"],
                               k=rng.randint(0, 2)),
        "measurer_id": "bolormaa",
    }
    if age / 30.4375 >= 6:
        muac_cm = growth.reference_value("acfa", sex, max(age, 91), rng.gauss(0.0, 1.0)) or 14.0
        data["muac_mm"] = int(round(muac_cm * 10))
    if rng.random() < 0.3:
        data["illnesses"] = [{"illness": rng.choice(["diarrhoea", "fever", "cough"]),
                              "illness_days": rng.randint(1, 7)}]
    return data


def protection_referral(rng: random.Random, centre=(47.9, 106.9)) -> dict:
    """Data of a valid child_protection_referral v1 submission (a sensitive form)."""
    data = {
        "referral_time": "2026-10-12T14:30:00+08:00", "location": _point(rng, centre),
        "case_code": f"CP-2026-{rng.randint(0, 999):03d}", "child_sex": rng.choice(["girl", "boy"]),
        "child_age": rng.randint(3, 15), "reported_by": "worker", "concerns": ["neglect"],
        "urgency": "routine", "safe_now": "yes", "referred_to": ["social_worker"],
        "contacts": [{"contact_agency": "social_worker", "contact_time": "2026-10-12T16:00:00+08:00",
                      "contact_outcome": "Нийгмийн ажилтанд мэдэгдсэн."}],
        "consent_obtained": "no", "summary": "Хүүхэд өдөржин ганцаараа үлддэг; гэр бүлтэй ярилцсан.",
    }
    data["bag"] = f"{int(data['case_code'][-3:]) % 5 + 1}-р баг"  # from a number already drawn: no draw more
    return data


def submission(docid: str, form: str, author: str, data: dict, created_at: str) -> dict:
    return {"_id": docid, "type": "submission", "form": form, "form_version": 1, "author": author,
            "created_at": created_at, "data": data}


@dataclass
class Summary:
    text: str
    users: list[User] = field(default_factory=list)


def seed_demo(store: Store, areas: AreaRegistry, forms: FormRegistry, users: UserDirectory,
              per_soum: int = 60, registers: bool = False, programmes: bool = False) -> Summary:
    """``registers``: also the soums' families and kindergartens, some visits linked to a family
    (``fieldsync demo`` seeds them; tests that count an area's documents leave them out)."""
    rng = random.Random(2026)
    for code, en, mn, parent, level, holds, _ in AREAS:
        if code not in areas.tree().areas:
            areas.add(code, name_en=en, name_mn=mn, parent=parent, level=level, holds_data=holds)
    for definition in bundled_forms():
        if forms.get(definition["form"], definition["version"]) is None:
            forms.publish(definition)
    # Every programme module on, so each page has something to show (a fresh store has them all on).
    ModuleSwitch(store, forms).switch_all_on(actor="demo")
    made = []
    for name, role, assigned in USERS:
        existing = users.get(name)
        if existing is None:
            try:
                existing = users.add(name, role, assigned, DEMO_PASSWORD)
            except Conflict:
                existing = users.get(name)
        made.append(existing)
    centres = {code: centre for code, *_, centre in AREAS}
    tree = areas.tree()
    written = 0
    for code in tree.data_scopes():
        author = _author_for(code, made, tree)
        db = store.ensure(code)
        docs = []
        register = Register(code, centres[code]) if registers and _links_families(forms) else None
        for i in range(per_soum):
            day = date(2026, 9, 1) + timedelta(days=i % 60)
            key = demo_ulid(rng)
            if i % 3 == 0:
                form, data = "child_growth", child_growth(rng, centres[code], day)
            elif i % 20 == 7:
                form, data = "child_protection_referral", protection_referral(rng, centres[code])
            else:
                form, data = "household_visit", household_visit(rng, centres[code], day)
            if register is not None and form == "household_visit" and i % 5 in (1, 2):
                register.link(data, i)
            doc = submission(f"{code}:sub:{key}", form, author, data, f"{day.isoformat()}T10:00:00+08:00")
            problems = forms.check_submission(doc)
            if problems:  # the demo must only hold what the gate would accept
                raise ValueError(f"demo submission {doc['_id']} is invalid: {problems}")
            docs.append(check_doc(doc, new_edits=True))
        if register is not None:
            docs.extend(check_doc(doc, new_edits=True) for doc in register.documents())
        written += sum(1 for r in db.bulk_docs(docs) if "rev" in r and ":sub:" in r.get("id", ""))
    if programmes:  # growth visits over months and LQAS samples, for the coordinator's reports
        from sync.demo_programmes import seed_programmes

        written += seed_programmes(store, forms, tree, made)
    if programmes:  # WASH visits of the register's kindergartens, scorecard cycles and follow-ups
        from sync.demo_facilities import seed_all

        written += seed_all(store, forms, tree, centres, lambda code: _author_for(code, made, tree), demo_ulid)
    if programmes:  # child protection cases opened from the referrals, with their teams
        from sync.demo_cases import seed_cases

        seed_cases(store, tree, made, demo_ulid)
    if programmes and registers:  # the families' children in the register, family cards and assessments
        from sync.demo_families import seed_families

        written += seed_families(store, tree, lambda code: _author_for(code, made, tree), forms=forms)
    return Summary(f"{len(AREAS)} areas, {len(made)} users, {written} new submissions", made)


FAMILIES_PER_SOUM = 6
KINDERGARTENS = ["1-р гэр цэцэрлэг", "2-р гэр цэцэрлэг"]


def _links_families(forms: FormRegistry) -> bool:
    """Whether household_visit v1 as published has the register link (a store seeded before it did not)."""
    definition = forms.get("household_visit", 1)
    return definition is not None and any(f.get("name") == "family" for f in definition.get("fields", []))


class Register:
    """A soum's families (made from the first visit of each) and ger-kindergartens.

    Register documents are ``<area>:fam:<key>`` and ``<area>:kg:<key>``, as a
    worker's device writes them; a visit names its family in ``data.family``
    (the form's field with ``appearance: register:family``). Drawn from their
    own seeded generator, so the visits' data stays what it was without them.
    """

    def __init__(self, code: str, centre: tuple[float, float]) -> None:
        self.code = code
        self.rng = random.Random(f"register:{code}")
        self.centre = centre
        self.families: list[dict] = []

    def link(self, data: dict, visit: int) -> None:
        """Make ``data`` a visit of one of the soum's families (a new family for the first few)."""
        if len(self.families) < FAMILIES_PER_SOUM:
            head = data["head"]
            self.families.append({
                "_id": f"{self.code}:fam:{demo_ulid(self.rng)}", "type": "family", "name": head["head_name"],
                "bag": data["bag"], "members": len(data["members"]), "location": data["location"],
                "created_at": f"{data['visit_date']}T10:00:00+08:00"})
            family = self.families[-1]
        else:
            family = self.families[visit % len(self.families)]
            data["head"]["head_name"] = data["members"][0]["member_name"] = family["name"]
            data["bag"] = family["bag"]
        data["family"] = family["_id"]

    def documents(self) -> list[dict]:
        kindergartens = [{
            "_id": f"{self.code}:kg:{demo_ulid(self.rng)}", "type": "kindergarten", "name": name,
            "bag": f"{n + 1}-р баг", "children": self.rng.randint(12, 30),
            "location": _point(self.rng, self.centre), "created_at": "2026-09-01T09:00:00+08:00"}
            for n, name in enumerate(KINDERGARTENS)]
        return self.families + kindergartens


def _author_for(code: str, users: list[User], tree) -> str:
    """Someone the write gate lets submit in ``code``: its worker, else a coordinator covering it."""
    for role in ("worker", "coordinator", "admin"):
        for u in users:
            if u.role == role and (u.is_admin or code in tree.data_scopes(u.areas)):
                return u.name
    raise ValueError(f"no demo user may write area {code!r}")


def demo_ulid(rng: random.Random) -> str:
    """A ULID-shaped key from the seeded generator, so reruns make the same ids."""
    return "01J" + "".join(rng.choice(CROCKFORD) for _ in range(23))


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
