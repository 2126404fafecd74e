"""MIME multipart as CouchDB speaks it.

The CouchDB replicator pushes documents with attachments as
``multipart/related`` (the JSON document first, then one part per attachment
marked ``"follows": true``) and pulls ``open_revs`` as ``multipart/mixed``
(one part per revision; a revision carrying attachment bytes is itself a
nested ``multipart/related``). Attachment bytes travel raw, not base64, which
is a third less data on a slow link.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Iterator

import orjson
from flask import current_app

from sync.errors import BadRequest, TooLarge

from .jsonio import dumps

_PARAM = re.compile(r';\s*([a-zA-Z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)')


def content_type_params(value: str) -> tuple[str, dict[str, str]]:
    main = value.split(";", 1)[0].strip().lower()
    params = {}
    for key, val in _PARAM.findall(value):
        if val.startswith('"'):
            val = val[1:-1].replace('\\"', '"')
        params[key.lower()] = val
    return main, params


def parse_parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart body into ``(headers, content)`` pairs; 400 if malformed."""
    if not boundary or len(boundary) > 200:
        raise BadRequest("multipart body needs a boundary")
    delim = b"--" + boundary.encode("latin-1")
    start = body.find(delim)
    if start < 0:
        raise BadRequest("multipart body has no parts")
    parts = []
    pos = start + len(delim)
    while True:
        if body[pos : pos + 2] == b"--":
            return parts
        nl = body.find(b"\n", pos)
        if nl < 0:
            raise BadRequest("multipart body ends inside a part")
        pos = nl + 1
        end = body.find(b"\r\n" + delim, pos)
        sep = 2
        if end < 0:
            end = body.find(b"\n" + delim, pos)
            sep = 1
        if end < 0:
            raise BadRequest("multipart body is missing its closing boundary")
        raw = body[pos:end]
        head_end = raw.find(b"\r\n\r\n")
        skip = 4
        if head_end < 0:
            head_end, skip = raw.find(b"\n\n"), 2
        if raw.startswith(b"\r\n"):
            head_end, skip = 0, 2
        elif raw.startswith(b"\n"):
            head_end, skip = 0, 1
        if head_end < 0:
            raise BadRequest("multipart part has no header end")
        headers = {}
        for line in raw[:head_end].decode("latin-1").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        parts.append((headers, raw[head_end + skip :]))
        pos = end + sep + len(delim)


def _filename(headers: dict[str, str]) -> str | None:
    disp = headers.get("content-disposition")
    if not disp:
        return None
    _, params = content_type_params("x" + disp[disp.find(";"):] if ";" in disp else "x")
    name = params.get("filename")
    if name is None:
        return None
    try:
        return name.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return name


def parse_related_doc(body: bytes, content_type: str) -> dict:
    """A ``multipart/related`` document write: JSON first, then attachment parts.

    Parts are matched to ``follows`` attachments by their Content-Disposition
    filename when given, otherwise in the order the JSON lists them.
    """
    _, params = content_type_params(content_type)
    parts = parse_parts(body, params.get("boundary", ""))
    if not parts:
        raise BadRequest("multipart document has no JSON part")
    try:
        doc = orjson.loads(parts[0][1])
    except orjson.JSONDecodeError:
        raise BadRequest("the first part of a multipart document must be JSON") from None
    if not isinstance(doc, dict):
        raise BadRequest("the first part of a multipart document must be a JSON object")
    atts = doc.get("_attachments") or {}
    if not isinstance(atts, dict):
        raise BadRequest("_attachments must be an object")
    following = [n for n, a in atts.items() if isinstance(a, dict) and a.get("follows")]
    rest = parts[1:]
    if len(rest) != len(following):
        raise BadRequest(
            f"multipart document names {len(following)} following attachments but carries {len(rest)}"
        )
    by_name = {}
    unnamed = []
    for headers, content in rest:
        name = _filename(headers)
        if name is not None and name in following and name not in by_name:
            by_name[name] = content
        else:
            unnamed.append(content)
    for name in following:
        data = by_name.get(name)
        if data is None:
            if not unnamed:
                raise BadRequest(f"no part carries attachment {name!r}")
            data = unnamed.pop(0)
        att = atts[name]
        data = _decode(name, data, att.pop("encoding", None))
        att.pop("encoded_length", None)
        length = att.get("length")
        if isinstance(length, int) and length != len(data):
            raise BadRequest(f"attachment {name!r} is {len(data)} bytes, the document says {length}")
        att["data"] = data
    return doc


def _decode(name: str, data: bytes, encoding: object) -> bytes:
    """Undo ``"encoding": "gzip"``: the CouchDB replicator pushes compressible
    attachments as CouchDB stores them, and ``length`` is the decoded size."""
    if encoding in (None, "identity"):
        return data
    if encoding != "gzip":
        raise BadRequest(f"attachment {name!r}: unsupported encoding {encoding!r}")
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 64 * 1024 * 1024
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise BadRequest(f"attachment {name!r} is not valid gzip data") from None
    if len(out) > limit:
        raise TooLarge("an attachment is larger than this server accepts")
    if not inflater.eof:
        raise BadRequest(f"attachment {name!r} is not valid gzip data")
    return out


def new_boundary() -> str:
    return uuid.uuid4().hex


def related_parts(doc: dict, boundary: str) -> Iterator[bytes]:
    """A document with attachment bytes as a ``multipart/related`` body."""
    atts = doc.get("_attachments") or {}
    data: list[tuple[str, dict, bytes]] = []
    if atts:
        meta_out = {}
        for name, att in atts.items():
            if "data" in att:
                meta = {k: v for k, v in att.items() if k != "data"}
                meta["follows"] = True
                data.append((name, meta, att["data"]))
                meta_out[name] = meta
            else:
                meta_out[name] = att
        doc = {**doc, "_attachments": meta_out}
    b = boundary.encode()
    yield b"--" + b + b"\r\nContent-Type: application/json\r\n\r\n" + dumps(doc)
    for name, meta, blob in data:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8")
        yield (
            b"\r\n--" + b + b'\r\nContent-Disposition: attachment; filename="' + quoted + b'"\r\n'
            + b"Content-Type: " + meta.get("content_type", "application/octet-stream").encode("latin-1", "replace")
            + b"\r\nContent-Length: " + str(len(blob)).encode() + b"\r\n\r\n"
        )
        yield bytes(blob)
    yield b"\r\n--" + b + b"--"


def has_att_data(doc: dict) -> bool:
    return any("data" in a for a in (doc.get("_attachments") or {}).values())


def mixed_open_revs(results: list[dict], boundary: str) -> Iterator[bytes]:
    """``open_revs`` as ``multipart/mixed``: one part per revision, in order."""
    b = boundary.encode()
    for item in results:
        yield b"--" + b + b"\r\n"
        if "ok" in item and has_att_data(item["ok"]):
            inner = new_boundary()
            yield b'Content-Type: multipart/related; boundary="' + inner.encode() + b'"\r\n\r\n'
            yield from related_parts(item["ok"], inner)
            yield b"\r\n"
        elif "ok" in item:
            yield b"Content-Type: application/json\r\n\r\n" + dumps(item["ok"]) + b"\r\n"
        else:
            yield b'Content-Type: application/json; error="true"\r\n\r\n' + dumps(item) + b"\r\n"
    yield b"--" + b + b"--"
