"""The child register and the family card (Family Empowerment Strategy, issue 19.2).

Children are register documents of their area, ``<area>:child:<key>``, linked
to their family (``<area>:fam:<key>``). A growth visit names its child by
``data.child_id``: the key of the child's register document, so visits over
months stay one child's.

The family card is ``<area>:fes:<family key>``: per programme area its place
in the Triple-A cycle (Awareness -> Assessment -> Action, then a new round
starts with awareness again) and its dated notes. The history is only added
to, so a card edited on two devices merges and nothing said is lost. The
programme areas are an admin's document in ``global``
(``global:checklist:fes_areas``), seeded with CBSS's 13 community project
areas (``../shared/programmes.md`` section 5), to be confirmed by the programme.

Both kinds pass the write gate like families and kindergartens (any worker of
the area writes them); ``check_child`` and ``check_card`` are the gate's rules.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from programmes.family_assessment import APPLIES_TO, default_indicators
from sync import ids
from sync.audit import Audit
from sync.clock import now_iso
from sync.errors import Conflict
from sync.gate.messages import Text
from sync.stores.base import Database, Store

AREAS_DOC = "global:checklist:fes_areas"
STATES = ("awareness", "assessment", "action")
# From a state to the next; the same state again adds a note; action opens a new round.
TRANSITIONS = {None: ("awareness",), "awareness": ("awareness", "assessment"),
               "assessment": ("assessment", "action"), "action": ("action", "awareness")}
SEXES = ("f", "m")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
MAX_NAME, MAX_NOTE, MAX_HISTORY, MAX_AREAS, MAX_LABEL = 200, 1000, 200, 60, 300
COUCH_FIELDS = {"_id", "_rev", "_deleted", "_revisions", "_attachments", "_conflicts"}
CHILD_FIELDS = {"type", "name", "sex", "dob", "family", "bag", "created_at", "author"}
CARD_FIELDS = {"type", "family", "areas", "updated_at", "author"}

DEFAULT_AREAS = [
    ("capacity", "Capacity of providers and decision-makers", "Үйлчилгээ үзүүлэгч, шийдвэр гаргагчдын чадавх"),
    ("parent_training", "Parent, caregiver and volunteer training", "Эцэг эх, асран хамгаалагч, сайн дурынхны сургалт"),
    ("eccd", "Early childhood care and development, outreach ECD", "Бага насны хүүхдийн хөгжил, явуулын цэцэрлэг"),
    ("growth", "Monitoring of child growth and development", "Хүүхдийн өсөлт хөгжлийн хяналт"),
    ("information", "Community-based information and monitoring", "Олон нийтэд суурилсан мэдээлэл, хяналт"),
    ("micronutrients", "Micronutrient supplementation", "Бичил тэжээлийн нэмэлт"),
    ("wash", "Drinking water and sanitation", "Ундны ус, ариун цэвэр"),
    ("nonformal_education", "Non-formal education", "Албан бус боловсрол"),
    ("gardening", "Home and community gardening", "Гэр бүл, олон нийтийн хүнсний ногооны талбай"),
    ("environment", "An environment fit for children", "Хүүхдэд ээлтэй орчин"),
    ("hiv_prevention", "HIV/AIDS/STI prevention", "ХДХВ/ДОХ, БЗДХ-аас урьдчилан сэргийлэх"),
    ("protection", "Child protection", "Хүүхэд хамгаалал"),
    ("participation", "Child participation", "Хүүхдийн оролцоо"),
]

_TEXTS: dict[str, dict[str, str]] = {
    "type": {"en": "The document's type must be {want!r}.", "mn": "Баримтын төрөл {want!r} байх ёстой."},
    "unknown_field": {"en": "{name!r} is not a field of this document.", "mn": "{name!r} нь энэ баримтын талбар биш."},
    "name": {"en": "The child's name is required (at most {most} characters).",
             "mn": "Хүүхдийн нэрийг бичнэ үү (ихдээ {most} тэмдэгт)."},
    "sex": {"en": "Sex must be f or m.", "mn": "Хүйс f эсвэл m байх ёстой."},
    "dob": {"en": "The birth date must be a date (YYYY-MM-DD) not after today.",
            "mn": "Төрсөн огноо нь өнөөдрөөс хойш биш огноо (ОООО-СС-ӨӨ) байх ёстой."},
    "family": {"en": "The family must be a family of this area ({area}:fam:<id>).",
               "mn": "Гэр бүл нь энэ нутгийн гэр бүл ({area}:fam:<дугаар>) байх ёстой."},
    "card_id": {"en": "A family card's id is the family's key: {want}.",
                "mn": "Гэр бүлийн картын дугаар нь гэр бүлийн дугаартай ижил: {want}."},
    "areas": {"en": "The card's programme areas must be an object of at most {most} areas.",
              "mn": "Картын хөтөлбөрийн чиглэлүүд ихдээ {most} чиглэл бүхий объект байх ёстой."},
    "area_code": {"en": "{code!r} is not a programme area of the family card.",
                  "mn": "{code!r} нь гэр бүлийн картын хөтөлбөрийн чиглэл биш."},
    "status": {"en": "The status must be one of awareness, assessment, action (not {value!r}).",
               "mn": "Төлөв нь awareness, assessment, action-ийн аль нэг байх ёстой ({value!r} биш)."},
    "history": {"en": "The history must be a list of at most {most} entries, each with a status, a date "
                      "(YYYY-MM-DD) and a note of at most {note} characters.",
                "mn": "Түүх нь ихдээ {most} бичлэгтэй жагсаалт байх ба бичлэг бүр төлөв, огноо (ОООО-СС-ӨӨ), "
                      "ихдээ {note} тэмдэгттэй тэмдэглэлтэй байна."},
    "history_kept": {"en": "Earlier entries of the history cannot be changed or removed; add a new one.",
                     "mn": "Түүхийн өмнөх бичлэгийг өөрчлөх, устгах боломжгүй; шинийг нэмнэ үү."},
    "transition": {"en": "From {old} the next step is {allowed}, not {new}.",
                   "mn": "{old} төлвөөс дараагийн алхам нь {allowed}, {new} биш."},
    "last": {"en": "The status must be that of the history's newest entry ({want}).",
             "mn": "Төлөв нь түүхийн хамгийн сүүлийн бичлэгийн төлөв ({want}) байх ёстой."},
}


def message(key: str, **params: Any) -> Text:
    return Text({lang: t.format(**params) for lang, t in _TEXTS[key].items()})


def default_areas() -> list[dict[str, Any]]:
    return [{"code": c, "text": {"en": en, "mn": mn}} for c, en, mn in DEFAULT_AREAS]


def card_id(family_id: str) -> str | None:
    """The family card's id: same area, same key as the family."""
    parsed = ids.parse_doc_id(family_id)
    if parsed is None or parsed.kind != ids.FAMILY:
        return None
    return f"{parsed.scope}:{ids.FES}:{parsed.key}"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _family_of_area(value: Any, area: str) -> bool:
    parsed = ids.parse_doc_id(value) if isinstance(value, str) else None
    return parsed is not None and parsed.scope == area and parsed.kind == ids.FAMILY


