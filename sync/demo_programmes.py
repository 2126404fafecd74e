"""Demo data of the programme modules: growth visits over months and LQAS interviews.

So that ``fieldsync demo`` shows the coordinator's reports filled in: in each
soum, children measured again and again over the last months (a few of them
not in the last 3 months, a few values typed wrong so that WHO's flags catch
them), and one LQAS sample of 19 interviews per supervision area, with the
survey set-up that lists those areas and their populations (unless an admin
has saved one). Dates count
back from the day of seeding (the reports look at the last 3 months); keys
come from a seeded generator and documents already there are left alone, so
seeding again adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from programmes import growth
from programmes.lqas import DEFAULT_N
from sync.demo import AREAS, _author_for, _point, demo_ulid, person, submission
from sync.derived import DerivedValues
from sync.docs import check_doc
from sync.forms import FormRegistry
from sync.lqas_setup import DEFAULT, LqasSetup
from sync.stores.base import Store

BAGS = ("1-р баг", "2-р баг", "3-р баг", "4-р баг")
SUPERVISION_AREAS = (("1-р баг", 140), ("2-р баг", 95), ("3-р баг", 210))
# Catchment areas beside the soums: an aimag-wide survey over every supervision area of Uvs's soums,
# and a part of one soum's bags.
CATCHMENTS = (("uvs_aimag", {"mn": "Увс аймаг (бүх сумын баг)", "en": "Uvs aimag (every soum's bags)"}),
              ("tes_north", {"mn": "Тэс сумын 1, 2-р баг", "en": "Tes soum, 1st and 2nd bags"}))


def demo_catchments(code: str, parent: str | None, sa: str) -> str:
    """The codes of the demo's catchment areas a supervision area is in (as its row on the page)."""
    codes = ["uvs_aimag"] if parent == "uvs" else []
    if code == "uvs-tes" and sa in ("1-р баг", "2-р баг"):
        codes.append("tes_north")
    return ", ".join(codes)


def child_visits(rng: random.Random, child_id: str, today: date, centre: tuple[float, float],
                 slip: bool = False) -> list[dict]:
    """One child's growth_visit data, 1 to 5 visits a month or two apart, drawn on WHO's reference.

    Each child keeps its own position on the curves (length-for-age z near -0.7, weight-for-length
    z near 0.2), drifting a little between visits. With ``slip`` the newest visit has a value
    typed wrong (the weight doubled, or the length 30 cm too long), which WHO's flags catch.
    """
    sex = rng.choice(["f", "m"])
    last = today - timedelta(days=rng.choice([rng.randint(0, 85)] * 4 + [rng.randint(95, 200)]))
    visits = rng.randint(1, 5)
    dates = [last - timedelta(days=i * rng.randint(28, 62)) for i in reversed(range(visits))]
    dob = last - timedelta(days=rng.randint(120, 1790))
    haz, whz = rng.gauss(-0.7, 1.1), rng.gauss(0.2, 1.0)
    bag = rng.choice(BAGS)
    name = person(rng)
    out = []
    for day in dates:
        age = (day - dob).days
        if age < 0:
            continue
        haz += rng.gauss(0, 0.15)
        whz += rng.gauss(0, 0.25)
        position = "l" if age < 731 else "h"
        clenhei = min(max(growth.reference_value("lhfa", sex, age, haz) or 50.0, 46.0), 119.0)
        weight = growth.reference_value("wfl" if age < 731 else "wfh", sex, round(clenhei, 1), whz) \
            or growth.reference_value("wfa", sex, age, 0.0)
        lenhei = clenhei
        if slip and day == dates[-1]:  # a slip of the pen
            if rng.random() < 0.5:
                weight *= 2
            else:
                lenhei += 30.0
        data = {"child_id": child_id, "child_name": name, "bag": bag, "visit_date": day.isoformat(),
                "location": _point(rng, centre), "dob": dob.isoformat(), "dob_approximate": "no",
                "sex": sex, "weight_kg": round(max(weight, 0.9), 1), "position": position,
                "lenhei_cm": round(lenhei, 1), "oedema": "yes" if rng.random() < 0.004 else "no",
                "services": rng.sample(["vitamin_a", "vitamin_d", "deworming", "feeding_counselling"],
                                       k=rng.randint(0, 2))}
        if age / growth.DAYS_PER_MONTH >= 6:
            muac = growth.reference_value("acfa", sex, max(age, 91), whz * 0.8) or 14.0
            data["muac_mm"] = int(round(muac * 10))
        out.append(data)
    return out


