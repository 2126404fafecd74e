// A `fetch` for PouchDB that gzips large request bodies once the server says it
// takes them. On a 256 kbit/s link a push is its bytes: PouchDB sends photos
// base64 inline in _bulk_docs (a third more than the JPEG) and visits as JSON
// that compresses five- to tenfold; gzipped, the base64 shrinks back to about
// the JPEG's size. fieldsync answers `Accept-Encoding: gzip` (RFC 7694); until
// an answer says so, bodies go plain, so a server that cannot read them is never
// sent one. The same module drives the benchmark's Node replica
// (tests/interop/driver.js), so what is measured is what the app sends.

/** Bodies shorter than this go plain: a few hundred bytes gain nothing worth a CPU pass. */
export const GZIP_MIN_BYTES = 1024;

/** `text` (a string) as gzip bytes, by the platform's CompressionStream (browsers, Node 18+). */
export async function gzipText(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function says(response) {
  return /(^|[\s,])gzip([\s;,]|$)/i.test((response.headers && response.headers.get('Accept-Encoding')) || '');
}

/**
 * `base` (the platform's fetch by default) wrapped: a POST or PUT whose body is a
 * string of at least `minBytes` goes gzipped (Content-Encoding: gzip) once any
 * answer from the server carried `Accept-Encoding: gzip`, or from the start with
 * `always`. A 415 to a gzipped body sends it again plain, and plain from then on.
 * `wrapped.stats` counts the bodies and bytes sent either way.
 */
export function gzipFetch(base = (...args) => globalThis.fetch(...args), { always = false, minBytes = GZIP_MIN_BYTES } = {}) {
  let accepted = always;
  const stats = { gzipped: 0, plain: 0, bytesIn: 0, bytesOut: 0 };
  const usable = typeof CompressionStream === 'function';

  async function wrapped(resource, init = {}) {
    const method = String(init.method || 'GET').toUpperCase();
    const body = init.body;
    if (accepted && usable && typeof body === 'string' && body.length >= minBytes && (method === 'POST' || method === 'PUT')) {
      const headers = new Headers(init.headers || {});
      if (!headers.has('Content-Encoding')) {
        const packed = await gzipText(body);
        headers.set('Content-Encoding', 'gzip');
        const response = await base(resource, { ...init, headers, body: packed });
        if (response.status !== 415) {
          stats.gzipped += 1;
          stats.bytesIn += new TextEncoder().encode(body).length;
          stats.bytesOut += packed.length;
          return response;
        }
        accepted = false; // it does not take gzip after all: this body and the next go plain
      }
    }
    const response = await base(resource, init);
    if (typeof body === 'string') stats.plain += 1;
    if (!accepted && !always && says(response)) accepted = true;
    return response;
  }

  wrapped.stats = stats;
  wrapped.accepts = () => accepted;
  return wrapped;
}
