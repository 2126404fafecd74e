"""A copy of the store alone reveals no sensitive case (issue 17.9).

The security world runs with an encryption key. Its SQLite files, as a thief
with a backup reads them, must hold none of the markers of the child
protection cases (answers, photo, the coordinator's review comments and
photo), while the household visit of another area, not a sensitive form,
is there in plain text (so the search is real). Reads through fieldsync are
covered by the rest of the suite, which runs on the same sealed store.
"""

from __future__ import annotations

from conftest import World


def test_the_store_files_hold_no_marker_of_a_sensitive_case(world: World) -> None:
    raw = b"".join(p.read_bytes() for p in sorted(world.data.iterdir()) if p.is_file())
    for name in ("case", "review", "other_aimag"):
        for marker in world.secrets[name].markers + [f"{m}-PHOTO" for m in world.secrets[name].markers[:1]]:
            assert marker.encode() not in raw, f"{marker} of the {name} is in the files in plain text"
    assert b"MARKER-OTHER-AREA remarks" in raw  # not sensitive: stored as it is


def test_the_owner_still_reads_her_case_and_its_review_through_fieldsync(world: World) -> None:
    db = world.svc.store.open("uvs-tes")
    case = db.get(world.secrets["case"].id)
    assert case["data"]["summary"].startswith("MARKER-CASE-SUMMARY") and "sealed" not in case
    assert b"MARKER-CASE-PHOTO" in db.get_attachment(case["_id"], "photo.jpg")[1]
    review = db.get(world.secrets["review"].id)
    assert review["comments"][0]["text"].startswith("MARKER-REVIEW")