def lqas_interview(rng: random.Random, sa: str, households: int, number: int, day: date,
                   chances: dict[str, float], centre: tuple[float, float]) -> dict:
    """One mother's interview; ``chances`` the supervision area's true coverage per question."""
    data = {"sa": sa, "sa_households": households, "respondent_no": number,
            "interview_date": day.isoformat(), "location": _point(rng, centre), "interviewer": person(rng)}
    if rng.random() < 0.03:
        data["consent"] = "no"
        return data
    age = rng.randint(0, 23)
    data.update(consent="yes", respondent_type="mother_0_11" if age < 12 else "mother_12_23",
                child_age_months=age,
                weighed_3_months="yes" if rng.random() < chances["weighed_3_months"] else "no",
                knows_ors="yes" if rng.random() < chances["knows_ors"] else "no")
    if age >= 12:
        data["fully_vaccinated"] = "yes" if rng.random() < chances["fully_vaccinated"] else "no"
    critical = ["after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"]
    k = 2 + rng.randint(0, 2) if rng.random() < chances["handwashing"] else rng.randint(0, 1)
    data["handwash_times"] = rng.sample(critical, k=k) + (["other"] if rng.random() < 0.2 else [])
    if rng.random() < 0.3:
        data["other_children"] = [{"other_age_years": rng.randint(0, 4)}]
    return data


def seed_lqas_setup(store: Store, forms: FormRegistry, tree) -> None:
    """The bundled survey's indicators and n = 19, with the demo's supervision areas in each soum and
    its catchment areas, unless an admin has saved a set-up."""
    from programmes.lqas_survey import FORM, form_questions

    setup = LqasSetup(store)
    if setup.doc() is not None:
        return
    raw = {**DEFAULT.to_json(),
           "areas": [{"area": code, "sa": sa, "population": households,
                      "catchments": demo_catchments(code, tree.areas[code].parent, sa)}
                     for code in tree.data_scopes() for sa, households in SUPERVISION_AREAS],
           "catchments": [{"code": code, "name": name} for code, name in CATCHMENTS
                          if any(tree.areas[c].parent == "uvs" for c in tree.data_scopes())]}
    codes = set(tree.data_scopes())
    setup.save(raw, actor="demo", rev=None, questions=form_questions(forms.versions(FORM)), area_codes=codes)


def seed_programmes(store: Store, forms: FormRegistry, tree, users: list,
                    children_per_soum: int = 20, today: date | None = None) -> int:
    """Growth visits and LQAS interviews in every data area; how many submissions were added."""
    today = today or date.today()
    seed_lqas_setup(store, forms, tree)
    centres = {code: centre for code, *_, centre in AREAS}
    derived = DerivedValues()
    added = 0
    for code in tree.data_scopes():
        rng = random.Random(f"programmes:{code}")
        author = _author_for(code, users, tree)
        centre = centres.get(code, (47.9, 106.9))
        docs = []
        for n in range(children_per_soum):
            child_id = f"{code}-child-{n + 1:04d}"
            for data in child_visits(rng, child_id, today, centre, slip=n % 8 == 5):
                docs.append(submission(f"{code}:sub:{demo_ulid(rng)}", "growth_visit", author, data,
                                       f"{data['visit_date']}T10:00:00+08:00"))
        survey_day = today - timedelta(days=20)
        for sa, households in SUPERVISION_AREAS:
            chances = {"fully_vaccinated": rng.uniform(0.6, 0.95), "weighed_3_months": rng.uniform(0.7, 0.98),
                       "knows_ors": rng.uniform(0.3, 0.8), "handwashing": rng.uniform(0.4, 0.85)}
            for number in range(1, DEFAULT_N + 1):
                data = lqas_interview(rng, sa, households, number, survey_day, chances, centre)
                docs.append(submission(f"{code}:sub:{demo_ulid(rng)}", "lqas_interview", author, data,
                                       f"{survey_day.isoformat()}T11:00:00+08:00"))
        db = store.ensure(code)
        there = {r["id"] for r in db.all_docs(keys=[d["_id"] for d in docs]) if "value" in r}
        fresh = [d for d in docs if d["_id"] not in there]
        for doc in fresh:
            problems = forms.check_submission(doc)
            if problems:
                raise ValueError(f"demo submission {doc['_id']} is invalid: {problems}")
            check_doc(doc, new_edits=True)
        if fresh:
            db.bulk_docs(fresh)
            derived.refresh(db, [d["_id"] for d in fresh if d["form"] == "growth_visit"])
        added += len(fresh)
    return added
