"""The write gate: every document a client writes passes here, in order:
access, validation of submissions against the exact form version they name,
then the store.

A refused document is answered with CouchDB's per-document ``forbidden`` error
(so replicators report it as ``denied``), kept in the quarantine with its
reasons, and announced by a feedback document in its area, which reaches the
worker's device on the next pull. The valid documents of the same batch are
stored all the same. Nothing a worker sends is lost.

A write that puts a document in conflict (two devices edited it apart) is
followed at once by the server's merge of disjoint edits (``sync.conflicts``),
then by the derived values of the stored submissions (``sync.derived``) and the
case each child protection referral opens (``sync.referral_cases``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sync import cases, facility_register, families, ids, records
from sync.accounts.access import Access
from sync.accounts.users import User
from sync.audit import SERVER, Audit
from sync.clock import now_iso
from sync.conflicts.resolver import Conflicts
from sync.derived import DerivedValues
from sync.forms import FormRegistry
from sync.gate.messages import LANGUAGES, MESSAGES, bilingual, text, texts_of
from sync.gate.quarantine import Quarantine
from sync.referral_cases import ReferralCases
from sync.reviews import check_batch as check_reviews
from sync.reviews import edit_candidates, edited_submissions, is_review, mark_edited
from sync.stores.base import Database

log = logging.getLogger("fieldsync.gate")
MAX_REASON = 900


def is_submission(doc: dict) -> bool:
    if doc.get("type") == "submission":
        return True
    parsed = ids.parse_doc_id(doc["_id"])
    return parsed is not None and parsed.kind == ids.SUBMISSION


def reason_text(doc: dict, reasons: list[dict], *, about_form: bool = True, lang: str = "en") -> str:
    """One line a person can act on: what is wrong, field by field, in ``lang``.

    ``about_form=False`` for access denials, which are not about the form's answers.
    """
    parts = []
    for r in reasons:
        message = (r.get("messages") or {}).get(lang) or r["message"]
        parts.append(f"{r['field']}: {message}" if r.get("field") else message)
    head = ""
    if about_form and is_submission(doc) and doc.get("form"):
        head = MESSAGES["form_head"].get(lang, MESSAGES["form_head"]["en"]).format(
            form=doc.get("form"), version=doc.get("form_version"))
    text = head + "; ".join(parts)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def reason_texts(doc: dict, reasons: list[dict], *, about_form: bool = True) -> dict[str, str]:
    """``reason_text`` in every language: what a device shows in its user's language."""
    return {lang: reason_text(doc, reasons, about_form=about_form, lang=lang) for lang in LANGUAGES}


def is_case(doc: dict) -> bool:
    parsed = ids.parse_doc_id(doc["_id"])
    return parsed is not None and parsed.kind == ids.CASE


def withheld(doc: dict) -> dict:
    """What the quarantine keeps of a refused document: a child protection case without its
    answers (the quarantine is read by every coordinator of the area, the case by its team only;
    the device keeps the revision it sent). Anything else whole."""
    if not is_case(doc):
        return doc
    return {k: doc[k] for k in ("_id", "_rev", "_deleted", "type", "status", "risk") if k in doc} | {"withheld": True}


class _BatchAccess(Access):
    """The gate's ``Access`` for one batch: a user's data scopes are looked up once,
    not once per document (the area tree is the same for the whole batch)."""

    def __init__(self, access: Access):
        self.__dict__.update(access.__dict__)
        self._scopes: dict[User, list[str]] = {}

    def data_scopes(self, user: User) -> list[str]:
        found = self._scopes.get(user)
        if found is None:
            found = self._scopes[user] = super().data_scopes(user)
        return found