def check_child(doc: dict, today: date | None = None) -> list[dict]:
    """What is wrong with a child's register document, field by field."""
    if doc.get("_deleted"):
        return []
    area = doc["_id"].split(":", 1)[0]
    problems: list[dict] = []

    def bad(field: str, key: str, **params: Any) -> None:
        problems.append({"field": field, "message": message(key, **params)})

    if doc.get("type") != "child":
        bad("type", "type", want="child")
    for name in sorted(set(doc) - CHILD_FIELDS - COUCH_FIELDS):
        bad(name, "unknown_field", name=name)
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        bad("name", "name", most=MAX_NAME)
    if doc.get("sex") not in SEXES:
        bad("sex", "sex")
    dob = doc.get("dob")
    if not _is_date(dob) or dob > (today or date.today()).isoformat():
        bad("dob", "dob")
    if not _family_of_area(doc.get("family"), area):
        bad("family", "family", area=area)
    return problems


def _history_ok(history: Any) -> bool:
    return isinstance(history, list) and len(history) <= MAX_HISTORY and all(
        isinstance(h, dict) and h.get("status") in STATES and _is_date(h.get("date"))
        and isinstance(h.get("note", ""), str) and len(h.get("note", "")) <= MAX_NOTE
        and set(h) <= {"status", "date", "note", "by"} for h in history)


