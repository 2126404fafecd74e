"""The server's calendar day is the deployment's time zone (``TZ``), as docs/deploy.md says.

Forms bound dates by ``today()`` (a visit "not after today"). A server left on
UTC in Mongolia would refuse a visit dated today that a worker made before
08:00 and synced at once. Two demo servers a whole day apart, Kiritimati
(UTC+14) and Pago Pago (UTC-11), are sent the same visit dated today in
Kiritimati: the first takes it, the second refuses it as in the future.
"""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
from gate_helpers import PASSWORD, TES, new_key
from servers import fieldsync_demo_server

from sync.demo import household_visit, submission

EARLIEST, LATEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


def push_visit_dated(zone: str, day: str) -> dict:
    data = household_visit(random.Random(4))
    data["visit_date"] = day
    doc = submission(f"{TES}:sub:{new_key()}", "household_visit", "bolormaa", data, f"{day}T09:00:00+14:00")
    with fieldsync_demo_server(extra_env={"TZ": zone}) as peer:
        resp = requests.post(f"{peer.root}/sync/bolormaa/_bulk_docs", json={"docs": [doc]},
                             auth=("bolormaa", PASSWORD), timeout=60)
    assert resp.status_code == 201, resp.text[:300]
    [result] = resp.json()
    return result


def test_today_is_the_day_in_the_servers_time_zone() -> None:
    day = datetime.now(ZoneInfo(EARLIEST)).date().isoformat()
    assert "ok" in push_visit_dated(EARLIEST, day)
    refused = push_visit_dated(LATEST, day)
    assert refused.get("error") == "forbidden" and "visit_date" in refused["reason"], refused
