// Document ids the server routes without a lookup: `<area>:<kind>:<ulid>` (sync/ids.py).
// A ULID keeps ids unique across devices that never talk to each other and
// sortable by the time they were made.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const AREA_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function randomBytes(n) {
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/** A new ULID: 48 bits of milliseconds, then 80 random bits, in Crockford base32. */
export function ulid(now = Date.now(), random = randomBytes(10)) {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let rest = '';
  for (let i = 0; i < 16; i++) {
    rest = CROCKFORD[Number(bits & 31n)] + rest;
    bits >>= 5n;
  }
  return time + rest;
}

/** The id of a new document of `kind` ("sub", "fam", "kg") in `area`. */
export function docId(area, kind, key = ulid()) {
  if (!AREA_RE.test(area)) throw new Error(`not an area code: ${area}`);
  return `${area}:${kind}:${key}`;
}

/** {area, kind, key} of an id, or null. */
export function parseDocId(id) {
  const match = /^([a-z0-9][a-z0-9-]{0,62}):([a-z][a-z0-9_-]{0,31}):([^:\s][^\s]{0,200})$/.exec(id);
  return match ? { area: match[1], kind: match[2], key: match[3] } : null;
}

/** Where the server explains a refusal of `id`, and where a coordinator reviews it. */
export function feedbackId(id) {
  const parsed = parseDocId(id);
  return parsed ? `${parsed.area}:feedback:${parsed.key}` : null;
}

export function reviewId(id) {
  const parsed = parseDocId(id);
  return parsed ? `${parsed.area}:review:${parsed.key}` : null;
}

/** The device's time as ISO 8601 with its UTC offset, as `created_at` is written. */
export function isoNow(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}
