"""Photos of a submission: a small thumbnail in the page, the full picture on a click.

A phone photo is 1-4 MB, minutes over a 256 kbit/s link, so the page shows
thumbnails made here (Pillow; JPEG is decoded at a reduced scale, so making
one costs a few milliseconds) of at most 320 pixels, ~15 KB. The store keeps
attachments by digest, so the digest is the ETag: a browser asks again only
with ``If-None-Match`` and gets ``304``, and nothing is kept on the server
(app servers keep no state outside the store).
"""

from __future__ import annotations

import io

from flask import Response, request
from PIL import Image, UnidentifiedImageError

from sync.errors import NotFound
from sync.stores.base import Database

THUMB_PIXELS = 320
INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp"}  # not SVG: it can carry scripts
MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


def send(db: Database, docid: str, name: str, sub: dict, *, thumbnail: bool) -> Response:
    meta = (sub.get("_attachments") or {}).get(name)
    if not isinstance(meta, dict):
        raise NotFound("missing")
    etag = f'"{meta.get("digest", "")}-{"t" if thumbnail else "f"}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    info, data = db.get_attachment(docid, name, sub.get("_rev"))
    content_type = info.get("content_type") or "application/octet-stream"
    if content_type not in INLINE:
        # Only pictures are shown inline; anything else is offered as a download.
        headers["Content-Disposition"] = "attachment"
        return Response(data, mimetype="application/octet-stream", headers=headers)
    if thumbnail:
        small = _thumbnail(data)
        if small is not None:
            return Response(small, mimetype="image/jpeg", headers=headers)
    return Response(data, mimetype=content_type, headers=headers)


def _thumbnail(data: bytes) -> bytes | None:
    """A JPEG of at most THUMB_PIXELS a side, or None when the bytes are no picture Pillow reads."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                return None
            img.draft("RGB", (THUMB_PIXELS, THUMB_PIXELS))  # JPEG: decode at 1/2..1/8 scale
            img = img.convert("RGB")
            img.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
            out = io.BytesIO()
            img.save(out, "JPEG", quality=75, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