class WriteGate:
    def __init__(self, forms: FormRegistry, quarantine: Quarantine, access: Access | None,
                 conflicts: Conflicts | None = None, derived: DerivedValues | None = None,
                 max_attachment_bytes: int | None = None):
        self.forms = forms
        # The largest attachment (decoded) a document may carry; None: no limit of its own.
        self.max_attachment_bytes = max_attachment_bytes
        self.quarantine = quarantine
        self.access = access
        self.conflicts = conflicts  # merges disjoint edits right after the write that conflicts
        self.derived = derived  # z-scores and classes beside the submissions just stored
        # Told of every submission revision stored, as (user, [(doc id, rev)]): who sent which
        # revision (the server gives SyncLog.received with what the request says of its device).
        self.receipts: Callable[[str, list[tuple[str, str]]], None] | None = None
        # Reviews written through the gate by a device (or an admin at /db/<scope>), and reviews
        # the server reopens for a worker, go into the audit trail (Services.build sets it).
        self.audit: Audit | None = None
        # Opens the case of each child protection referral stored (Services.build sets it).
        self.referral_cases: ReferralCases | None = None
        # The family card's programme areas (an admin's document in global; Services.build sets it).
        self.fes_codes: Callable[[], set[str]] = lambda: {a["code"] for a in families.default_areas()}

    def write(self, user: User, db: Database, docs: list[dict], *, new_edits: bool,
              audit_reviews: bool = True, known: dict[str, dict] | None = None,
              hold_refused: bool = True) -> list[dict]:
        """``_bulk_docs`` through the gate; the answer is shaped as CouchDB's.

        ``audit_reviews=False``: the caller records the reviews itself (``Reviews.record``,
        which knows what the reviewer read). ``known``: the current winners of every id of
        ``docs`` (absent: no live document), just read by the caller, so not read again.
        ``hold_refused=False``: a web form, whose refusal the person who typed it reads at
        once; a refused document is then not kept in the quarantine, nor given feedback (a
        device's is, since nobody may see its answer until the next sync)."""
        scope = db.name
        existing = self._existing(db, docs, known) if not user.is_admin else {}
        verdicts: list[list[dict] | None] = []
        denied: set[int] = set()
        arrived = time.monotonic()
        forms = self.forms.snapshot() if any(is_submission(d) for d in docs) else {}
        access = _BatchAccess(self.access) if self.access and not user.is_admin else self.access
        to_check: list[int] = []
        to_review: list[int] = []
        to_case: list[int] = []
        to_register: list[int] = []
        to_facility: list[int] = []
        docs = list(docs)
        for i, doc in enumerate(docs):
            reasons = None
            denial = access.write_denial(user, scope, doc, existing.get(doc["_id"])) if access else None
            oversize = self._oversize(doc) if not denial else None
            if denial:
                reasons = bilingual([{"field": "", "message": denial}], None)
                denied.add(i)
            elif oversize:
                # Refused whatever else it holds, and kept without the data: the quarantine
                # must not hold tens of megabytes the server just declined to store.
                reasons = bilingual(list(oversize.values()), None)
                denied.add(i)
                docs[i] = _without_data(doc, set(oversize))
            elif is_submission(doc) and not doc.get("_deleted"):
                if doc.get("type") != "submission":
                    reasons = bilingual([{"field": "type", "message": text("submission_type")}], None)
                else:
                    to_check.append(i)
            elif is_review(doc) and not doc.get("_deleted"):
                to_review.append(i)
            elif is_case(doc) and not doc.get("_deleted"):
                to_case.append(i)
            elif families.is_register(doc) and not doc.get("_deleted"):
                to_register.append(i)
            elif facility_register.is_facility(doc) and not doc.get("_deleted"):
                to_facility.append(i)
            verdicts.append(reasons)
        if to_review and self.access is not None:
            # States, comments, and a submission that exists and the writer may see (sync.reviews).
            for i, problems in check_reviews(user, self.access, db, docs, to_review).items():
                verdicts[i] = bilingual(problems, None)
        if to_case:  # states, transitions, closure, history only added to (sync.cases)
            for i, problems in cases.check_batch(db, docs, to_case).items():
                verdicts[i] = bilingual(problems, None)
        if to_register:  # children and family cards: fields, Triple-A states and steps (sync.families)
            codes = self.fes_codes() if any(families.is_card(docs[i]) for i in to_register) else set()
            for i, problems in families.check_batch(db, docs, to_register, codes).items():
                verdicts[i] = bilingual(problems, None)
        for i in to_facility:  # the scorecards' facility register: name, type (sync.facility_register)
            problems = facility_register.check_facility(docs[i])
            if problems:
                verdicts[i] = bilingual(problems, None)
        if to_check:
            checked = self.forms.check_submissions([docs[i] for i in to_check], forms=forms, arrived=arrived)
            refused = [(i, problems) for i, problems in zip(to_check, checked, strict=True) if problems]
            if refused:
                # The same check in Mongolian, for the refused ones only (the form's own
                # constraint messages per language included): what the worker reads.
                in_mn = self.forms.check_submissions([docs[i] for i, _ in refused], lang="mn",
                                                     forms=forms, arrived=arrived)
                for (i, problems), translated in zip(refused, in_mn, strict=True):
                    verdicts[i] = bilingual(problems, translated)

        accepted = [d for d, r in zip(docs, verdicts, strict=True) if r is None]
        settle = (self.conflicts.before_write(db, accepted, new_edits=new_edits)
                  if self.conflicts is not None and accepted else [])
        edits = edit_candidates(accepted, new_edits=new_edits)  # before the store consumes _revisions
        sent = [(d["_id"], d.get("_rev")) for d in accepted if is_submission(d)] if self.receipts else []
        stored = db.bulk_docs(accepted, new_edits=new_edits) if accepted else []
        if sent:
            self._received(user, accepted, sent, stored, new_edits)
        if self.audit is not None and audit_reviews and accepted:
            self._audit_reviews(user, db.name, accepted, stored, new_edits)
        if settle:
            self.conflicts.after_write(db, settle, user=user.name)
        if self.derived is not None and accepted:
            self.derived.after_write(db, accepted, stored)
        if self.referral_cases is not None and accepted:
            self.referral_cases.after_write(db, accepted, stored)

        results: list[dict] = []
        stored_iter = iter(stored)
        refused_results = []
        for i, (doc, reasons) in enumerate(zip(docs, verdicts, strict=True)):
            if reasons is None:
                if new_edits:
                    results.append(next(stored_iter))
                continue
            texts = reason_texts(doc, reasons, about_form=i not in denied)
            # ``reason`` is what CouchDB clients read; ``messages`` rides along (PouchDB keeps
            # an error's other members), for a device to show its user's language.
            result = {"id": doc["_id"], "error": "forbidden", "reason": texts["en"], "messages": texts}
            if doc.get("_rev") and not new_edits:
                result["rev"] = doc["_rev"]
            if hold_refused:
                result["quarantine"] = self._refuse(user, scope, db, withheld(doc), reasons, new_edits,
                                                    existing.get(doc["_id"]), texts)
            if new_edits:
                results.append(result)
            else:
                refused_results.append(result)
        if not new_edits:
            results = list(stored) + refused_results
        self._clear_feedback(db, user, [d for d in accepted if is_submission(d)], stored, new_edits)
        edited = edited_submissions(edits, stored)
        if edited:
            try:  # the worker changed a decided submission: its review becomes "edited"
                reopened = mark_edited(db, edited, by=user.name)
                for rid in reopened if self.audit is not None else ():
                    self.audit.record(actor=SERVER, on_behalf_of=user.name, action="review.reopened",
                                      scope=scope, doc_id=rid, status="edited")
            except Exception:  # the submission is stored; the review is marked on its next edit
                log.exception("could not mark reviews of %s as edited", ", ".join(edited))
        return results

    def _audit_reviews(self, user: User, scope: str, accepted: list[dict], stored: list[dict],
                       new_edits: bool) -> None:
        if new_edits:
            revs = {d["_id"]: r.get("rev") for d, r in zip(accepted, stored, strict=False) if "rev" in r}
        else:  # only errors come back: the others are stored as given
            failed = {r.get("id") for r in stored if "error" in r}
            revs = {d["_id"]: d.get("_rev") for d in accepted if d["_id"] not in failed}
        for doc in accepted:
            if is_review(doc) and doc["_id"] in revs:
                self.audit.record(actor=user.name, action="review.recorded", scope=scope, doc_id=doc["_id"],
                                  submission=doc.get("submission"), status=doc.get("status"),
                                  deleted=bool(doc.get("_deleted")), rev=revs[doc["_id"]], via="replication")

    def refuse(self, user: User, docs: list[dict], *, new_edits: bool, reason: str) -> list[dict]:
        """Refuse documents that name no scope this user may write (kept in the quarantine)."""
        results = []
        for doc in docs:
            reasons = bilingual([{"field": "", "message": reason}], None)
            eid = self.quarantine.hold(doc=doc, scope=None, user=user.name, reasons=reasons,
                                       new_edits=new_edits)
            result = {"id": doc["_id"], "error": "forbidden", "reason": str(reason),
                      "messages": texts_of(reason), "quarantine": eid}
            if doc.get("_rev") and not new_edits:
                result["rev"] = doc["_rev"]
            results.append(result)
        return results

    # -- helpers ---------------------------------------------------------------------
    def _oversize(self, doc: dict) -> dict[str, dict]:
        """Attachments of ``doc`` over the limit: name -> a problem naming it and the limit."""
        most = self.max_attachment_bytes
        attachments = doc.get("_attachments")
        if not most or not isinstance(attachments, dict):
            return {}
        problems = {}
        for name, att in attachments.items():
            data = att.get("data") if isinstance(att, dict) else None
            if isinstance(data, str | bytes | bytearray):
                size = attachment_size(data)
                if size > most:
                    problems[name] = {"field": "", "message": text(
                        "attachment_too_large", name=name, docid=doc.get("_id"),
                        size=_mb(size), most=_mb(most))}
        return problems

    def _received(self, user: User, accepted: list[dict], sent: list[tuple[str, str | None]],
                  stored: list[dict], new_edits: bool) -> None:
        if new_edits:  # the store made the revisions: its answers, in the order of ``accepted``
            made = {d["_id"]: r.get("rev") for d, r in zip(accepted, stored, strict=True)
                    if "error" not in r and r.get("rev")}
            revisions = [(docid, made[docid]) for docid, _ in sent if docid in made]
        else:  # the revisions sent were stored as they are, but for those answered with an error
            failed = {(r.get("id"), r.get("rev")) for r in stored}
            revisions = [(docid, rev) for docid, rev in sent
                         if rev and (docid, rev) not in failed and (docid, None) not in failed]
        try:
            self.receipts(user.name, revisions)
        except Exception:  # bookkeeping: the revisions are stored
            log.exception("could not note who sent %d revisions", len(revisions))

    def _existing(self, db: Database, docs: list[dict], known: dict[str, dict] | None = None) -> dict[str, dict]:
        """Current winners of submissions being written, to check who owns them."""
        wanted = [d["_id"] for d in docs if is_submission(d) or is_case(d)]
        if not wanted:
            return {}
        if known is not None:
            return {d: known[d] for d in wanted if d in known}
        out = {}
        for row in db.all_docs(keys=wanted, include_docs=True):
            if row.get("doc"):
                out[row["id"]] = row["doc"]
        return out

    def _refuse(self, user: User, scope: str, db: Database, doc: dict, reasons: list[dict],
                new_edits: bool, existing: dict | None = None,
                summary: dict[str, str] | None = None) -> str:
        eid = self.quarantine.hold(doc=doc, scope=scope, user=user.name, reasons=reasons,
                                   new_edits=new_edits)
        # Feedback only about the sender's own field documents: a feedback id is
        # <area>:feedback:<key>, and a review shares its submission's key, so
        # feedback about a refused review, feedback document or someone else's
        # submission would overwrite the feedback of another document or user.
        parsed = ids.parse_doc_id(doc["_id"])
        owner = (existing or {}).get("author")
        if (parsed is not None and parsed.scope == scope and parsed.kind in ids.FIELD_KINDS
                and owner in (None, user.name)):
            fid = ids.feedback_id(doc["_id"])

            def apply(current: dict) -> dict | None:
                if current.get("author") not in (None, user.name):
                    return None  # another user's feedback stays theirs
                if current.get("quarantine") == eid:
                    return None  # the same revision sent again: the device was told already
                return {**current, "type": "feedback", "about": doc["_id"], "rev": doc.get("_rev"),
                        "author": user.name, "status": "refused", "reasons": reasons,
                        "summary": summary or reason_texts(doc, reasons),
                        "quarantine": eid, "updated_at": now_iso()}
            try:
                records.upsert(db, fid, apply)
            except Exception:  # the refusal itself is already safe in the quarantine
                log.exception("could not write feedback %s", fid)
        return eid

    def _clear_feedback(self, db: Database, user: User, accepted: list[dict], stored: list[dict],
                        new_edits: bool) -> None:
        """A submission accepted after a refusal: tell the device the matter is settled."""
        failed = {r["id"] for r in stored if "error" in r}
        # With new_edits the revision accepted is the one the store made, not the parent sent.
        made = {r["id"]: r["rev"] for r in stored if "rev" in r and "error" not in r} if new_edits else {}
        fids = {}
        for doc in accepted:
            if not new_edits and len(doc.get("_revisions") or ()) == 1:
                # A replica's first revision of a document: no earlier revision of it
                # can have been refused, so there is no feedback to settle. (Most of
                # a push; the lookup is saved for edits.)
                continue
            fid = ids.feedback_id(doc["_id"])
            if fid and doc["_id"] not in failed and fid.split(":", 1)[0] == db.name:
                fids[fid] = doc
        if not fids:
            return
        for row in db.all_docs(keys=list(fids), include_docs=True):
            current = row.get("doc")
            if current and current.get("status") == "refused":
                def apply(cur: dict, doc=fids[row["id"]]) -> dict:
                    return {**cur, "status": "accepted", "rev": made.get(doc["_id"], doc.get("_rev")),
                            "updated_at": now_iso()}
                try:
                    records.upsert(db, row["id"], apply)
                    if current.get("quarantine"):
                        # The worker fixed it on the device: nobody needs to decide on the old revision.
                        self.quarantine.supersede(current["quarantine"], by=user.name)
                except Exception:
                    log.exception("could not settle feedback %s", row["id"])


class GatedDatabase:
    """A Database whose writes pass the gate for one user; reads go straight through."""

    def __init__(self, db: Database, gate: WriteGate, user: User):
        self._db = db
        self._gate = gate
        self._user = user
        self.name = db.name

    def bulk_docs(self, docs: list[dict], *, new_edits: bool = True) -> list[dict]:
        return self._gate.write(self._user, self._db, docs, new_edits=new_edits)

    def __getattr__(self, name: str):
        return getattr(self._db, name)


def attachment_size(data: str | bytes) -> int:
    """Bytes an inline attachment holds: decoded already (``sync.docs.check_doc``), or base64."""
    if isinstance(data, bytes | bytearray):
        return len(data)
    return len(data.rstrip("=")) * 3 // 4


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.2f}"


def _without_data(doc: dict, names: set[str]) -> dict:
    """``doc`` with the named attachments' data replaced by their size (for the quarantine)."""
    kept = dict(doc)
    kept["_attachments"] = {
        name: ({k: v for k, v in att.items() if k != "data"} | {"dropped": True, "length": attachment_size(att["data"])}
               if name in names else att)
        for name, att in doc["_attachments"].items()}
    return kept
