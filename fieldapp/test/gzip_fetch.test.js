// The push's gzip wrapper against a real HTTP server (Node's http, inflating with
// zlib): plain until the server says Accept-Encoding: gzip, then large POST/PUT
// bodies gzipped and inflating to exactly what PouchDB gave; small bodies and
// GETs plain; a 415 sends the body again plain.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { GZIP_MIN_BYTES, gzipFetch, gzipText } from '../src/gzip_fetch.js';

let server;
let base;
const seen = [];
let advertise = true;
let refuseGzip = false;

before(async () => {
  server = createServer((req, res) => {
    const parts = [];
    req.on('data', (part) => parts.push(part));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const coding = req.headers['content-encoding'] || null;
      seen.push({ method: req.method, coding, raw: raw.length, body: coding === 'gzip' ? gunzipSync(raw).toString() : raw.toString() });
      const headers = { 'Content-Type': 'application/json' };
      if (advertise) headers['Accept-Encoding'] = 'gzip';
      if (coding && refuseGzip) {
        res.writeHead(415, headers).end('{"error":"bad_content_type"}');
      } else {
        res.writeHead(200, headers).end('{"ok":true}');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

const batch = JSON.stringify({
  docs: Array.from({ length: 50 }, (_, n) => ({ _id: `uvs-tes:sub:${n}`, data: { head_name: 'Батбаяр', members: n } })),
});

test('gzipText gives gzip that inflates to the UTF-8 of the text', async () => {
  const packed = await gzipText(batch);
  assert.equal(gunzipSync(packed).toString(), batch);
  assert.ok(packed.length < batch.length / 4, `${packed.length} of ${batch.length}`);
});

test('plain until the server says it takes gzip, then large bodies gzipped', async () => {
  seen.length = 0;
  advertise = true;
  refuseGzip = false;
  const fetch = gzipFetch();
  await fetch(`${base}/db/_bulk_docs`, { method: 'POST', body: batch, headers: { 'Content-Type': 'application/json' } });
  assert.equal(seen[0].coding, null, 'the first body goes plain: nothing said yet');
  assert.equal(fetch.accepts(), true);
  const answer = await fetch(`${base}/db/_bulk_docs`, { method: 'POST', body: batch, headers: new Headers({ 'Content-Type': 'application/json' }) });
  assert.deepEqual(await answer.json(), { ok: true });
  assert.equal(seen[1].coding, 'gzip');
  assert.equal(seen[1].body, batch);
  assert.ok(seen[1].raw < batch.length / 4);
  await fetch(`${base}/db/_local/x`, { method: 'PUT', body: '{"last_seq":"5"}' });
  await fetch(`${base}/db/doc`, { method: 'GET' });
  assert.deepEqual(seen.slice(2).map((s) => s.coding), [null, null], 'small bodies and GETs plain');
  assert.deepEqual({ gzipped: fetch.stats.gzipped, plain: fetch.stats.plain }, { gzipped: 1, plain: 2 });
  assert.ok(fetch.stats.bytesOut < fetch.stats.bytesIn / 4);
});

test('a server that never says so gets plain bodies', async () => {
  seen.length = 0;
  advertise = false;
  const fetch = gzipFetch();
  for (let i = 0; i < 3; i++) await fetch(`${base}/db/_bulk_docs`, { method: 'POST', body: batch });
  assert.deepEqual(seen.map((s) => s.coding), [null, null, null]);
  advertise = true;
});

test('a 415 to a gzipped body sends it again plain, and plain after', async () => {
  seen.length = 0;
  refuseGzip = true;
  const fetch = gzipFetch(undefined, { always: true });
  const answer = await fetch(`${base}/db/_bulk_docs`, { method: 'POST', body: batch });
  assert.equal(answer.status, 200);
  assert.deepEqual(seen.map((s) => s.coding), ['gzip', null]);
  assert.equal(seen[1].body, batch);
  await fetch(`${base}/db/_bulk_docs`, { method: 'POST', body: batch });
  assert.equal(seen[2].coding, null);
  refuseGzip = false;
});

test('bodies under the threshold go plain, at the threshold gzipped', async () => {
  seen.length = 0;
  const fetch = gzipFetch(undefined, { always: true });
  await fetch(`${base}/x`, { method: 'POST', body: 'a'.repeat(GZIP_MIN_BYTES - 1) });
  await fetch(`${base}/x`, { method: 'POST', body: 'a'.repeat(GZIP_MIN_BYTES) });
  assert.deepEqual(seen.map((s) => s.coding), [null, 'gzip']);
  assert.equal(seen[1].body.length, GZIP_MIN_BYTES);
});
