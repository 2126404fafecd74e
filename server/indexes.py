"""Per-app objects built from the services on first use (the submission index, the reviews)."""

from __future__ import annotations

from flask import current_app

from sync.reviews import Reviews
from sync.subindex import SubmissionIndex

from .services import services


def submission_index() -> SubmissionIndex:
    """The app's submission index (it remembers the text fields of each form version)."""
    found = current_app.extensions.get("fieldsync_subindex")
    if found is None:
        svc = services()
        found = current_app.extensions["fieldsync_subindex"] = SubmissionIndex(svc.store, svc.forms)
    return found


def reviews() -> Reviews:
    svc = services()
    return Reviews(svc.store, svc.gate, svc.access, svc.audit)
