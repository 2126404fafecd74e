// The app's retry waits on a flaky link (fieldapp/src/backoff.js, PouchDB's back_off_function):
// from 1 s, doubling, never past 5 min, each jittered by ±20% so a soum's phones do not retry in step.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FIRST_RETRY_MS, MAX_RETRY_MS, backoff } from '../src/backoff.js';

test('retries wait from 1 s, doubling, up to 5 min', () => {
  const steady = () => 0.5; // no jitter
  const waits = [];
  let wait = 0;
  for (let n = 0; n < 12; n += 1) {
    wait = backoff(wait, steady);
    waits.push(wait);
  }
  assert.deepEqual(waits.slice(0, 5), [1000, 2000, 4000, 8000, 16000]);
  assert.equal(FIRST_RETRY_MS, 1000);
  assert.equal(Math.max(...waits), MAX_RETRY_MS);
  assert.equal(waits.at(-1), 5 * 60 * 1000, 'capped at 5 min, not growing forever');
});

test('each wait is jittered by at most 20%, both ways', () => {
  assert.equal(backoff(0, () => 0), 800);
  assert.equal(backoff(0, () => 1), 1200);
  assert.equal(backoff(MAX_RETRY_MS, () => 1), 360000);
  const seen = new Set(Array.from({ length: 50 }, () => backoff(4000)));
  assert.ok(seen.size > 10, 'Math.random spreads the phones');
  for (const w of seen) assert.ok(w >= 6400 && w <= 9600, String(w));
});
