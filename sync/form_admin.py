"""An admin's changes to forms, each recorded in the audit trail.

The web pages and ``/api/forms`` both publish, draft and retire through here,
so that every such change says who made it; the rules themselves (a published
version never changes, the next version number, the grace period) stay in
``FormRegistry``.
"""

from __future__ import annotations

from sync import records
from sync.audit import Audit
from sync.forms import FormRegistry, form_doc_id
from sync.scopes import GLOBAL


def publish(forms: FormRegistry, audit: Audit, definition: dict, *, by: str, draft: bool = False) -> dict:
    """Store ``definition`` as a draft or a published version; raises as ``FormRegistry.publish``.

    A new version of a form whose programme module is switched off is closed at once, as the
    module's other versions are (``sync.modules``): publishing it does not reopen the module."""
    from sync.modules import FORM_MODULE, ModuleSwitch  # noqa: PLC0415 - sync.modules imports sync.forms

    before = _status(forms, definition)
    doc = forms.publish(definition, status="draft" if draft else "published")
    if draft or before != doc["status"]:  # publishing the same version again changes nothing
        audit.record(actor=by, action="form.drafted" if draft else "form.published", scope=GLOBAL,
                     doc_id=doc["_id"], form=doc["form"], version=doc["version"], before=before,
                     after=doc["status"])
    module = FORM_MODULE.get(doc["form"])
    if doc["status"] == "published" and module and module in ModuleSwitch(forms.store, forms, audit).off():
        for closed in forms.close(doc["form"], doc["version"]):
            audit.record(actor=by, action="form.closed", scope=GLOBAL, doc_id=closed["_id"], form=closed["form"],
                         version=closed["version"], module=module)
            doc = closed if closed["_id"] == doc["_id"] else doc
    return doc


def retire(forms: FormRegistry, audit: Audit, name: str, version: int | None, *, by: str,
           grace_days: int = 30) -> list[dict]:
    """Retire a form's published versions (or one); each retirement is one audit entry."""
    docs = forms.retire(name, version, grace_days=grace_days)
    for doc in docs:
        audit.record(actor=by, action="form.retired", scope=GLOBAL, doc_id=doc["_id"], form=doc["form"],
                     version=doc["version"], before="published", after="retired", grace_days=grace_days)
    return docs


def _status(forms: FormRegistry, definition: dict) -> str | None:
    name, version = definition.get("form"), definition.get("version")
    if not isinstance(name, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    current = records.read(forms.db(), form_doc_id(name, version))
    return current.get("status") if current else None
