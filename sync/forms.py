"""Form versions as documents of the ``global`` scope, and the check a submission passes.

Each version is its own document, ``global:form:<name>:<version>``, so that
devices replicate every version they may still hold submissions for, and a new
version never touches an old one. A published version's fields never change;
only its status may move on to ``retired``, or to ``closed`` and back while
its programme module is switched off (``sync.modules``): a closed version is
not offered to devices for new submissions (the field app offers published
versions only) and the gate refuses one started after ``closed_at``, but its
submissions are kept, shown and exported as before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from schemas import FormDefinitionError, compile_form, load_definition, submission_deadline
from schemas.compiler import SubmissionValidator
from sync import records
from sync.clock import now, now_iso, parse_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.gate.messages import text
from sync.quiet import QUIET
from sync.scopes import GLOBAL
from sync.stores.base import Database, Store

FORM_PREFIX = "global:form:"
_DOC_FIELDS = ("type", "published_at", "updated_at")


def form_doc_id(name: str, version: int) -> str:
    return f"{FORM_PREFIX}{name}:{version}"


def definition_of(doc: dict) -> dict:
    """The form definition inside a form document (without CouchDB and bookkeeping fields)."""
    return {k: v for k, v in doc.items() if not k.startswith("_") and k not in _DOC_FIELDS}


class FormRegistry:
    def __init__(self, store: Store, *, cache_seconds: float = 0):
        self.store = store
        self.cache_seconds = cache_seconds
        self._sensitive: tuple[object, frozenset[str]] | None = None
        self._snapshot: tuple[object, dict[str, dict]] | None = None
        self._checked_at = float("-inf")  # when the snapshot was last compared with the store
        # Compiled validators by (form document id, _rev): a revision's content never changes.
        self._validators: dict[tuple[str, str], object] = {}
        # Versions the snapshot lacked, read by id: document id -> (when, the document or None).
        self._looked_up: dict[str, tuple[float, dict | None]] = {}

    def sensitive_forms(self) -> frozenset[str]:
        """Names of forms any version of which is sensitive (reused while ``global`` is unchanged)."""
        docs = self.snapshot()
        cached = self._sensitive
        if cached and cached[0] is docs:
            return cached[1]
        names = frozenset(d["form"] for d in docs.values() if d.get("sensitive"))
        self._sensitive = (docs, names)
        return names

    def db(self) -> Database:
        return self.store.ensure(GLOBAL)

    # -- admin operations -----------------------------------------------------
    def publish(self, definition: dict, *, status: str = "published") -> dict:
        """Check and store a form version; refuse to change a published one."""
        definition = dict(definition)
        definition["status"] = status
        normalized = load_definition(definition)
        docid = form_doc_id(normalized["form"], normalized["version"])
        db = self.db()
        current = records.read(db, docid)
        if current is not None and current.get("status") != "draft":
            if definition_of(current) | {"status": current["status"]} == normalized | {
                "status": current["status"]
            }:
                return current  # the same version published again: nothing to do
            raise Conflict(
                f"Version {normalized['version']} of form {normalized['form']!r} is already "
                f"{current.get('status')}; publish it as version {self.next_version(normalized['form'])}"
            )
        doc = {"_id": docid, "type": "form", **normalized, "updated_at": now_iso()}
        if status == "published":
            doc["published_at"] = now_iso()
        if current is not None:
            doc["_rev"] = current["_rev"]
        records.write(db, doc)
        self._changed()
        return doc

    def retire(self, name: str, version: int | None = None, *, grace_days: int = 30) -> list[dict]:
        """Stop new submissions of a form (all its published versions unless one is named)."""
        if grace_days < 0:
            raise BadRequest("grace days cannot be negative")
        targets = [d for d in self.versions(name) if d.get("status") == "published"]
        if version is not None:
            targets = [d for d in targets if d["version"] == version]
        if not targets:
            raise NotFound(f"no published version of form {name!r}" + (f" v{version}" if version else ""))
        out = []
        for doc in targets:
            doc = dict(doc)
            doc.update(status="retired", retired_at=now_iso(), grace_days=grace_days, updated_at=now_iso())
            records.write(self.db(), doc)
            out.append(doc)
        self._changed()
        return out

    def close(self, name: str, version: int | None = None) -> list[dict]:
        """Close a form's published versions, or one (its module was switched off); those closed."""
        out = []
        for doc in self._current(name, version):
            if doc.get("status") == "published":
                doc = {**doc, "status": "closed", "closed_at": now_iso(), "updated_at": now_iso()}
                records.write(self.db(), doc)
                out.append(doc)
        self._changed()
        return out

    def reopen(self, name: str) -> list[dict]:
        """Publish a form's closed versions again (its module was switched on); the versions reopened."""
        out = []
        for doc in self._current(name, None):
            if doc.get("status") == "closed":
                doc = {k: v for k, v in doc.items() if k != "closed_at"} | {"status": "published",
                                                                            "updated_at": now_iso()}
                records.write(self.db(), doc)
                out.append(doc)
        self._changed()
        return out

    def _current(self, name: str, version: int | None) -> list[dict]:
        """The form's versions (or one) each read by id: a range read on a CouchDB cluster may come
        from a copy that lags a status just written (a module switched off and on again at once)."""
        if version is not None:
            docids = [form_doc_id(name, version)]
        else:
            docids = [d["_id"] for d in self.versions(name)]
        return [doc for doc in (records.read(self.db(), docid) for docid in docids) if doc is not None]

    # -- reading ----------------------------------------------------------------
    def all(self) -> Iterator[dict]:
        return records.iter_docs(self.db(), FORM_PREFIX)

    def versions(self, name: str) -> list[dict]:
        return list(records.iter_docs(self.db(), f"{FORM_PREFIX}{name}:"))

    def next_version(self, name: str) -> int:
        return max((d["version"] for d in self.versions(name)), default=0) + 1

    def _changed(self) -> None:
        """A form written through this registry: every version it reads next is read again
        (the list, even where global's sequence is the one it was read at, and by id)."""
        self._checked_at = float("-inf")
        self._snapshot = None
        self._looked_up.clear()

    def get(self, name: str, version: int) -> dict | None:
        """Form version ``name`` ``version`` (any status), or None.

        One the snapshot lacks is read by id (``_read_by_id``), at most once a second: a
        version just published may be missing from a range read on a CouchDB cluster, and
        a page must not show a submission of it without its labels (a clean-clone run did,
        right after a quarantined visit was released against a new version).
        """
        docid = form_doc_id(name, version)
        found = self.snapshot().get(docid)
        if found is None:
            found = self._read_by_id(docid, time.monotonic() - 1.0)
        return found

    def snapshot(self, *, max_age: float | None = None) -> dict[str, dict]:
        """Every form document by id, re-read only when ``global`` has changed.

        A batch of a hundred submissions then costs one sequence check, not a
        hundred reads; published versions are immutable, and a retirement
        moves the sequence. With ``cache_seconds`` (the CouchDB store's default)
        even that check is skipped for so long after the last one, so a
        retirement made through another app server takes effect there within
        that bound; ``check_submission`` reads a version it does not know by
        id before it refuses it, so a form just published, here or elsewhere,
        is never refused for being stale.
        """
        max_age = self.cache_seconds if max_age is None else max_age
        cached = self._snapshot
        if cached is not None and time.monotonic() - self._checked_at < max_age:
            return cached[1]
        db = self.db()
        seq = QUIET.update_seq(self.store, GLOBAL, db.update_seq)  # not asked while global is unchanged
        if seq is None:
            seq = db.update_seq()
        self._checked_at = time.monotonic()
        if cached is not None and cached[0] == seq:
            return cached[1]
        docs = {d["_id"]: d for d in self.all()}
        self._snapshot = (seq, docs)
        self._validators = {}  # forget revisions that are gone (edited drafts, retirements)
        return docs

    def warm(self) -> int:
        """Compile every published version's validator now; how many were compiled.

        An app server calls this as it starts, so that the first batch a
        replica pushes afterwards does not wait for compiling (tens of
        milliseconds a form version, in each worker process). A stored version
        that no longer compiles is left for ``check_submissions`` to report.
        """
        compiled = 0
        for form in self.snapshot().values():
            if form.get("status") != "published":
                continue
            try:
                self._validator(form)
            except FormDefinitionError:
                continue
            compiled += 1
        return compiled

    def _validator(self, form: dict):
        key = (form["_id"], form["_rev"])
        validator = self._validators.get(key)
        if validator is None:
            # With its _rev the compiled validator is found without hashing the definition.
            validator = compile_form({**definition_of(form), "_rev": form["_rev"]})
            self._validators[key] = validator
        return validator

    # -- the check every submission passes ----------------------------------------
    def check_submission(self, doc: dict, *, lang: str = "en", forms: dict[str, dict] | None = None,
                         arrived: float | None = None) -> list[dict]:
        """Everything that stops this submission from being stored: ``[{"field", "message"}]``.

        ``forms`` is a ``snapshot()`` taken once for a whole batch, ``arrived``
        the ``time.monotonic()`` at which that batch came in.
        """
        return self.check_submissions([doc], lang=lang, forms=forms, arrived=arrived)[0]

    def check_submissions(self, docs: list[dict], *, lang: str = "en", forms: dict[str, dict] | None = None,
                          arrived: float | None = None) -> list[list[dict]]:
        """``check_submission`` for each of ``docs``, the answers of each form version
        checked together (``SubmissionValidator.validate_many``)."""
        out: list[list[dict]] = [[] for _ in docs]
        by_validator: dict[SubmissionValidator, list[int]] = {}
        for i, doc in enumerate(docs):
            found = self._form_of(doc, forms, arrived)
            if isinstance(found, list):
                out[i] = found
            else:
                by_validator.setdefault(found, []).append(i)
        for validator, where in by_validator.items():
            checked = validator.validate_many(
                [(docs[i].get("data"), docs[i].get("_attachments")) for i in where], lang=lang)
            for i, problems in zip(where, checked, strict=True):
                out[i] = problems
        return out

    def _read_by_id(self, docid: str, arrived: float | None) -> dict | None:
        """Form document ``docid``, which the snapshot lacks (or holds as a draft), read by id.

        It may have been published a moment ago, through another app server or this
        one. The snapshot is a range read, which on a CouchDB cluster may come from a
        copy that has not got that write yet; a read by id waits for a quorum of copies
        and so sees every acknowledged write. A submission is never refused for a
        stale read. Asked once per batch (``arrived``) for each version not known.
        """
        arrived = time.monotonic() if arrived is None else arrived
        known = self._looked_up.get(docid)
        if known is not None and known[0] >= arrived:
            return known[1]
        if len(self._looked_up) > 1000:  # ids no form ever had, from a confused device
            self._looked_up.clear()
        form = records.read(self.db(), docid)
        self._looked_up[docid] = (time.monotonic(), form)
        if form is not None and form.get("status") != "draft":
            # The snapshot is behind: read it again next time, even where global's sequence is
            # the one it was read at (a lagging copy answered the range read after the write).
            self._checked_at = float("-inf")
            self._snapshot = None
        return form

    def _form_of(self, doc: dict, forms: dict[str, dict] | None,
                 arrived: float | None) -> SubmissionValidator | list[dict]:
        """The validator of the form version a submission names, or why it cannot be used."""
        name, version = doc.get("form"), doc.get("form_version")
        if not isinstance(name, str) or not name:
            return [{"field": "form", "message": text("form_missing")}]
        if not isinstance(version, int) or isinstance(version, bool):
            return [{"field": "form_version", "message": text("version_missing")}]
        docid = form_doc_id(name, version)
        form = (forms if forms is not None else self.snapshot()).get(docid)
        if form is None or form.get("status") == "draft":
            form = self._read_by_id(docid, arrived)
        if form is None or form.get("status") == "draft":
            return [{"field": "form_version", "message": text("no_version", name=name, version=version)}]
        if form.get("status") == "retired":
            deadline = submission_deadline(definition_of(form))
            created = parse_iso(doc.get("created_at"))
            retired_at = parse_iso(form.get("retired_at"))
            in_flight = created is not None and retired_at is not None and created <= retired_at
            if deadline is not None and now() > deadline and not in_flight:
                return [{"field": "form_version",
                         "message": text("retired", name=name, version=version,
                                         date=form.get("retired_at", "")[:10])}]
        if form.get("status") == "closed":
            created, closed_at = parse_iso(doc.get("created_at")), parse_iso(form.get("closed_at"))
            if created is None or closed_at is None or created > closed_at:  # started after the switch-off
                return [{"field": "form_version",
                         "message": text("closed", name=name, version=version,
                                         date=str(form.get("closed_at", ""))[:10])}]
        try:
            return self._validator(form)
        except FormDefinitionError as exc:  # a stored form that no longer compiles is our bug
            return [{"field": "form", "message": text("unusable", name=name, version=version, error=exc)}]