def check_card(doc: dict, existing: dict | None, codes: set[str]) -> list[dict]:
    """What is wrong with a family card revision, given the current one and the programme areas' codes.

    A programme area no longer configured may stay on a card unchanged; new entries need a configured one.
    """
    if doc.get("_deleted"):
        return []
    parsed = ids.parse_doc_id(doc["_id"])
    area = parsed.scope if parsed else ""
    problems: list[dict] = []

    def bad(field: str, key: str, **params: Any) -> None:
        problems.append({"field": field, "message": message(key, **params)})

    if doc.get("type") != "fes":
        bad("type", "type", want="fes")
    for name in sorted(set(doc) - CARD_FIELDS - COUCH_FIELDS):
        bad(name, "unknown_field", name=name)
    family = doc.get("family")
    if not _family_of_area(family, area):
        bad("family", "family", area=area)
    elif card_id(family) != doc["_id"]:
        bad("_id", "card_id", want=card_id(family))
    areas = doc.get("areas")
    if not isinstance(areas, dict) or len(areas) > MAX_AREAS:
        bad("areas", "areas", most=MAX_AREAS)
        return problems
    old_areas = (existing or {}).get("areas") if existing and not existing.get("_deleted") else {}
    old_areas = old_areas if isinstance(old_areas, dict) else {}
    for code, entry in sorted(areas.items()):
        field = f"areas.{code}"
        before = old_areas.get(code) if isinstance(old_areas.get(code), dict) else None
        if before == entry:
            continue  # unchanged, even if the area was since taken off the list
        if code not in codes:
            bad(field, "area_code", code=code)
            continue
        if not isinstance(entry, dict) or entry.get("status") not in STATES:
            bad(field, "status", value=entry.get("status") if isinstance(entry, dict) else entry)
            continue
        history = entry.get("history")
        if not _history_ok(history) or set(entry) - {"status", "history"}:
            bad(field, "history", most=MAX_HISTORY, note=MAX_NOTE)
            continue
        kept = (before or {}).get("history") or []
        if history[:len(kept)] != kept:
            bad(field, "history_kept")
            continue
        state = kept[-1]["status"] if kept else None
        for h in history[len(kept):]:
            allowed = TRANSITIONS[state]
            if h["status"] not in allowed:
                bad(field, "transition", old=state or "-", new=h["status"], allowed=" / ".join(allowed))
                break
            state = h["status"]
        else:
            if not history or entry["status"] != history[-1]["status"]:
                bad(field, "last", want=history[-1]["status"] if history else "-")
    return problems


def check_batch(db: Database, docs: list[dict], which: list[int], codes: set[str]) -> dict[int, list[dict]]:
    """The gate's rules for the children and family cards at positions ``which`` of a batch."""
    cards = sorted({docs[i]["_id"] for i in which if _kind(docs[i]) == ids.FES})
    current = ({row["id"]: row["doc"] for row in db.all_docs(keys=cards, include_docs=True) if row.get("doc")}
               if cards else {})
    out = {}
    for i in which:
        doc = docs[i]
        problems = (check_card(doc, current.get(doc["_id"]), codes) if _kind(doc) == ids.FES
                    else check_child(doc))
        if problems:
            out[i] = problems
    return out


def _kind(doc: dict) -> str | None:
    parsed = ids.parse_doc_id(doc["_id"])
    return parsed.kind if parsed else None


def is_card(doc: dict) -> bool:
    return _kind(doc) == ids.FES


def is_register(doc: dict) -> bool:
    return _kind(doc) in (ids.CHILD, ids.FES)


# -- the programme areas (admins) -------------------------------------------------------------

class AreaProblem(ValueError):
    """Why the areas cannot be saved: ``rule`` names it (pages translate it), ``row`` is 1-based."""

    def __init__(self, rule: str, row: int | None = None, **params: Any) -> None:
        super().__init__(rule)
        self.code, self.row, self.params = rule, row, params


