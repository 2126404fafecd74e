"""The child register's rule as the server answers it, for the field app to answer alike.

The field app checks a new child on the device (``fieldapp/src/children.js``,
``checkChild``) before it is stored and synced; the write gate checks it again
with ``sync.families.check_child``. A child the phone accepts and the server
refuses is found weeks later, out of the field, so both must agree. This module
lists cases, chosen where Python and JavaScript differ (white space, lengths of
characters beyond U+FFFF, calendar dates, truth of empty lists, the order of
keys, digits of other scripts), and writes ``fieldapp/test/child_rules.json``
with the fields the server finds wrong in each, and the nutrition classes'
names (``programmes.nutrition``) the child's page shows:

    .venv/bin/python tests/fieldapp_child_rules.py

tests/test_fieldapp_child_rules.py checks the file is what the server says;
``fieldapp/test/children.test.js`` checks the app gives the same.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from programmes import nutrition  # noqa: E402
from sync import families  # noqa: E402

RULES = REPO / "fieldapp" / "test" / "child_rules.json"
TODAY = "2026-12-06"
ID = "uvs-tes:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6"
FAM = "uvs-tes:fam:01J09C3Q9M79PND498QHR5HZS4"
GOOD = {"_id": ID, "type": "child", "name": "Батын Энхжин", "sex": "f", "dob": "2024-03-02", "family": FAM,
        "bag": "3-р баг", "author": "bolormaa", "created_at": "2026-12-06T10:00:00+08:00"}


def with_(**change: Any) -> dict:
    doc = dict(GOOD)
    for key, value in change.items():
        if value is ...:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def cases() -> list[tuple[str, dict, str]]:
    """(what, document, today)."""
    out: list[tuple[str, dict, str]] = [
        ("a full child", GOOD, TODAY),
        ("no bag, author or time", with_(bag=..., author=..., created_at=...), TODAY),
        ("with CouchDB's fields", with_(_rev="1-abc", _revisions={"start": 1, "ids": ["abc"]}), TODAY),
        ("deleted: nothing else checked", {"_id": ID, "_deleted": True}, TODAY),
        ("_deleted [] is false in Python", {"_id": ID, "_deleted": []}, TODAY),
        ("_deleted {} is false in Python", {"_id": ID, "_deleted": {}}, TODAY),
        ("_deleted 0", {"_id": ID, "_deleted": 0}, TODAY),
        ("_deleted ''", {"_id": ID, "_deleted": ""}, TODAY),
        ("_deleted 'no' is true", {"_id": ID, "_deleted": "no"}, TODAY),
        ("_deleted [0] is true", {"_id": ID, "_deleted": [0]}, TODAY),
        ("nothing at all", {"_id": ID}, TODAY),
        ("type family", with_(type="family"), TODAY),
        ("type missing", with_(type=...), TODAY),
        ("unknown fields in code-point order", with_(**{"zeta": 1, "Alpha": 2, "\uffff": 3, "\U0001F600": 4,
                                                         "_local_seq": 5}), TODAY),
    ]
    names = {
        "empty": "", "spaces": "   ", "ideographic space": "\u3000", "NEL (Python space, not JS)": "\x85",
        "U+001C (Python space, not JS)": "\x1c", "U+001F": "\x1f", "BOM (JS space, not Python)": "\ufeff",
        "Mongolian vowel separator (neither)": "\u180e", "NBSP": "\xa0", "tab and newline": "\t\n",
        "padded": "  Энхжин  ", "200 letters": "Ө" * 200, "201 letters": "Ө" * 201,
        "200 letters beyond U+FFFF (400 UTF-16 units)": "\U0001D400" * 200,
        "201 letters beyond U+FFFF": "\U0001D400" * 201, "Mongolian script": "ᠪᠠᠲᠤ",
        "a lone surrogate": "\ud800", "a number": 5, "null": None, "a list": ["Энхжин"], "missing": ...,
    }
    out += [(f"name: {what}", with_(name=value), TODAY) for what, value in names.items()]
    sexes = {"f": "f", "m": "m", "F": "F", "male": "male", "empty": "", "null": None, "missing": ..., "list": ["f"],
             "1": 1}
    out += [(f"sex: {what}", with_(sex=value), TODAY) for what, value in sexes.items()]
    dobs = {
        "today": TODAY, "tomorrow": "2026-12-07", "yesterday": "2026-12-05", "leap day": "2024-02-29",
        "no leap day": "2023-02-29", "1900 no leap day": "1900-02-29", "2000 leap day": "2000-02-29",
        "one digit month": "2024-2-03", "trailing newline": "2024-02-03\n", "year 0": "0000-01-01",
        "year 1": "0001-01-01", "month 13": "2024-13-01", "month 0": "2024-00-10", "April 31": "2024-04-31",
        "day 0": "2024-01-00", "Mongolian digits": "᠒᠐᠒᠔-᠐᠑-᠐᠑", "full-width digits": "２０２４-０１-０１",
        "Arabic-Indic digits": "٢٠٢٤-٠١-٠١", "no dashes": "20240101", "with a time": "2024-01-01T00:00",
        "week date": "2024-W01-1", "a number": 20240101, "null": None, "missing": ..., "year 9999": "9999-12-31",
        "5 digit year": "12024-01-01",
    }
    out += [(f"dob: {what}", with_(dob=value), TODAY) for what, value in dobs.items()]
    out.append(("dob: today on the first day of a year", with_(dob="2027-01-01"), "2027-01-01"))
    out.append(("dob: 29 February, today the 28th", with_(dob="2028-02-29"), "2028-02-28"))
    fams = {
        "other area": "uvs-naran:fam:01J09C3Q9M79PND498QHR5HZS4", "a kindergarten": "uvs-tes:kg:01J09C3Q9M79PND498QHR5HZS4",
        "a child": ID, "no key": "uvs-tes:fam:", "a space in the key": "uvs-tes:fam:a b",
        "NEL in the key (Python space, not JS)": "uvs-tes:fam:a\x85b", "BOM in the key (JS space, not Python)":
            "uvs-tes:fam:a\ufeffb", "U+001E first (Python space)": "uvs-tes:fam:\x1eab",
        "colon later in the key": "uvs-tes:fam:a:b", "colon first": "uvs-tes:fam::ab",
        "201 character key": "uvs-tes:fam:" + "K" * 201, "202 character key": "uvs-tes:fam:" + "K" * 202,
        "150 characters beyond U+FFFF": "uvs-tes:fam:" + "\U0001D400" * 150,
        "201 characters beyond U+FFFF": "uvs-tes:fam:" + "\U0001D400" * 201,
        "upper case area": "UVS-TES:fam:01J09C3Q9M79PND498QHR5HZS4", "trailing newline": FAM + "\n",
        "null": None, "a number": 7, "missing": ..., "a list": [FAM],
    }
    out += [(f"family: {what}", with_(family=value), TODAY) for what, value in fams.items()]
    other = "uvs-naran:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6"
    out.append(("the area is the child's own", with_(_id=other, family="uvs-naran:fam:X"), TODAY))
    return out


def build() -> dict:
    today = date.fromisoformat
    rows = []
    for what, doc, day in cases():
        problems = families.check_child(doc, today(day))
        rows.append({"what": what, "doc": doc, "today": day, "fields": [p["field"] for p in problems],
                     "messages": [p["message"].texts for p in problems]})
    return {"cases": rows, "labels": nutrition.LABELS, "value_labels": nutrition.VALUE_LABELS}


def render(rules: dict) -> str:
    """One case a line, so a change of the rule shows as the lines of the cases it changes."""
    line = lambda value: json.dumps(value, ensure_ascii=True)  # noqa: E731
    cases = ",\n".join(f"  {line(c)}" for c in rules["cases"])
    return (f'{{"cases": [\n{cases}\n],\n "labels": {line(rules["labels"])},\n'
            f' "value_labels": {line(rules["value_labels"])}}}\n')


if __name__ == "__main__":
    RULES.write_text(render(build()), encoding="utf-8")
    print(f"{RULES.relative_to(REPO)}: {len(build()['cases'])} cases")
