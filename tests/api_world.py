"""A demo app to call ``/api`` on, with what the calls need made on demand: a held quarantine
entry, one that can be released, a stored submission, a document with overlapping edits.

Shared by tests/test_api_statuses.py and tests/test_api_fuzz.py. Everything goes
through HTTP, as a client would do it (the worker's device pushes to ``/sync``).
"""

from __future__ import annotations

import copy
import json
from functools import cached_property
from typing import Any

from conflict_helpers import edited, family, revision
from gate_helpers import PASSWORD, TES, basic, visit
from werkzeug.test import TestResponse

from schemas import bundled_forms

COORDINATOR = "oyunaa"  # Uvs, so bolormaa's soum
FAR = "enkhjargal"  # Övörkhangai: none of it is theirs
WORKER = "bolormaa"


class World:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._versions = 1  # household_visit versions published so far

    def call(self, method: str, path: str, user: str | None = "admin", body: Any = None, *,
             raw: bytes | str | None = None, content_type: str = "application/json") -> TestResponse:
        headers = basic(user, PASSWORD) if user else {}
        kw: dict[str, Any] = {}
        if raw is not None:
            kw = {"data": raw, "content_type": content_type}
        elif body is not None:
            kw = {"data": json.dumps(body), "content_type": content_type}
        return self.client.open(path, method=method, headers=headers, **kw)

    def push(self, docs: list[dict], new_edits: bool = True) -> list[dict]:
        resp = self.call("POST", f"/sync/{WORKER}/_bulk_docs", WORKER, {"docs": docs, "new_edits": new_edits})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.get_json()

    def entry(self, **answers: Any) -> str:
        """A fresh held quarantine entry of bolormaa's (refused for ``answers``)."""
        doc = visit(**(answers or {"household_size": 0}))
        [answer] = self.push([doc])
        assert answer.get("error") == "forbidden", answer
        return answer["quarantine"]

    def releasable(self) -> str:
        """A held entry that passes once released: it names the next version, published right after."""
        self._versions += 1
        eid = self.entry(version=self._versions)
        form = copy.deepcopy(next(f for f in bundled_forms() if f["form"] == "household_visit"))
        form["version"] = self._versions
        resp = self.call("POST", "/api/forms", "admin", form)
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)
        return eid

    @cached_property
    def submission(self) -> str:
        doc = visit()
        [answer] = self.push([doc])
        assert answer.get("ok"), answer
        return doc["_id"]

    def conflict(self) -> tuple[str, list[str], str]:
        """A document whose two device edits overlap on /remarks: its id, the revisions, one of them."""
        first = revision(family())
        self.push([first], new_edits=False)
        a = edited(first, remarks="Бат: малаа тоолсон.")
        b = edited(first, remarks="Dorj: moved to the autumn camp.")
        self.push([a], new_edits=False)
        self.push([b], new_edits=False)
        return first["_id"], [a["_rev"], b["_rev"]], b["_rev"]


__all__ = ["COORDINATOR", "FAR", "TES", "WORKER", "World"]
