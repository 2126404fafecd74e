"""Reviews: a coordinator's verdict on a submission and the comment thread about it.

A review is the document ``<area>:review:<submission key>`` beside the
submission, so that it never conflicts with the worker's own edits, and it
replicates to the author's device (it is visible exactly when the submission
is: ``sync.accounts.access``). States:

* ``received``: implicit, no review yet (a review document may say so too);
* ``has_issues``, ``approved``, ``rejected``: what a coordinator decides;
* ``edited``: the worker changed the submission after a decision. The server
  writes it (``mark_edited``, run by the write gate right after the worker's
  revision is stored), rather than each reader deriving it: the worker's
  device then shows "edited, waiting for review" from the document alone, and
  the coordinators' lists and counts read one stored state.

The write gate checks every review, whichever way it comes (replication,
``PUT``, ``/api/reviews``, the web pages, ``fieldsync review``):
``check_review`` says what is wrong, in English and Mongolian. A review whose
submission does not exist, or is hidden from the writer, is refused with the
same words, so a refusal tells nothing about cases one may not see.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from sync import ids, records
from sync.accounts.access import Access
from sync.accounts.users import User
from sync.audit import Audit
from sync.clock import now_iso, parse_iso
from sync.errors import BadRequest, Conflict, Forbidden, NotFound
from sync.gate.messages import Text
from sync.referral_cases import need_to_know
from sync.stores.base import Database, Store

STATES = ("received", "has_issues", "approved", "rejected", "edited")
DECISIONS = ("has_issues", "approved", "rejected")  # what a person chooses
REVIEWED = frozenset(DECISIONS)  # states a worker's edit turns into ``edited``
MAX_COMMENT_CHARS = 4000
MAX_COMMENTS = 200
MAX_HISTORY = 500
MAX_REVIEW_BYTES = 512 * 1024
ALLOWED = {"type", "submission", "submission_author", "form", "form_version", "status", "submission_rev",
           "comments", "history", "created_at", "updated_at", "updated_by"}
COUCH_FIELDS = {"_id", "_rev", "_revisions", "_deleted", "_conflicts"}

_TEXTS: dict[str, dict[str, str]] = {
    "type": {"en": "A review's type must be \"review\".",
             "mn": "Хяналтын баримтын төрөл (type) нь \"review\" байх ёстой."},
    "state": {"en": "{value!r} is not a review state; use one of {states}.",
              "mn": "{value!r} гэсэн хяналтын төлөв байхгүй; {states}-ийн аль нэгийг ашиглана уу."},
    "decision": {"en": "{value!r} is not a decision; choose has_issues, approved or rejected.",
                 "mn": "{value!r} гэсэн шийдвэр байхгүй; has_issues, approved эсвэл rejected-ийг сонгоно уу."},
    "edited_server": {"en": "The state \"edited\" is set by the server when the worker changes the submission.",
                      "mn": "\"edited\" төлөвийг ажилтан илгээлтээ өөрчлөхөд сервер тавина."},
    "no_submission": {"en": "There is no submission {docid!r} to review.",
                      "mn": "Хянах {docid!r} илгээлт байхгүй байна."},
    "submission_field": {"en": "A review's submission must be {docid!r}, the submission with the same key.",
                         "mn": "Хяналтын submission талбар нь ижил түлхүүртэй {docid!r} илгээлт байх ёстой."},
    "mismatch": {"en": "The review's {field} must be {expected!r}, as in the submission.",
                 "mn": "Хяналтын {field} нь илгээлтийнх шиг {expected!r} байх ёстой."},
    "unknown_field": {"en": "A review has no field {field!r}.",
                      "mn": "Хяналтын баримтад {field!r} гэсэн талбар байхгүй."},
    "comments_list": {"en": "comments must be a list of {{by, at, text}}, at most {most}.",
                      "mn": "comments нь {{by, at, text}}-ийн жагсаалт байх ёстой, ихдээ {most}."},
    "comment_shape": {"en": "Comment {n} needs by (a user name), at (a time) and text.",
                      "mn": "{n}-р сэтгэгдэлд by (хэрэглэгчийн нэр), at (цаг) ба text байх ёстой."},
    "comment_empty": {"en": "A comment cannot be empty.", "mn": "Сэтгэгдэл хоосон байж болохгүй."},
    "comment_long": {"en": "A comment is at most {most} characters; this one has {chars}.",
                     "mn": "Сэтгэгдэл ихдээ {most} тэмдэгт байна; энэ нь {chars} тэмдэгттэй."},
    "comment_author": {"en": "A new comment must be yours ({user!r}), not {by!r}'s.",
                       "mn": "Шинэ сэтгэгдэл {by!r}-ийнх биш, таных ({user!r}) байх ёстой."},
    "history": {"en": "history must be a list of {{status, by, at}}, at most {most}.",
                "mn": "history нь {{status, by, at}}-ийн жагсаалт байх ёстой, ихдээ {most}."},
    "too_large": {"en": "A review is at most {most} KB.", "mn": "Хяналтын баримт ихдээ {most} KB байна."},
    "attachments": {"en": "A review has no attachments.", "mn": "Хяналтын баримтад хавсралт байхгүй."},
    "nothing": {"en": "Choose a state or write a comment.",
                "mn": "Төлөв сонгох эсвэл сэтгэгдэл бичнэ үү."},
    "review_changed": {"en": "Someone changed this review since you opened it. Read it again, then repeat.",
                       "mn": "Таныг нээснээс хойш энэ хяналтыг өөр хүн өөрчилсөн. Дахин уншаад давтана уу."},
    "submission_changed": {
        "en": "The worker changed this submission since you opened it. Read it again, then decide.",
        "mn": "Таныг нээснээс хойш ажилтан энэ илгээлтийг өөрчилсөн. Дахин уншаад шийднэ үү."},
    "not_a_submission": {"en": "{docid!r} is not a submission id (<area>:sub:<key>).",
                         "mn": "{docid!r} нь илгээлтийн дугаар биш (<нутаг>:sub:<түлхүүр>)."},
}


def message(key: str, **params) -> Text:
    # What the sender wrote is quoted back, never more than a line of it (a 100 KB "state").
    params = {k: v[:40] + "…" if isinstance(v, str) and len(v) > 40 and k in ("value", "field") else v
              for k, v in params.items()}
    return Text({lang: template.format(**params) for lang, template in _TEXTS[key].items()})


def review_id(submission_id: str) -> str:
    parsed = ids.parse_doc_id(submission_id)
    if parsed is None or parsed.kind != ids.SUBMISSION:
        raise BadRequest(message("not_a_submission", docid=submission_id))
    return f"{parsed.scope}:{ids.REVIEW}:{parsed.key}"


def submission_id(review_doc_id: str) -> str | None:
    parsed = ids.parse_doc_id(review_doc_id)
    if parsed is None or parsed.kind != ids.REVIEW:
        return None
    return f"{parsed.scope}:{ids.SUBMISSION}:{parsed.key}"


def is_review(doc: dict) -> bool:
    parsed = ids.parse_doc_id(doc.get("_id", ""))
    return parsed is not None and parsed.kind == ids.REVIEW


def state_of(review: dict | None) -> str:
    """The state a review document says (``received`` for none, or for one that says nothing valid)."""
    if not review or review.get("_deleted"):
        return "received"
    status = review.get("status")
    return status if status in STATES else "received"


# -- the write gate's check --------------------------------------------------------------------
def check_review(user: User, access: Access, scope: str, doc: dict, submission: dict | None,
                 existing: dict | None) -> list[dict]:
    """What stops ``doc`` (a review, not a deletion) from being stored: ``[{"field", "message"}]``.

    ``submission`` is the current winner of the reviewed submission (None: none),
    ``existing`` the review's current winner (None: a new review).
    """
    problems: list[dict] = []

    def no(field: str, text: Text) -> list[dict]:
        problems.append({"field": field, "message": text})
        return problems

    subid = submission_id(doc["_id"])
    visible = (submission is not None and not submission.get("_deleted")
               and access.visible(user, scope, submission, subid))
    if not visible:
        return no("submission", message("no_submission", docid=subid))
    if len(orjson.dumps(doc, default=str)) > MAX_REVIEW_BYTES:
        return no("", message("too_large", most=MAX_REVIEW_BYTES // 1024))
    for key in doc:
        if key == "_attachments":
            no("_attachments", message("attachments"))
        elif key not in ALLOWED and key not in COUCH_FIELDS:
            no(key, message("unknown_field", field=key))
    if doc.get("type") != "review":
        no("type", message("type"))
    status = doc.get("status")
    if status not in STATES:
        no("status", message("state", value=status, states=", ".join(STATES)))
    elif status == "edited" and state_of(existing) != "edited":
        no("status", message("edited_server"))
    if doc.get("submission", subid) != subid:
        no("submission", message("submission_field", docid=subid))
    for field, expected in (("submission_author", submission.get("author")), ("form", submission.get("form"))):
        if doc.get(field) != expected:
            no(field, message("mismatch", field=field, expected=expected))
    _check_comments(user, doc.get("comments", []), (existing or {}).get("comments"), no)
    history = doc.get("history", [])
    if (not isinstance(history, list) or len(history) > MAX_HISTORY
            or not all(isinstance(h, dict) and h.get("status") in STATES and isinstance(h.get("by"), str)
                       and isinstance(h.get("at"), str) for h in history)):
        no("history", message("history", most=MAX_HISTORY))
    return problems


def _check_comments(user: User, comments, before, no) -> None:
    if not isinstance(comments, list) or len(comments) > MAX_COMMENTS:
        no("comments", message("comments_list", most=MAX_COMMENTS))
        return
    known = {_comment_key(c) for c in before or () if isinstance(c, dict)}
    for n, comment in enumerate(comments, start=1):
        if not isinstance(comment, dict) or set(comment) - {"by", "at", "text"} \
                or not isinstance(comment.get("by"), str) or parse_iso(comment.get("at")) is None \
                or not isinstance(comment.get("text"), str):
            no(f"comments/{n}", message("comment_shape", n=n))
            continue
        if not comment["text"].strip():
            no(f"comments/{n}", message("comment_empty"))
        elif len(comment["text"]) > MAX_COMMENT_CHARS:
            no(f"comments/{n}", message("comment_long", most=MAX_COMMENT_CHARS, chars=len(comment["text"])))
        if not user.is_admin and comment["by"] != user.name and _comment_key(comment) not in known:
            no(f"comments/{n}", message("comment_author", user=user.name, by=comment["by"]))


def _comment_key(comment: dict) -> tuple:
    return comment.get("by"), comment.get("at"), comment.get("text")


def check_batch(user: User, access: Access, db: Database, docs: list[dict], which: list[int]) -> dict[int, list[dict]]:
    """``check_review`` for the reviews at positions ``which`` of a batch: problems by position.

    Their submissions and current reviews are read in one request each.
    """
    subids = {i: submission_id(docs[i]["_id"]) for i in which}
    wanted = sorted({s for s in subids.values() if s} | {docs[i]["_id"] for i in which})
    current = {row["id"]: row["doc"] for row in db.all_docs(keys=wanted, include_docs=True) if row.get("doc")}
    out = {}
    for i in which:
        submission = current.get(subids[i])
        if submission is not None and not need_to_know(user, subids[i], submission, lambda cid: records.read(db, cid)):
            submission = None  # a referral whose case this reviewer is not on: as if it did not exist
        problems = check_review(user, access, db.name, docs[i], submission, current.get(docs[i]["_id"]))
        if problems:
            out[i] = problems
    return out


# -- the server's own write: a worker's edit after a decision --------------------------------
def edit_candidates(accepted: list[dict], *, new_edits: bool) -> dict[str, str | None]:
    """Submissions of a batch about to be written that are edits, not first revisions:
    id -> the revision sent (a replicator's), or None (a plain write: the store makes it).

    Read before the write: a store may consume the documents' ``_revisions``.
    """
    out: dict[str, str | None] = {}
    for doc in accepted:
        parsed = ids.parse_doc_id(doc.get("_id", ""))
        if parsed is None or parsed.kind != ids.SUBMISSION or not doc.get("_rev"):
            continue
        if new_edits:
            out[doc["_id"]] = None
        else:
            revisions = doc.get("_revisions")  # CouchDB's {start, ids}, or the path as a list of revs
            path = revisions.get("ids") if isinstance(revisions, dict) else revisions
            if isinstance(path, list) and len(path) > 1:
                out[doc["_id"]] = doc["_rev"]
    return out


def edited_submissions(candidates: dict[str, str | None], stored: list[dict]) -> dict[str, str]:
    """The candidates the store took: id -> the revision it now holds."""
    failed = {r["id"] for r in stored if "error" in r}
    made = {r["id"]: r["rev"] for r in stored if "rev" in r and "error" not in r}
    out = {}
    for docid, rev in candidates.items():
        if docid in failed:
            continue
        rev = rev or made.get(docid)
        if rev:
            out[docid] = rev
    return out


def mark_edited(db: Database, edited: dict[str, str], *, by: str) -> list[str]:
    """Reviews whose decision the worker's new revision reopens become ``edited``; their ids."""
    if not edited:
        return []
    rids = {review_id(subid): (subid, rev) for subid, rev in edited.items()}
    marked = []
    for row in db.all_docs(keys=list(rids), include_docs=True):
        review = row.get("doc")
        if not review or state_of(review) not in REVIEWED:
            continue
        subid, rev = rids[row["id"]]
        if review.get("submission_rev") == rev:
            continue

        def apply(current: dict, rev=rev) -> dict | None:
            if state_of(current) not in REVIEWED or current.get("submission_rev") == rev:
                return None
            at = now_iso()
            history = list(current.get("history") or [])[-(MAX_HISTORY - 1):]
            history.append({"status": "edited", "by": by, "at": at, "rev": rev})
            return {**current, "status": "edited", "history": history, "updated_at": at, "updated_by": by}

        records.upsert(db, row["id"], apply)
        marked.append(row["id"])
    return marked


# -- what people do: the web pages, /api/reviews and ``fieldsync review`` ------------------------
@dataclass
class Recorded:
    review: dict
    changed_state: bool


class Reviews:
    """Reading and recording reviews as a user, through the write gate like any other write."""

    def __init__(self, store: Store, gate, access: Access, audit: Audit | None = None):
        self.store = store
        self.gate = gate
        self.access = access
        self.audit = audit

    def submission(self, user: User, subid: str) -> tuple[Database, dict]:
        """The area and current winner of a submission the user may see; 404 otherwise."""
        parsed = ids.parse_doc_id(subid)
        if parsed is None or parsed.kind != ids.SUBMISSION:
            raise NotFound("missing")
        if not user.is_admin and parsed.scope not in self.access.data_scopes(user):
            raise NotFound("missing")
        if not self.store.exists(parsed.scope):
            raise NotFound("missing")
        db = self.store.open(parsed.scope)
        doc = records.read(db, subid)
        if doc is None or not self.access.visible(user, parsed.scope, doc, subid) \
                or not need_to_know(user, subid, doc, lambda cid: records.read(db, cid)):
            raise NotFound("missing")  # a referral's case this user is not on (sync.referral_cases): the same
        return db, doc

    def get(self, user: User, subid: str) -> dict | None:
        db, _ = self.submission(user, subid)
        return records.read(db, review_id(subid))

    def record(self, user: User, subid: str, *, status: str | None = None, comment: str | None = None,
               review_rev: str | None = None, submission_rev: str | None = None) -> Recorded:
        """A decision and/or a comment on a submission, as ``user``.

        ``review_rev`` and ``submission_rev`` are the revisions the person saw
        (``""`` for "no review yet"): when either changed since, nothing is
        written and ``Conflict`` says so.
        """
        if user.role not in ("coordinator", "admin"):
            raise NotFound("missing")  # workers never reach a review (see Access.write_denial)
        db, sub = self.submission(user, subid)
        if status is not None and status not in DECISIONS:
            raise BadRequest(message("decision", value=status))
        comment = comment.strip() if isinstance(comment, str) else comment
        if comment is not None and not isinstance(comment, str):
            raise BadRequest(message("comment_shape", n=1))
        if not status and not comment:
            raise BadRequest(message("nothing"))
        rid = review_id(subid)
        existing = records.read(db, rid)
        if review_rev is not None and (existing or {}).get("_rev", "") != review_rev:
            raise Conflict(message("review_changed"))
        if submission_rev is not None and sub["_rev"] != submission_rev:
            raise Conflict(message("submission_changed"))
        at = now_iso()
        doc = dict(existing) if existing else {
            "_id": rid, "type": "review", "submission": subid, "created_at": at, "comments": [], "history": []}
        doc.update(submission_author=sub.get("author"), form=sub.get("form"), form_version=sub.get("form_version"))
        doc.setdefault("status", "received")
        changed = bool(status) and status != state_of(existing)
        if status:
            doc["status"] = status
            doc["submission_rev"] = sub["_rev"]
            doc["history"] = [*doc.get("history", []), {"status": status, "by": user.name, "at": at,
                                                        "rev": sub["_rev"]}]
        if comment:
            doc["comments"] = [*doc.get("comments", []), {"by": user.name, "at": at, "text": comment}]
        doc["updated_at"], doc["updated_by"] = at, user.name
        problems = check_review(user, self.access, db.name, doc, sub, existing)
        if problems:
            raise BadRequest(_joined(problems))
        result = self.gate.write(user, db, [doc], new_edits=True, audit_reviews=False)[0]
        if result.get("error") == "conflict":
            raise Conflict(message("review_changed"))
        if "error" in result:
            raise Forbidden(result.get("reason", "forbidden"))
        doc["_rev"] = result["rev"]
        if self.audit is not None:
            self.audit.record(actor=user.name, action="review.recorded", scope=db.name, doc_id=rid,
                              submission=subid, submission_rev=sub["_rev"], status=doc["status"],
                              comment=bool(comment), rev=result["rev"])
        return Recorded(doc, changed)


def _joined(problems: list[dict]) -> Text:
    texts = {}
    for lang in ("en", "mn"):
        parts = []
        for p in problems:
            msg = p["message"]
            said = msg.texts.get(lang, str(msg)) if isinstance(msg, Text) else str(msg)
            parts.append(f"{p['field']}: {said}" if p.get("field") else said)
        texts[lang] = "; ".join(parts)
    return Text(texts)