def check_areas(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The programme areas cleaned, or the first AreaProblem."""
    if not items:
        raise AreaProblem("empty")
    if len(items) > MAX_AREAS:
        raise AreaProblem("too_many", max=MAX_AREAS)
    seen: set[str] = set()
    out = []
    for n, item in enumerate(items, start=1):
        code = str(item.get("code") or "").strip()
        text = {lang: " ".join(str((item.get("text") or {}).get(lang) or "").split()) for lang in ("mn", "en")}
        if not CODE_RE.match(code):
            raise AreaProblem("bad_code", n)
        if code in seen:
            raise AreaProblem("duplicate_code", n, code=code)
        if not text["mn"] or not text["en"]:
            raise AreaProblem("missing_text", n)
        if any(len(t) > MAX_LABEL for t in text.values()):
            raise AreaProblem("text_too_long", n, max=MAX_LABEL)
        seen.add(code)
        out.append({"code": code, "text": text})
    return out


class FesAreas:
    """Reads and saves the programme areas' document (the defaults until an admin saves)."""

    def __init__(self, store: Store, audit: Audit | None = None) -> None:
        self.store = store
        self.audit = audit or Audit(store)

    def get(self) -> dict[str, Any]:
        db = self.store.ensure("global")
        rows = list(db.all_docs(keys=[AREAS_DOC], include_docs=True))
        doc = rows[0].get("doc") if rows else None
        return doc if doc else {"items": default_areas()}

    def codes(self) -> set[str]:
        return {item["code"] for item in self.get().get("items", [])}

    def save(self, items: list[dict[str, Any]], *, actor: str, rev: str | None) -> str:
        clean = check_areas(items)
        current = self.get()
        if current.get("_rev") != (rev or None):
            raise Conflict("The programme areas were changed by someone else in the meantime.")
        doc = {"_id": AREAS_DOC, "type": "checklist", "name": "fes_areas", "items": clean,
               "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure("global").bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The programme areas were changed by someone else in the meantime.")
        self.audit.record(actor=actor, action="checklist.changed", scope="global", doc_id=AREAS_DOC,
                          before=current.get("items", []), after=clean)
        return result["rev"]


# -- the family assessment's indicators (admins) ----------------------------------------------

INDICATORS_DOC = "global:checklist:fes_indicators"
MAX_INDICATORS = 60


def check_indicators(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The indicators cleaned (``id``, ``label_mn``, ``label_en``, ``applies_to``), or the first AreaProblem.

    The same rules (and messages) as the programme areas, plus ``applies_to``.
    """
    if not items:
        raise AreaProblem("empty")
    if len(items) > MAX_INDICATORS:
        raise AreaProblem("too_many", max=MAX_INDICATORS)
    seen: set[str] = set()
    out = []
    for n, item in enumerate(items, start=1):
        code = str(item.get("id") or "").strip()
        labels = {lang: " ".join(str(item.get(f"label_{lang}") or "").split()) for lang in ("mn", "en")}
        if not CODE_RE.match(code):
            raise AreaProblem("bad_code", n)
        if code in seen:
            raise AreaProblem("duplicate_code", n, code=code)
        if not labels["mn"] or not labels["en"]:
            raise AreaProblem("missing_text", n)
        if any(len(t) > MAX_LABEL for t in labels.values()):
            raise AreaProblem("text_too_long", n, max=MAX_LABEL)
        if item.get("applies_to") not in APPLIES_TO:
            raise AreaProblem("bad_applies_to", n)
        seen.add(code)
        out.append({"id": code, "label_mn": labels["mn"], "label_en": labels["en"], "applies_to": item["applies_to"]})
    return out


class IndicatorList:
    """Reads and saves the family assessment's indicators (``programmes.family_assessment``'s
    defaults, to be confirmed by the programme, until an admin saves)."""

    def __init__(self, store: Store, audit: Audit | None = None) -> None:
        self.store = store
        self.audit = audit or Audit(store)

    def get(self) -> dict[str, Any]:
        db = self.store.ensure("global")
        rows = list(db.all_docs(keys=[INDICATORS_DOC], include_docs=True))
        doc = rows[0].get("doc") if rows else None
        return doc if doc else {"items": default_indicators()}

    def save(self, items: list[dict[str, Any]], *, actor: str, rev: str | None) -> str:
        clean = check_indicators(items)
        current = self.get()
        if current.get("_rev") != (rev or None):
            raise Conflict("The indicators were changed by someone else in the meantime.")
        doc = {"_id": INDICATORS_DOC, "type": "checklist", "name": "fes_indicators", "items": clean,
               "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure("global").bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The indicators were changed by someone else in the meantime.")
        self.audit.record(actor=actor, action="checklist.changed", scope="global", doc_id=INDICATORS_DOC,
                          before=current.get("items", []), after=clean)
        return result["rev"]
