"""The table of credentials argon2 accepted, shared by the processes forked after it was made."""

from __future__ import annotations

import hashlib
import os

import pytest

from sync.accounts.verified import PROBES, VerifiedKeys


def key(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()[:16]


def test_what_is_added_is_found_and_nothing_else() -> None:
    table = VerifiedKeys()
    for n in range(100):
        table.add(key(n))
    assert all(key(n) in table for n in range(100))
    assert not any(key(n) in table for n in range(100, 1000))
    table.clear()
    assert key(1) not in table


def test_a_full_neighbourhood_evicts_one_entry_and_keeps_the_new_one() -> None:
    table = VerifiedKeys(slots=PROBES)  # every key probes the same PROBES slots
    for n in range(PROBES + 5):
        table.add(key(n))
        assert key(n) in table
    assert sum(key(n) in table for n in range(PROBES + 5)) == PROBES


def test_malformed_keys_are_refused() -> None:
    table = VerifiedKeys()
    with pytest.raises(ValueError):
        table.add(b"short")
    with pytest.raises(ValueError):
        table.add(bytes(16))  # the empty slot's value


def test_a_key_one_process_adds_is_seen_by_its_parent_and_siblings() -> None:
    table = VerifiedKeys()  # made before the fork, as fieldsync serve makes it before gunicorn's
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker that checked a password
        try:
            table.add(key(7))
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert key(7) in table
    assert key(8) not in table
