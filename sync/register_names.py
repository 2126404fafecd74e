"""Names of an area's register entries (kindergartens, families), for pages that list them by id."""

from __future__ import annotations

from sync import records
from sync.stores.base import Store


def register_names(store: Store, area: str, kind: str) -> dict[str, str]:
    """``{document id: name}`` of an area's register documents of ``kind`` (``kg``, ``fam``)."""
    if not store.exists(area):
        return {}
    return {d["_id"]: str(d.get("name") or d["_id"]) for d in records.iter_docs(store.open(area), f"{area}:{kind}:")}
