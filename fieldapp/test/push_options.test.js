// Push batches sized by the bytes waiting (fieldapp/src/push_options.js): a
// visit's JSON about a fifth of its length on the wire (gzipped), a photo whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { PUSH_BATCH_BYTES, PUSH_BATCH_MAX, PUSH_BATCH_MIN, PUSH_BATCH_SIZE, pushBatchSize, wireBytes } from '../src/push_options.js';

test('push batches are sized by the bytes waiting', async () => {
  const visit = { _id: 'uvs-tes:sub:1', data: { head_name: 'Батбаяр', notes: 'x'.repeat(995) } };
  const withPhoto = { ...visit, _attachments: { 'ger.jpg': { content_type: 'image/jpeg', length: 100_000, stub: true } } };
  assert.ok(wireBytes(visit) > 200 && wireBytes(visit) < 260, String(wireBytes(visit)));
  assert.equal(wireBytes(withPhoto), wireBytes(visit) + 100_000, 'a photo costs its bytes, its stub nothing');
  // A two-week trip: 300 visits, 15 of them with a photo of ~100 KB: two batches of about 1 MB.
  const trip = Array.from({ length: 300 }, (_, n) => wireBytes(n % 20 === 0 ? withPhoto : visit));
  const size = pushBatchSize(trip);
  assert.ok(size > 150 && size < 300, String(size));
  assert.ok((trip.reduce((a, b) => a + b, 0) / trip.length) * size <= PUSH_BATCH_BYTES);
  assert.equal(pushBatchSize([]), PUSH_BATCH_SIZE);
  assert.equal(pushBatchSize(Array(10).fill(100)), PUSH_BATCH_MAX, 'small visits only: capped');
  assert.equal(pushBatchSize(Array(10).fill(5_000_000)), PUSH_BATCH_MIN, 'unresized photos: at least the minimum');
});
