"""What a coordinator does with a quarantined document: release it or discard it.

Releasing re-validates the document against a chosen form version (by default
the one it names). When the version changes, the device's revision is stored
as it came and a server revision on top of it names the new version: the
device keeps its history and receives the fix on its next pull.

Either decision is a change a person makes: with an ``audit`` it is recorded in
the audit trail (who, which entry, which document and revision, the note).
"""

from __future__ import annotations

from sync import ids, records
from sync.audit import Audit
from sync.clock import now_iso
from sync.derived import DerivedValues
from sync.errors import BadRequest, Conflict, NotFound
from sync.forms import FormRegistry
from sync.gate.quarantine import Quarantine
from sync.gate.write_gate import is_submission, reason_text
from sync.referral_cases import ReferralCases
from sync.stores.base import Store

MAX_NOTE = 2000  # a discard's reason reaches the worker's device: a note, not a document
STILL_INVALID = {"en": "Still invalid: ", "mn": "Одоо ч буруу байна: "}


def _settle_feedback(store: Store, doc_id: str, status: str, note: str | None) -> None:
    fid = ids.feedback_id(doc_id)
    if fid is None:
        return
    scope = fid.split(":", 1)[0]
    if not store.exists(scope):
        return
    # Only settle feedback that exists (upsert hands a missing one over as a bare ``_id``).
    records.upsert(store.open(scope), fid, lambda cur: {**cur, "status": status, "note": note,
                                                        "updated_at": now_iso()} if "_rev" in cur else None)


def release(store: Store, forms: FormRegistry, quarantine: Quarantine, eid: str, *, by: str,
            form_version: int | None = None, audit: Audit | None = None, lang: str = "en",
            referral_cases: ReferralCases | None = None) -> dict:
    """Re-validate the entry's document (against ``form_version`` if given) and store it.

    ``referral_cases``: a released child protection referral opens its case, as the gate's would.

    Still invalid: BadRequest saying why, in ``lang``; nothing is written.
    """
    if form_version is not None and (not isinstance(form_version, int) or isinstance(form_version, bool)
                                     or not 1 <= form_version <= 1_000_000):
        raise BadRequest("form_version must be a whole number from 1")
    entry = quarantine.get(eid)
    if entry.get("status") != "held":
        raise Conflict(f"entry {eid} is already {entry.get('status')}")
    scope = entry.get("scope") or (ids.parse_doc_id(entry["doc_id"]) or ids.DocId("", "", "")).scope
    if not scope or not store.exists(scope):
        raise NotFound(f"area {scope!r} of {entry['doc_id']} does not hold data; nowhere to release it")
    doc = quarantine.original(eid)
    fixed = dict(doc)
    if form_version is not None:
        fixed["form_version"] = form_version
    if is_submission(fixed) and not fixed.get("_deleted"):
        problems = forms.check_submission(fixed, lang=lang)
        if problems:
            raise BadRequest(STILL_INVALID.get(lang, STILL_INVALID["en"])
                             + reason_text(fixed, problems, lang=lang))
    db = store.open(scope)
    new_edits = bool(entry.get("new_edits", True))
    if new_edits:
        # An edit keeps the revision it was based on, so it lands on top of it.
        fixed.pop("_revisions", None)
        rev = records.write(db, fixed)
    else:
        result = db.bulk_docs([dict(doc)], new_edits=False)
        if result:
            raise BadRequest(f"could not store {doc['_id']}: {result[0].get('reason')}")
        rev = doc["_rev"]
        if form_version is not None and form_version != doc.get("form_version"):
            on_top = {k: v for k, v in fixed.items() if k != "_revisions"}
            on_top["_rev"] = rev
            for att in (on_top.get("_attachments") or {}).values():
                att.pop("data", None)
                att["stub"] = True
            rev = records.write(db, on_top)
    quarantine.mark(eid, "released", by=by, released_rev=rev, form_version=fixed.get("form_version"))
    DerivedValues().refresh_quietly(db, [entry["doc_id"]])  # a released growth visit gets its z-scores
    if referral_cases is not None:
        referral_cases.open_quietly(db, [entry["doc_id"]])
    _settle_feedback(store, entry["doc_id"], "released", None)
    if audit is not None:
        audit.record(actor=by, action="quarantine.released", scope=scope, doc_id=entry["doc_id"],
                     entry=eid, rev=rev, form_version=fixed.get("form_version"))
    return {"id": entry["doc_id"], "rev": rev, "scope": scope}


def discard(store: Store, quarantine: Quarantine, eid: str, *, by: str, reason: str,
            audit: Audit | None = None) -> dict:
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("say why the document is discarded")
    if len(reason) > MAX_NOTE:
        raise BadRequest(f"the reason is longer than {MAX_NOTE} characters")
    entry = quarantine.mark(eid, "discarded", by=by, note=reason.strip())
    _settle_feedback(store, entry["doc_id"], "discarded", reason.strip())
    if audit is not None:
        audit.record(actor=by, action="quarantine.discarded", scope=entry.get("scope"),
                     doc_id=entry["doc_id"], entry=eid, rev=entry.get("rev"), note=reason.strip())
    return entry
