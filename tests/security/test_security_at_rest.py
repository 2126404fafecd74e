"""A copy of the store alone reveals no sensitive case (issue 17.9).

The security world runs with an encryption key. Its SQLite files, as a thief
with a backup reads them, must hold none of the markers of the child
protection cases (answers, photo, the coordinator's review comments and
photo), while the household visit of another area, not a sensitive form,
is there in plain text (so the search is real). Reads through fieldsync are
covered by the rest of the suite, which runs on the same sealed store.
"""

from __future__ import annotations

import random

from conftest import World, basic

from sync.conflicts.bases import MergeBases
from sync.demo import protection_referral, submission
from sync.subindex import Filters, SubmissionIndex


def test_the_store_files_hold_no_marker_of_a_sensitive_case(world: World) -> None:
    # The coordinators' list index is built first: it keeps a little text of each submission,
    # casefolded, and none of a sensitive form's. A search still finds the case by its words.
    index = SubmissionIndex(world.svc.store, world.svc.forms)
    for area in ("uvs-tes", "uvs-naranbulag", "ovr-kharkhorin"):
        index.refresh_all(area)
    found = index.page("uvs-tes", Filters(text="marker-case-summary"))
    assert [row["k"] for row in found.rows] == [world.secrets["case"].id.rsplit(":", 1)[1]]
    raw = b"".join(p.read_bytes() for p in sorted(world.data.iterdir()) if p.is_file())
    for name in ("case", "review", "other_aimag"):
        for marker in world.secrets[name].markers + [f"{m}-PHOTO" for m in world.secrets[name].markers[:1]]:
            for form in (marker, marker.casefold()):
                assert form.encode() not in raw, f"{form} of the {name} is in the files in plain text"
    assert b"MARKER-OTHER-AREA remarks" in raw  # not sensitive: stored as it is
    assert b"marker-other-area remarks" in raw  # and its text is in the index (so the search above is real)


def test_the_owner_still_reads_her_case_and_its_review_through_fieldsync(world: World) -> None:
    db = world.svc.store.open("uvs-tes")
    case = db.get(world.secrets["case"].id)
    assert case["data"]["summary"].startswith("MARKER-CASE-SUMMARY") and "sealed" not in case
    assert b"MARKER-CASE-PHOTO" in db.get_attachment(case["_id"], "photo.jpg")[1]
    review = db.get(world.secrets["review"].id)
    assert review["comments"][0]["text"].startswith("MARKER-REVIEW")


def test_an_edited_referrals_earlier_revision_is_not_in_the_files_either(world: World) -> None:
    """An edit makes the server keep the replaced revision's body as a merge base (sync.conflicts.bases),
    so that a later conflict can be merged: a sensitive form's is kept sealed like the submission."""
    client = world.app.test_client(use_cookies=False)
    data = protection_referral(random.Random(7))
    data["summary"] = "MARKER-EDITED-FIRST summary"
    doc = submission("uvs-tes:sub:01KEDIT0000000000000000001", "child_protection_referral", "tuya", data,
                     "2026-10-13T09:00:00+08:00")
    first = client.post("/sync/tuya/_bulk_docs", json={"docs": [doc]}, headers=basic("tuya"))
    assert first.status_code == 201 and "rev" in first.json[0], first.text
    doc = {**doc, "_rev": first.json[0]["rev"], "data": {**data, "summary": "MARKER-EDITED-SECOND summary"}}
    second = client.post("/sync/tuya/_bulk_docs", json={"docs": [doc]}, headers=basic("tuya"))
    assert second.status_code == 201 and "rev" in second.json[0], second.text
    got = client.get(f"/sync/tuya/{doc['_id']}", headers=basic("tuya")).json
    assert got["data"]["summary"] == "MARKER-EDITED-SECOND summary"
    kept = MergeBases(world.svc.store).lookup(doc["_id"])[0]  # opened for a merge
    assert [body["data"]["summary"] for body in kept.values()] == ["MARKER-EDITED-FIRST summary"]
    raw = b"".join(p.read_bytes() for p in sorted(world.data.iterdir()) if p.is_file())
    for marker in ("MARKER-EDITED-FIRST", "MARKER-EDITED-SECOND"):
        assert marker.encode() not in raw and marker.casefold().encode() not in raw, marker
