"""The derived values of an area's submissions of some forms, as reports read them.

Reports of the facility programmes (WASH levels, scorecard cycles) read the
server's derived documents (``sync.derived``) and never recompute: one range
read of ``<area>:derived:`` per area, keeping the forms asked for. A derived
document that failed (``derived`` is None, ``error`` says why) is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sync import ids, records
from sync.stores.base import Store


def derived_values(store: Store, area: str, forms: Iterable[str]) -> list[dict[str, Any]]:
    """``{**derived, "about": submission id, "form": form}`` of each submission of ``forms`` in ``area``."""
    wanted = set(forms)
    if not store.exists(area):
        return []
    out = []
    for doc in records.iter_docs(store.open(area), f"{area}:{ids.DERIVED}:"):
        if doc.get("form") in wanted and isinstance(doc.get("derived"), dict):
            out.append({**doc["derived"], "about": doc.get("about"), "form": doc["form"]})
    return out


def register_names(store: Store, area: str, kind: str) -> dict[str, str]:
    """``{document id: name}`` of an area's register documents of ``kind`` (``kg``, ``fam``)."""
    if not store.exists(area):
        return {}
    return {d["_id"]: str(d.get("name") or d["_id"]) for d in records.iter_docs(store.open(area), f"{area}:{kind}:")}
