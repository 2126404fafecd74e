"""A switched-off module's forms are not offered to a real PouchDB 9 replica, nor accepted from it.

On each store (SQLite, Apache CouchDB, a CouchDB cluster): ``fieldsync demo``,
then ``fieldsync serve`` with one worker (the admin's page and the device's push
meet the same form cache; across app servers a switch takes effect within the
store's cache time, 1 s on CouchDB). bolormaa's device pulls the forms: the
field app's own ``latestForms`` (fieldapp/src/form/model.js, run in Node on the
replica's form documents) offers ``kindergarten_wash_visit``. The admin switches
WASH off on the Admin > Modules page; after the next pull the replica holds the
form as ``closed`` and the field app no longer offers it; a visit the device
makes anyway (an app that has not pulled) is refused with the reason in both
languages. Switched on again, the form is offered after a pull and a new visit
is accepted.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from eventual import wait_until
from gate_helpers import PASSWORD, TES, new_key
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from sync.demo import submission
from sync.demo_facilities import wash_visit
from sync.modules import MODULES

pytestmark = pytest.mark.interop
FIELDAPP = Path(__file__).resolve().parents[2] / "fieldapp"
WASH = "kindergarten_wash_visit"


@pytest.fixture(params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url, workers=1) as peer:
        yield peer


def offered(replica) -> list[str]:
    """What the field app offers for a new submission: its latestForms over the replica's form documents."""
    docs = [row["doc"] for row in replica.all_docs(startkey="global:form:", endkey="global:form:\uffff",
                                                    include_docs=True)["rows"]]
    script = ("import { latestForms } from './src/form/model.js';"
              "let input = ''; process.stdin.on('data', (c) => { input += c; });"
              "process.stdin.on('end', () => console.log(JSON.stringify(latestForms(JSON.parse(input))"
              ".map((d) => d.form))));")
    out = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(docs), cwd=FIELDAPP,
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def admin_page(root: str) -> requests.Session:
    web = requests.Session()
    web.headers["Accept-Language"] = "en"
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(f"{root}/web/login", timeout=30).text).group(1)
    resp = web.post(f"{root}/web/login", data={"name": "admin", "password": PASSWORD, "csrf_token": token},
                    timeout=30, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:300]
    return web


def switch_wash(web: requests.Session, root: str, on: bool) -> None:
    page = web.get(f"{root}/web/admin/modules", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    rev = re.search(r'name="rev" value="([^"]*)"', page).group(1)
    form = {"csrf_token": token, "rev": rev, **{f"module_{m.name}": "on" for m in MODULES}}
    form["module_wash"] = "on" if on else "off"
    resp = web.post(f"{root}/web/admin/modules", data=form, timeout=60, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:500]


def new_visit() -> dict:
    # the device's clock a minute on: made after the switch, whatever the second
    created = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds")
    data = wash_visit(random.Random(5), f"{TES}:kg:{new_key()}", created[:10], quality=0.5, n=0)
    data["location"] = {"lat": 49.63, "lon": 95.81, "accuracy": 8}
    return submission(f"{TES}:sub:{new_key()}", WASH, "bolormaa", data, created)


def test_a_switched_off_modules_form_is_neither_offered_to_nor_accepted_from_a_device(demo_server, new_replica):
    root = demo_server.root
    remote = f"http://bolormaa:{PASSWORD}@127.0.0.1:{demo_server.port}/sync/bolormaa"
    device = new_replica()
    device.pull(remote)
    assert WASH in offered(device) and "scorecard_cycle" in offered(device)

    web = admin_page(root)
    switch_wash(web, root, on=False)
    form_id = f"global:form:{WASH}:1"

    def pulled() -> dict:
        device.pull(remote)
        return device.get(form_id)

    assert wait_until(pulled, lambda d: d.get("status") == "closed", what="the closed form on the replica")["closed_at"]
    shown = offered(device)
    assert WASH not in shown and "scorecard_cycle" in shown and "growth_visit" in shown

    late = new_visit()
    device.bulk_docs([late])
    pushed = device.push(remote)
    assert [d["id"] for d in pushed["denied"]] == [late["_id"]], pushed
    reason = pushed["denied"][0]
    assert f"Form '{WASH}' version 1 is closed since" in reason["reason"], reason
    assert "унтраасан" in reason["messages"]["mn"]

    switch_wash(web, root, on=True)
    assert wait_until(pulled, lambda d: d.get("status") == "published", what="the form published again")
    assert WASH in offered(device)
    again = new_visit()
    device.bulk_docs([again])
    pushed = device.push(remote)
    assert (pushed["errors"], pushed["denied"]) == ([], []) and pushed["result"]["docs_written"] >= 1
