"""Push and pull over a link cut at random byte offsets: fieldsync beside Apache CouchDB 3.5 (issue 17.6).

The same real PouchDB 9 device pushes the same visits (some with photos)
through tests/cutting_proxy.py, with the same cut plan (seed, number of
cuts, offsets drawn log-uniform), to ``fieldsync serve`` (SQLite) and to an
Apache CouchDB 3.5 node started from ../shared/couchdb; then a fresh device
pulls them back the same way, and whether the pulled device holds exactly the
pushed revisions is printed too. Restarts as a phone's app does
(tests/interop/cut_sync.py). Prints completion time, retries and cuts side
by side, and the ratio fieldsync / CouchDB. Asserts nothing about speed.

    .venv/bin/python bench/cut_links.py --docs 320 --cuts 60
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

import requests  # noqa: E402
from cut_sync import replicate_until_complete  # noqa: E402
from cutting_proxy import CuttingProxy  # noqa: E402
from pouch import NodeDriver  # noqa: E402
from servers import apache_couchdb_node, fieldsync_server  # noqa: E402
from submissions import inline_attachment, photo_bytes, submissions  # noqa: E402


def field_data(area: str, count: int, photo_every: int) -> list[dict]:
    docs = submissions(area, count, seed=17)
    for n, doc in enumerate(docs):
        if n % photo_every == 0:
            doc["_attachments"] = {"photo.jpg": inline_attachment(photo_bytes(30_000 + 97 * n, seed=n))}
    return docs


def run(label: str, base: str, port: int, db_path: str, driver: NodeDriver, args: argparse.Namespace,
        tmp: Path) -> dict:
    """base: the server's URL with credentials; db_path: /db/<scope> or /<db>."""
    url = base + db_path
    response = requests.put(url, timeout=30)
    assert response.status_code in (201, 202), response.text
    area = db_path.rsplit("/", 1)[1]
    count = lambda: requests.get(url, timeout=30).json()["doc_count"]  # noqa: E731
    device = driver.open_replica(tmp / f"{label}-device")
    fresh = driver.open_replica(tmp / f"{label}-fresh")
    out = {}
    try:
        assert all(r.get("ok") for r in device.bulk_docs(field_data(area, args.docs, args.photo_every)))
        for direction, replica, target in (("push", device, count), ("pull", fresh, lambda: fresh.info()["doc_count"])):
            with CuttingProxy(("127.0.0.1", port), max_offset=args.max_offset, max_cuts=args.cuts,
                              seed=args.seed) as proxy:
                through = url.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")
                result = replicate_until_complete(replica, "to" if direction == "push" else "from", through,
                                                  target_docs=target, batch_size=args.batch, deadline=args.deadline)
                out[direction] = (result.seconds, result.retries, proxy.stats.cuts,
                                  sum(a.changes_scanned for a in result.attempts))
        mine, got = device.revs(), fresh.revs()
        out["pulled_equal"] = mine == got
        if mine != got:
            print(f"{label}: pulled {len(got)} of {len(mine)}; differing: "
                  f"{[(k, mine.get(k), got.get(k)) for k in set(mine) ^ set(got) or [k for k in mine if mine[k] != got.get(k)]][:3]}")
    finally:
        device.close()
        fresh.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=320)
    parser.add_argument("--photo-every", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--cuts", type=int, default=60, help="cuts per direction")
    parser.add_argument("--max-offset", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=240)
    args = parser.parse_args()
    results = {}
    with NodeDriver() as driver, tempfile.TemporaryDirectory() as tmp:
        with fieldsync_server() as peer:
            results["fieldsync"] = run("fieldsync", peer.url_with_auth, peer.port, "/db/uvs-tes-cuts", driver,
                                       args, Path(tmp))
        with apache_couchdb_node() as couch:
            port = int(couch.rsplit(":", 1)[1])
            results["couchdb"] = run("couchdb", couch, port, "/uvs-tes-cuts", driver, args, Path(tmp))
    print(f"{args.docs} docs ({args.docs // args.photo_every} photos), batch {args.batch}, "
          f"{args.cuts} cuts per direction, seed {args.seed}")
    print(f"{'':<6}{'target':<11}{'seconds':>9}{'retries':>9}{'cuts':>6}{'changes looked at':>19}")
    for direction in ("push", "pull"):
        for target in ("fieldsync", "couchdb"):
            seconds, retries, cuts, scanned = results[target][direction]
            print(f"{direction:<6}{target:<11}{seconds:>9.1f}{retries:>9}{cuts:>6}{scanned:>19}")
            if direction == "pull":
                print(f"{'':<6}{target:<11} pulled device == pushed device: {results[target]['pulled_equal']}")
        ratio = results["fieldsync"][direction][0] / results["couchdb"][direction][0]
        print(f"{direction:<6}{'fieldsync/couchdb time':<26}{ratio:>9.2f}")


if __name__ == "__main__":
    main()
