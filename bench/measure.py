"""What the replication benchmarks measure besides wall time: process-tree CPU and
RSS (psutil), and one replication timed and checked (bench/replication.py,
bench/couch_gateway.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    """A process and its living descendants (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """RSS of a process and all its descendants, in bytes (0 if it is gone)."""
    total = 0
    for proc in _tree(pid):
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living descendants."""
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class PeakRss:
    """Samples a process tree's RSS in the background and keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.start = tree_rss(pid)
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(label: str, run: Callable[[], dict[str, Any]], expected: int) -> float:
    """Run one replication; seconds taken, refusing a run that lost or refused documents."""
    started = time.perf_counter()
    report = run()
    elapsed = time.perf_counter() - started
    result = report["result"]
    if report["errors"] or report["denied"] or result["docs_written"] != expected:
        raise SystemExit(f"{label}: wrote {result['docs_written']}/{expected} docs, errors={report['errors'][:3]} "
                         f"denied={[d.get('reason') for d in report['denied'][:3]]}")
    return elapsed
