"""The quarantine as a coordinator pages through it, and its decisions in the
audit trail, on both stores.

Entries are read one area at a time (a range of entry ids), page by page;
releasing and discarding are changes a person makes, so the audit trail
says who did which; a release that is still invalid says why in the
coordinator's language and writes nothing.
"""

from __future__ import annotations

import pytest
from conflict_helpers import demo_services, push, revision
from eventual import wait_until
from gate_helpers import TES, visit
from servers import BACKENDS

from sync.errors import BadRequest
from sync.gate.quarantine_actions import discard, release


@pytest.fixture(scope="module", params=BACKENDS)
def svc(request, tmp_path_factory):
    yield from demo_services(request, request.param, tmp_path_factory.mktemp("qa") / "data")


def refused(svc, doc: dict, user: str = "bolormaa", scope: str = TES) -> str:
    [answer] = push(svc, user, [revision(doc)], scope)
    return answer["quarantine"]


def test_entries_are_paged_one_area_at_a_time(svc):
    mine = {refused(svc, visit(household_size="many", seed=n)) for n in range(5)}
    other = refused(svc, visit("uvs-naranbulag", "ganzorig", household_size="lots"), "ganzorig",
                    "uvs-naranbulag")
    seen, after = [], None
    while True:
        page = svc.quarantine.in_areas([TES], after=after, limit=2)
        if not page:
            break
        seen += [e["_id"] for e in page]
        after = page[-1]["_id"]
    assert mine <= set(seen) and other not in seen and seen == sorted(seen)
    both = {e["_id"] for e in svc.quarantine.in_areas([TES, "uvs-naranbulag"], limit=1000)}
    assert mine | {other} <= both


def test_decisions_are_in_the_audit_trail(svc):
    kept = refused(svc, visit(household_size="many", seed=40))
    gone = refused(svc, visit(household_size="many", seed=41))
    with pytest.raises(BadRequest) as still:
        release(svc.store, svc.forms, svc.quarantine, kept, by="oyunaa", audit=svc.audit, lang="mn")
    assert "Одоо ч буруу байна" in still.value.reason and "Бүхэл тоо" in still.value.reason
    assert svc.quarantine.get(kept)["status"] == "held"
    discard(svc.store, svc.quarantine, gone, by="oyunaa", reason="Давхар илгээсэн", audit=svc.audit)
    # On a cluster a range read can come from a copy the entry just written has not reached yet.
    entries = wait_until(lambda: [e for e in svc.audit.entries(TES, limit=1000) if e.get("entry") == gone],
                         what="the discard's audit entry")
    assert [(e["actor"], e["action"], e["note"]) for e in entries] == [
        ("oyunaa", "quarantine.discarded", "Давхар илгээсэн")]
    with pytest.raises(BadRequest):
        discard(svc.store, svc.quarantine, kept, by="oyunaa", reason="x" * 3000, audit=svc.audit)
    assert svc.quarantine.get(kept)["status"] == "held"
