"""A two-week trip pushed over a thin link: the field app's photo resizing and push, measured (issue 18).

A worker comes back in range after two weeks: 300 household visits, 15 of them
with a photo of the dwelling. The photos are 3-4 MB camera JPEGs (4000x3000,
made here with Pillow: a ger on the steppe, see ``camera_photos``; synthetic,
said so in the output) that the field app's own resizer (fieldapp/src/photos.js,
run in Debian's chromium through Playwright, with household_visit's settings)
turns into what the app stores. A real PouchDB 9 replica (tests/interop)
holding the trip pushes it as the app does, with the app's own fetch wrapper
(fieldapp/src/gzip_fetch.js: bodies gzipped once the server says it takes
gzip) and its push batch size (fieldapp/src/push_options.js, sized by the
bytes waiting), to ``fieldsync serve`` (the demo, as the worker bolormaa,
/sync/bolormaa) through tests/slow_link.py: 256 kbit/s each way, 600 ms
round trip, shared by the replicator's connections. Printed: push time and
bytes up and down, beside Apache CouchDB 3.5 taking the same push through the
same link (the ratio): CouchDB reads gzipped bodies but does not say so, so
the app's wrapper sends it plain; it is pushed gzipped too ("always"). And
the same trip with the photos unresized: a camera photo costs minutes on this
link, so the unresized trip pushes ``--unresized`` of them (1 by default) and
the time for all 15 is extrapolated from the link's measured rate (printed as
such). ``--plain`` adds fieldsync pushed without gzip. Also the app shell's
size gzipped and its first load over the link. Asserts nothing about speed;
prints whether the push met the 60 s target.

    .venv/bin/python bench/field_link.py            # about 10 minutes on a busy 2-core machine
    .venv/bin/python bench/field_link.py --no-couchdb --unresized 0 --max-side 1024 --quality 0.7
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

import requests  # noqa: E402
from pouch import NodeDriver  # noqa: E402
from servers import apache_couchdb_node, fieldsync_demo_server  # noqa: E402
from slow_link import SlowLink  # noqa: E402

from schemas import compile_form  # noqa: E402
from sync.demo import DEMO_PASSWORD, demo_ulid, household_visit, submission  # noqa: E402

FIELDAPP = ROOT / "fieldapp"
CHROMIUM = "/usr/bin/chromium"
WORKER, AREA, CENTRE = "bolormaa", "uvs-tes", (50.47, 93.60)
TARGET_SECONDS = 60
SHELL_BUDGET = 500 * 1024


# --- the photos -------------------------------------------------------------------------

def camera_photos(count: int, seed: int = 18) -> list[bytes]:
    """``count`` 4000x3000 camera JPEGs of 3-4 MB: a ger on the steppe under a cloudy sky.

    Made to compress as a phone's photo does, not as noise does: smooth
    gradients (sky, lit hills), hard edges (the ger, its lattice, door and rope),
    soft clouds, grass texture at several scales (coarse patches to single
    blades, what survives downscaling as real detail does), a slight lens blur
    and mild sensor noise, saved at quality 92 with 4:2:0 chroma as phones save.
    An earlier version overlaid strong per-pixel noise on the whole frame, which
    resized to larger files than real photos of the kind; this one is still
    synthetic, and a real photo's size after resizing varies with its subject.
    """
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    w, h = 4000, 3000

    def layer(div: int, amp: float, sigma: float = 40) -> Image.Image:
        noise = Image.effect_noise((max(1, w // div), max(1, h // div)), sigma).resize((w, h), Image.BICUBIC)
        return Image.eval(noise, lambda v: int(128 + (v - 128) * amp))

    # Full-resolution layers are slow to draw: made once and shifted for each photo.
    blades = layer(1, 0.3)
    sensor = Image.merge("RGB", [Image.effect_noise((w, h), 5) for _ in range(3)])
    photos = []
    for n in range(count):
        rng = random.Random(seed * 1000 + n)
        sky = Image.linear_gradient("L").resize((w, h))
        image = Image.merge("RGB", [Image.eval(sky, lambda v, c=c: c - v // 4)
                                    for c in (90 + rng.randint(0, 40), 150, 225)])
        clouds = Image.effect_noise((w // 80, h // 80), 60).resize((w // 8, h // 8), Image.BICUBIC)
        clouds = clouds.filter(ImageFilter.GaussianBlur(4)).resize((w, h), Image.BICUBIC)  # soft, and quick
        image = Image.composite(Image.new("RGB", (w, h), (240, 240, 245)), image,
                                Image.eval(clouds, lambda v: max(0, v - 150) * 2))
        draw = ImageDraw.Draw(image)
        horizon = int(h * rng.uniform(0.45, 0.6))
        for _ in range(6):
            x, r = rng.randint(-w // 4, w), rng.randint(w // 6, w // 2)
            draw.ellipse([x, horizon - r // 4, x + 2 * r, horizon + r // 4], fill=(100, 105 + rng.randint(0, 30), 70))
        size = (w, h - horizon)
        near = Image.new("RGB", size, (120 + rng.randint(-20, 20), 110, 60))
        image.paste(Image.composite(near, Image.new("RGB", size, (95, 100, 55)),
                                    Image.linear_gradient("L").resize(size)), (0, horizon))
        draw = ImageDraw.Draw(image)
        cx, cy, r = rng.randint(w // 4, 3 * w // 4), horizon + h // 10, rng.randint(w // 8, w // 5)
        draw.rectangle([cx - r, cy - r // 3, cx + r, cy + r // 2], fill=(235, 232, 225))
        draw.pieslice([cx - r, cy - r, cx + r, cy + r // 3], 180, 360, fill=(245, 243, 238))
        for k in range(-6, 7):  # the lattice wall under the felt
            draw.line([cx + k * r // 7, cy - r // 3, cx + k * r // 7, cy + r // 2], fill=(200, 195, 185), width=6)
        draw.line([cx - r, cy + r // 8, cx + r, cy + r // 8], fill=(120, 80, 50), width=14)
        draw.rectangle([cx - r // 8, cy, cx + r // 8, cy + r // 2], fill=(200, 80, 40))
        texture = layer(64, 0.35)
        for grain in (layer(16, 0.3), layer(4, 0.3),
                      ImageChops.offset(blades, rng.randint(0, 400), rng.randint(0, 400))):
            texture = ImageChops.add(texture, grain, scale=1, offset=-128)
        where = Image.new("L", (w, h), 70)  # sky and hills a little, the ground fully
        ImageDraw.Draw(where).rectangle([0, horizon, w, h], fill=255)
        image = Image.composite(ImageChops.overlay(image, texture.convert("RGB")), image, where)
        image = image.filter(ImageFilter.GaussianBlur(0.7))
        shifted = ImageChops.offset(sensor, rng.randint(0, 64), rng.randint(0, 64))
        image = ImageChops.add(image, shifted, scale=1, offset=-128)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=92, subsampling=2)
        photos.append(out.getvalue())
    return photos


def resized_by_the_app(photos: list[bytes], definition: dict) -> list[bytes]:
    """The photos as the field app stores them: fieldapp/src/photos.js in chromium, the form's settings."""
    bundle = subprocess.run(
        [str(FIELDAPP / "node_modules" / ".bin" / "esbuild"), "src/photos.js", "--bundle", "--format=iife",
         "--global-name=FieldappPhotos", "--log-level=warning"],
        cwd=FIELDAPP, check=True, capture_output=True, text=True).stdout
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>resize</title>")
            page.add_script_tag(content=bundle)
            for raw in photos:
                data = page.evaluate("""async ([b64, definition]) => {
                    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                    const file = new File([bytes], 'camera.jpg', { type: 'image/jpeg' });
                    const blob = await FieldappPhotos.resizePhoto(file, FieldappPhotos.photoSettings(definition));
                    const buffer = new Uint8Array(await blob.arrayBuffer());
                    let text = ''; for (let i = 0; i < buffer.length; i += 0x8000) {
                      text += String.fromCharCode.apply(null, buffer.subarray(i, i + 0x8000)); }
                    return btoa(text); }""", [base64.b64encode(raw).decode(), definition])
                out.append(base64.b64decode(data))
        finally:
            browser.close()
    return out


