"""Reads sent alongside a request's own, on a store where each read is a round trip.

On CouchDB (``Store.concurrent_reads``) a request that needs two independent
reads waited for one answer before asking the other; sent together, it waits
for the slower one only. On SQLite a read is a local call: it is made when its
answer is wanted, in the request's own thread, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sync.stores.base import Store

T = TypeVar("T")
_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():  # (made again after a fork: threads stay with the parent)
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="fieldsync-alongside"))
    return _POOL[1]


def alongside(store: Store, read: Callable[[], T]) -> Callable[[], T]:
    """``read`` started now where the store allows it; call the result for its answer (or its error)."""
    if not getattr(store, "concurrent_reads", False):
        return read
    return _pool().submit(read).result
