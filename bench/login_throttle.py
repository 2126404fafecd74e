"""What a password guesser gets against one name, and what honest users at its address still get.

An attacker behind a soum centre's NAT address guesses one worker's password
as fast as the server lets it: it sends a guess, and on ``429`` waits exactly
the ``Retry-After`` it was given (the best it can do; sending sooner is
refused unread). Meanwhile, from the same address, every five minutes a
worker who has never logged in before types their right password, and the
attacked worker's own phone syncs with the credentials it has always used.

The app is the real one (``server.create_app``, SQLite store, argon2); only the
clock the login counters read is simulated, so that hours of attack run in
seconds. Prints guesses checked per hour, and how many honest logins got in.

    .venv/bin/python bench/login_throttle.py [--hours 3]
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import sync.accounts.throttle as throttle_module  # noqa: E402
from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402

NAT = "10.20.30.40"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=3)
    args = parser.parse_args()
    clock = Clock()
    throttle_module.now = clock  # the counters' "now": simulated time
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp) / "data", secret_key="bench", admin=("admin", "admin-pass-1")))
        svc = app.extensions["fieldsync"]
        svc.areas.add("uvs-tes", name_en="Tes soum", level="soum", holds_data=True)
        svc.users.add("saraa", "worker", ["uvs-tes"], "saraa-password-1")
        honest_every = 300
        fresh = [f"worker{i}" for i in range(args.hours * 3600 // honest_every)]
        for name in fresh:
            svc.users.add(name, "worker", ["uvs-tes"], f"{name}-password")
        attacker = app.test_client()
        attacker.environ_base["REMOTE_ADDR"] = NAT
        phone = app.test_client()
        phone.environ_base["REMOTE_ADDR"] = NAT
        assert phone.get("/sync/saraa", headers=basic("saraa", "saraa-password-1")).status_code == 200

        start = clock.at
        checked_per_hour = [0] * args.hours
        refused_unread = 0
        honest = {"fresh_ok": 0, "fresh_tries": 0, "phone_ok": 0, "phone_tries": 0}
        next_honest = honest_every
        guess = 0
        while (elapsed := (clock.at - start).total_seconds()) < args.hours * 3600:
            if elapsed >= next_honest:
                next_honest += honest_every
                name = fresh[honest["fresh_tries"]]
                worker = app.test_client()
                worker.environ_base["REMOTE_ADDR"] = NAT
                ok = worker.post("/_session", json={"name": name, "password": f"{name}-password"}).status_code
                honest["fresh_tries"] += 1
                honest["fresh_ok"] += ok == 200
                honest["phone_tries"] += 1
                honest["phone_ok"] += phone.get(
                    "/sync/saraa", headers=basic("saraa", "saraa-password-1")).status_code == 200
            guess += 1
            keys = {"name": "saraa", "addr": NAT}
            before = svc.auth.throttle.status(keys).name_failures
            answer = attacker.get("/sync/saraa", headers=basic("saraa", f"guess-{guess:06d}"))
            assert answer.status_code in (401, 429), answer.status_code
            if svc.auth.throttle.status(keys).name_failures > before:
                checked_per_hour[int(elapsed // 3600)] += 1  # the password was looked at
            else:
                refused_unread += 1
            clock.advance(int(answer.headers["Retry-After"]) if answer.status_code == 429 else 0.2)
        print(f"attacker against one name, {args.hours} h of simulated time, waiting out every Retry-After:")
        for hour, count in enumerate(checked_per_hour, 1):
            print(f"  hour {hour}: {count} guesses checked")
        print(f"  guesses refused unread: {refused_unread}")
        print(f"honest logins from the attacker's address (every {honest_every // 60} min):")
        print(f"  first-time logins of other workers: {honest['fresh_ok']}/{honest['fresh_tries']} got in")
        print(f"  the attacked worker's own phone:     {honest['phone_ok']}/{honest['phone_tries']} got in")
        print("before issue 17: 10 guesses then 429 for 15 min for everyone, the phone included "
              "(40 guesses/hour, 0 honest logins of that name)")


if __name__ == "__main__":
    main()
