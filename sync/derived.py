"""Derived values (growth z-scores, nutrition classes) kept beside each submission.

For a submission of a form that has them (``programmes.derived``), the server
keeps ``<area>:derived:<submission key>``:

    {"type": "derived", "about": <submission id>, "about_rev": <its revision>,
     "form", "form_version", "submission_author", "method": {...}, "derived": {...}}

A document of its own, not a ``derived`` member written into the submission:
the submission's revisions stay the worker's. Writing into it would make a
server revision on top of the worker's, so the device's next edit of the
same submission (made before it pulled) would conflict with the server; the
device would carry server values it could alter and push back; and every
recomputation would be one more revision of the worker's document. Beside it,
only the server writes the derived document (workers cannot: access refuses
the kind), so it never conflicts with a device, it replicates to whoever may
see the submission, and ``about_rev`` says which revision it describes.

The write gate calls ``after_write`` once the submissions of a batch are
stored (after the server's merge of conflicts, so the values follow the
winning revision): derived documents are made, updated when the winner
changed (an edit), and deleted with the submission. The writes that bypass the
gate call ``refresh_quietly``: a merge or a person's resolution of a conflict
(``sync.conflicts``) and a quarantine release. Failing here never fails the
write: the worker's data is already safe, and ``refresh`` (or the next edit)
makes the values again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from programmes.derived import derivation_for
from sync import ids
from sync.stores.base import Database

log = logging.getLogger("fieldsync.derived")
ATTEMPTS = 3  # a derived document written by another app server at the same moment: read again


def derived_id(submission_id: str) -> str | None:
    """``<area>:derived:<key>`` of ``<area>:sub:<key>``; None for any other id."""
    parsed = ids.parse_doc_id(submission_id)
    if parsed is None or parsed.kind != ids.SUBMISSION:
        return None
    return f"{parsed.scope}:{ids.DERIVED}:{parsed.key}"


def derived_doc(submission: dict) -> dict | None:
    """The body of a submission's derived document (no ``_id``/``_rev``); None without a derivation."""
    derivation = derivation_for(submission.get("form"))
    if derivation is None:
        return None
    body: dict[str, Any] = {
        "type": "derived",
        "about": submission["_id"],
        "about_rev": submission.get("_rev"),
        "form": submission.get("form"),
        "form_version": submission.get("form_version"),
        "submission_author": submission.get("author"),
        "method": derivation.method,
    }
    try:
        body["derived"] = derivation.derive(submission.get("data") or {})
    except (ValueError, TypeError, KeyError) as exc:
        # Kept as a fact about the submission rather than dropped: a coordinator sees why
        # there are no z-scores, and the next edit tries again.
        body["derived"] = None
        body["error"] = f"{type(exc).__name__}: {exc}"
    return body


class DerivedValues:
    """Keeps the derived documents of a scope in step with its submissions."""

    def after_write(self, db: Database, docs: list[dict], stored: list[dict]) -> None:
        """The gate's step after ``db.bulk_docs(docs)`` answered ``stored``."""
        failed = {r.get("id") for r in stored if "error" in r}
        wanted = [d["_id"] for d in docs
                  if d["_id"] not in failed and derived_id(d["_id"]) is not None
                  and (d.get("_deleted") or derivation_for(d.get("form")) is not None)]
        if not wanted:
            return
        try:
            self.refresh(db, wanted)
        except Exception:  # the submissions are stored; their values can be made again
            log.exception("could not update the derived values of %d submissions in %s",
                          len(wanted), db.name)

    def refresh_quietly(self, db: Database, docids: Iterable[str]) -> None:
        """``refresh`` for writes made outside the gate (a merge, a release); never raises."""
        wanted = [d for d in docids if derived_id(d) is not None]
        if not wanted:
            return
        try:
            self.refresh(db, wanted)
        except Exception:  # the write is done; the values follow on the next refresh
            log.exception("could not update the derived values of %s", ", ".join(wanted))

    def refresh(self, db: Database, submission_ids: Iterable[str]) -> dict[str, str]:
        """Make each submission's derived document match its winning revision.

        Returns ``{derived id: what happened}`` (``written``, ``deleted``,
        ``unchanged``); documents that kept changing under another writer are
        left for the next refresh.
        """
        pending = list(dict.fromkeys(s for s in submission_ids if derived_id(s)))
        done: dict[str, str] = {}
        for _ in range(ATTEMPTS):
            if not pending:
                break
            pending = self._refresh_once(db, pending, done)
        if pending:
            log.warning("derived values of %s kept changing; left for the next refresh", pending)
        return done

    def backfill(self, db: Database, *, batch: int = 200) -> dict[str, int]:
        """Refresh every submission of ``db`` (for data stored before, or a new method)."""
        counts: dict[str, int] = {}
        prefix = f"{db.name}:{ids.SUBMISSION}:"
        page: list[str] = []
        for row in db.all_docs(startkey=prefix, endkey=prefix + "\uffff"):
            page.append(row["id"])
            if len(page) >= batch:
                self._count(self.refresh(db, page), counts)
                page = []
        if page:
            self._count(self.refresh(db, page), counts)
        return counts

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _count(done: dict[str, str], counts: dict[str, int]) -> None:
        for outcome in done.values():
            counts[outcome] = counts.get(outcome, 0) + 1

    def _refresh_once(self, db: Database, sub_ids: list[str], done: dict[str, str]) -> list[str]:
        dids = {s: derived_id(s) for s in sub_ids}
        found: dict[str, dict | None] = {}
        for row in db.all_docs(keys=[*sub_ids, *dids.values()], include_docs=True):
            found[row["key"]] = row.get("doc")  # None: missing or deleted
        writes: list[dict] = []
        about: dict[str, str] = {}
        for sid, did in dids.items():
            winner, current = found.get(sid), found.get(did)
            body = derived_doc(winner) if winner is not None else None
            if body is None:
                if current is None:
                    continue  # nothing derived, nothing to remove
                writes.append({"_id": did, "_rev": current["_rev"], "_deleted": True,
                               "type": "derived", "about": sid, "form": current.get("form"),
                               "submission_author": current.get("submission_author")})
                about[did] = sid
                continue
            if current is not None and _same(current, body):
                done[did] = "unchanged"
                continue
            doc = {"_id": did, **body}
            if current is not None:
                doc["_rev"] = current["_rev"]
            writes.append(doc)
            about[did] = sid
        if not writes:
            return []
        retry = []
        results = {r["id"]: r for r in db.bulk_docs(writes, new_edits=True)}
        for doc in writes:
            result = results.get(doc["_id"], {"error": "unknown", "reason": "no answer"})
            if "error" in result:
                if result["error"] == "conflict":
                    retry.append(about[doc["_id"]])
                else:
                    log.error("could not write %s: %s", doc["_id"], result)
                continue
            done[doc["_id"]] = "deleted" if doc.get("_deleted") else "written"
        return retry


def _same(current: dict, body: dict) -> bool:
    return {k: v for k, v in current.items() if not k.startswith("_")} == body
