"""Login throttling on a real ``fieldsync serve`` (gunicorn, 2 worker processes, sockets): issue 17.5.

tests/test_auth.py checks the rules through Flask's test client, one process.
Served, the counters and the logins a device has shown live in the store and
must hold across worker processes, whichever one a request lands on: a guesser
at a worker's name gets growing waits (429 with Retry-After), the worker's
phone that already showed the right password keeps syncing all the while,
the right password typed after the wait works, and other workers behind the
same address (one soum office's NAT) are not slowed at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from servers import FieldsyncPeer, fieldsync_demo_server

from sync.demo import DEMO_PASSWORD


@pytest.fixture(scope="module")
def served() -> Iterator[FieldsyncPeer]:
    with fieldsync_demo_server(workers=2) as peer:
        yield peer


def test_a_guesser_waits_growing_while_the_device_and_the_office_go_on(served: FieldsyncPeer) -> None:
    replica = f"{served.root}/sync/ganzorig"
    phone = requests.Session()  # the worker's phone: it has shown her password before the guessing
    phone.auth = ("ganzorig", DEMO_PASSWORD)
    for _ in range(6):  # on both worker processes, most likely
        assert phone.get(replica).status_code == 200

    statuses, waits = [], []
    for n in range(8):
        answer = requests.get(replica, auth=("ganzorig", f"guess-{n}"), headers={"Connection": "close"})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            waits.append(int(answer.headers["Retry-After"]))
        # The phone is never made to wait, on whichever process it lands.
        assert phone.get(replica).status_code == 200, n
        # Nor is anyone else behind the same address.
        assert requests.get(f"{served.root}/sync/bolormaa", auth=("bolormaa", DEMO_PASSWORD)).status_code == 200
    assert statuses[:3] == [401, 401, 401]  # three free tries, then waits
    assert 429 in statuses[3:] and waits and waits[0] >= 1
    # The phone's password is known, so typed anywhere it passes (the guesser does not have it).
    assert requests.get(replica, auth=("ganzorig", DEMO_PASSWORD)).status_code == 200


def test_the_right_password_never_seen_before_works_after_the_wait(served: FieldsyncPeer) -> None:
    """A name whose password no device has shown yet: the server cannot tell its owner from the
    guesser during the wait, so she waits too, and gets in with the right password after it."""
    replica = f"{served.root}/sync/tsetseg"
    statuses = [requests.get(replica, auth=("tsetseg", f"guess-{n}")).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    during = requests.get(replica, auth=("tsetseg", DEMO_PASSWORD))
    assert during.status_code == 429 and int(during.headers["Retry-After"]) >= 1
    time.sleep(int(during.headers["Retry-After"]) + 0.2)
    assert requests.get(replica, auth=("tsetseg", DEMO_PASSWORD)).status_code == 200
    # ... and her right password clears the name's count: the next mistype is a plain 401.
    assert requests.get(replica, auth=("tsetseg", "typo")).status_code == 401