# --- the trip ---------------------------------------------------------------------------

def trip(count: int, photos: list[bytes], definition: dict, ids: int) -> list[dict]:
    """``count`` valid household visits over two weeks, the photos spread evenly among them.

    The visits are the same for every seed ``ids``; the document ids differ, so
    two trips pushed to one server are two sets of new documents.
    """
    rng = random.Random(14)
    keys = random.Random(ids)
    start = date.today() - timedelta(days=15)
    every = max(1, count // max(1, len(photos)))
    docs = []
    form = compile_form(definition)
    for n in range(count):
        day = start + timedelta(days=n * 14 // count)
        data = household_visit(rng, CENTRE, day)
        doc = submission(f"{AREA}:sub:{demo_ulid(keys)}", "household_visit", WORKER, data,
                         f"{day.isoformat()}T{9 + n % 9:02d}:30:00+08:00")
        k = n // every
        if n % every == 0 and k < len(photos):
            name = f"dwelling_photo-{k:02d}.jpg"
            data["dwelling_photo"] = name
            doc["_attachments"] = {name: {"content_type": "image/jpeg",
                                          "data": base64.b64encode(photos[k]).decode()}}
        assert form.validate(data, doc.get("_attachments")) == [], (n, form.validate(data, doc.get("_attachments")))
        docs.append(doc)
    return docs


def push(driver: NodeDriver, proxy: SlowLink, remote: str, docs: list[dict], tmp: Path, label: str,
         gzip_bodies: str = "auto") -> dict:
    """The device's push of ``docs`` to ``remote`` (a URL through the proxy) as the field app pushes:
    its fetch wrapper (fieldapp/src/gzip_fetch.js; ``auto`` gzips once the server says it takes gzip,
    ``always`` from the start, ``never`` is the plain fetch) and its push batch size
    (fieldapp/src/push_options.js, sized by the bytes waiting). Seconds, bytes, docs written."""
    device = driver.open_replica(tmp / label)
    remote_options = {"native_fetch": True} if gzip_bodies == "never" else {
        "fieldapp_fetch": "always" if gzip_bodies == "always" else True}
    said = requests.get(remote, timeout=60).headers.get("Accept-Encoding") or ""
    gzipped = gzip_bodies == "always" or (gzip_bodies == "auto" and "gzip" in said)
    try:
        assert all(r.get("ok") for r in device.bulk_docs(docs))
        options = driver.call("fieldapp_push_options", db=device.handle)
        proxy.reset_counts()
        started = time.monotonic()
        report = device.push(remote, timeout=3600, remote_options=remote_options, **options)
        seconds = time.monotonic() - started
    finally:
        device.close()
    result = report["result"]
    return {"seconds": seconds, "up": proxy.up.carried, "down": proxy.down.carried,
            "written": result.get("docs_written"), "failures": result.get("doc_write_failures"),
            "connections": proxy.connections, "batch_size": options["batch_size"],
            "gzip": f"{'yes' if gzipped else 'no'} ({gzip_bodies})"}


def shell_size() -> tuple[int, int, list[str]]:
    """The app shell's files (fieldapp/dist/version.json) raw and gzipped, as the build prints them."""
    shell = json.loads((FIELDAPP / "dist" / "version.json").read_text())["shell"]
    files = sorted(p for p in (FIELDAPP / "dist").iterdir() if p.is_file())
    raw = sum(p.stat().st_size for p in files)
    gz = sum(len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in files)
    return raw, gz, shell


def first_load(proxy: SlowLink, shell: list[str]) -> tuple[float, int]:
    """Fetching the shell's files over the link as a browser's first visit (gzip accepted), one connection."""
    proxy.reset_counts()
    session = requests.Session()
    started = time.monotonic()
    for path in shell:
        answer = session.get(f"{proxy.url()}/app/{path.removeprefix('./')}", headers={"Accept-Encoding": "gzip"},
                             timeout=120)
        assert answer.status_code == 200, (path, answer.status_code)
    return time.monotonic() - started, proxy.down.carried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=300)
    parser.add_argument("--photos", type=int, default=15)
    parser.add_argument("--unresized", type=int, default=1,
                        help="unresized camera photos actually pushed (the rest extrapolated); 0 skips")
    parser.add_argument("--no-couchdb", action="store_true", help="skip the Apache CouchDB 3.5 peer")
    parser.add_argument("--plain", action="store_true",
                        help="also push the resized trip to fieldsync with bodies plain (the app before gzip)")
    parser.add_argument("--max-side", type=int, help="as a form's photos.max_side (default: household_visit's)")
    parser.add_argument("--quality", type=float, help="as a form's photos.quality (default: household_visit's)")
    parser.add_argument("--kbits", type=int, default=256)
    parser.add_argument("--rtt", type=float, default=0.6)
    args = parser.parse_args()
    if not (FIELDAPP / "dist" / "version.json").exists():
        sys.exit("build the field app first: make fieldapp")

    definition = json.loads((ROOT / "schemas" / "forms" / "household_visit.json").read_text("utf-8"))
    asked = {k: v for k, v in (("max_side", args.max_side), ("quality", args.quality)) if v is not None}
    if asked:
        definition["photos"] = {**definition.get("photos", {}), **asked}
    made = time.monotonic()
    cameras = camera_photos(args.photos)
    print(f"{len(cameras)} camera photos: {min(map(len, cameras)) / 1e6:.2f}-{max(map(len, cameras)) / 1e6:.2f} MB "
          f"(made in {time.monotonic() - made:.0f} s; synthetic: gradients, edges, grass texture at several "
          "scales, mild sensor noise, not a real camera's photos)", flush=True)
    small = resized_by_the_app(cameras, definition)
    print(f"resized by the app (fieldapp/src/photos.js in chromium, {definition.get('photos') or 'defaults'}): "
          f"{min(map(len, small)) // 1024}-{max(map(len, small)) // 1024} KB, "
          f"{sum(map(len, small)) / 1e6:.2f} MB in all", flush=True)
    resized_trip = trip(args.visits, small, definition, ids=1)
    unresized_trip = trip(args.visits, cameras[:args.unresized], definition, ids=2) if args.unresized else []
    link = f"{args.kbits} kbit/s each way, {args.rtt * 1000:.0f} ms RTT"

    rows = {}
    with NodeDriver(timeout=3700) as driver, tempfile.TemporaryDirectory() as tmp:
        with fieldsync_demo_server() as peer:
            with SlowLink(("127.0.0.1", peer.port), bits_per_second=args.kbits * 1000, rtt=args.rtt) as proxy:
                remote = f"{proxy.url(f'{WORKER}:{DEMO_PASSWORD}')}/sync/{WORKER}"
                rows["fieldsync, resized"] = push(driver, proxy, remote, resized_trip, Path(tmp), "resized")
                print(f"pushed the resized trip to fieldsync: {rows['fieldsync, resized']}", flush=True)
                if args.plain:
                    plain_trip = trip(args.visits, small, definition, ids=3)
                    rows["fieldsync, resized, plain"] = push(driver, proxy, remote, plain_trip, Path(tmp), "plain",
                                                             gzip_bodies="never")
                    print(f"pushed the resized trip plain to fieldsync: {rows['fieldsync, resized, plain']}",
                          flush=True)
                if unresized_trip:
                    rows["fieldsync, unresized"] = push(driver, proxy, remote, unresized_trip, Path(tmp), "unresized")
                    print(f"pushed the unresized trip to fieldsync: {rows['fieldsync, unresized']}", flush=True)
                raw, gz, shell = shell_size()
                load_seconds, load_bytes = first_load(proxy, shell)
        if not args.no_couchdb:
            with apache_couchdb_node() as couch:
                port = int(couch.rsplit(":", 1)[1])
                assert requests.put(f"{couch}/trip", timeout=30).status_code in (201, 202)
                with SlowLink(("127.0.0.1", port), bits_per_second=args.kbits * 1000, rtt=args.rtt) as proxy:
                    through = couch.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}") + "/trip"
                    # CouchDB reads gzipped request bodies but does not say so (no Accept-Encoding in its
                    # answers): the app's wrapper sends it plain; "always" shows what gzip would give it.
                    probe = requests.post(f"{couch}/trip/_bulk_docs", data=gzip.compress(b'{"docs": []}'),
                                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                                          timeout=30)
                    says = requests.get(f"{couch}/trip", timeout=30).headers.get("Accept-Encoding")
                    print(f"Apache CouchDB and a gzipped _bulk_docs: {probe.status_code}; says Accept-Encoding: "
                          f"{says!r}", flush=True)
                    rows["couchdb, resized"] = push(driver, proxy, through, resized_trip, Path(tmp), "couch")
                    print(f"pushed the resized trip to Apache CouchDB: {rows['couchdb, resized']}", flush=True)
                    if probe.status_code in (200, 201):
                        rows["couchdb, resized, gzip"] = push(driver, proxy, through, trip(
                            args.visits, small, definition, ids=4), Path(tmp), "couch-gzip", gzip_bodies="always")
                        print(f"pushed the resized trip gzipped to Apache CouchDB: {rows['couchdb, resized, gzip']}",
                              flush=True)

    photos_note = f"{args.photos} photos"
    batch = rows["fieldsync, resized"]["batch_size"]
    print(f"\nA two-week trip: {args.visits} household visits, {photos_note}; link {link}; PouchDB 9 pushing as "
          f"the field app does (batch {batch}, sized by bytes; bodies gzipped by fieldapp/src/gzip_fetch.js once the server "
          "says it takes gzip: auto; always: from the start; never: plain)")
    print(f"{'push':<28}{'photos':>7}{'gzipped':>13}{'seconds':>9}{'MB up':>8}{'KB down':>9}{'written':>9}{'failed':>8}")
    for label, row in rows.items():
        count = args.unresized if "unresized" in label else args.photos
        print(f"{label:<28}{count:>7}{row['gzip']:>13}{row['seconds']:>9.1f}{row['up'] / 1e6:>8.2f}"
              f"{row['down'] / 1024:>9.0f}{row['written']:>9}{row['failures']:>8}")
    ours = rows["fieldsync, resized"]
    for peer in ("couchdb, resized", "couchdb, resized, gzip"):
        if peer in rows:
            theirs = rows[peer]
            print(f"fieldsync / {peer.replace('couchdb', 'CouchDB')}: time {ours['seconds'] / theirs['seconds']:.2f}, "
                  f"bytes up {ours['up'] / theirs['up']:.2f}")
    if "fieldsync, unresized" in rows and args.unresized:
        measured = rows["fieldsync, unresized"]
        # The link's rate as measured on the unresized push; the photos not pushed cost their bytes at that rate.
        rate = measured["up"] / measured["seconds"]
        # JPEG does not shrink in gzip: each photo not pushed costs about its own bytes (gzipped base64).
        missing = sum(len(gzip.compress(base64.b64encode(p), 6)) for p in cameras[args.unresized:])
        estimate = measured["seconds"] + missing / rate
        print(f"unresized trip with all {args.photos} photos (extrapolated: {args.photos - args.unresized} more "
              f"photos, {missing / 1e6:.1f} MB gzipped base64, at the measured {rate / 1024:.1f} KB/s): "
              f"about {estimate:.0f} s, {(measured['up'] + missing) / 1e6:.1f} MB up; "
              f"resized / unresized time {ours['seconds'] / estimate:.3f}")
    verdict = "met" if ours["seconds"] < TARGET_SECONDS else "NOT met"
    print(f"target push < {TARGET_SECONDS} s: {verdict} ({ours['seconds']:.1f} s)")
    print(f"app shell: {raw / 1024:.1f} KB, {gz / 1024:.1f} KB gzipped (target < {SHELL_BUDGET // 1024} KB: "
          f"{'met' if gz < SHELL_BUDGET else 'NOT met'}); first load over the link: {load_seconds:.1f} s, "
          f"{load_bytes / 1024:.0f} KB down")


if __name__ == "__main__":
    main()
