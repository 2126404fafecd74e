// The checkpointer fix (tools/pouchdb_checkpoint.cjs) against the PouchDB this app bundles: it finds
// PouchDB's skip exactly once in each build of it, and refuses a source where it does not, so an
// upgraded PouchDB cannot ship without it (or with it applied twice). What the fix does to a
// replication is shown with a real PouchDB and server in tests/interop/test_cut_links.py.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import checkpointFix from '../tools/pouchdb_checkpoint.cjs';

const require = createRequire(import.meta.url);
const main = require.resolve('pouchdb-browser');

test('each build of the bundled PouchDB gets the fix once', () => {
  for (const file of [main, main.replace(/index\.js$/, 'index.es.js')]) {
    const fixed = checkpointFix.fixCheckpointer(readFileSync(file, 'utf8'), file);
    assert.equal(fixed.match(/doc\.last_seq === checkpoint && doc\.session_id === session/g).length, 1);
    assert.equal(fixed.match(/doc\.last_seq === checkpoint\)/g), null);
  }
});

test('a PouchDB without the skip, or already fixed, is refused', () => {
  assert.throws(() => checkpointFix.fixCheckpointer('const a = 1;', 'other.js'), /found it 0 times/);
  const once = checkpointFix.fixCheckpointer(readFileSync(main, 'utf8'));
  assert.throws(() => checkpointFix.fixCheckpointer(once), /found it 0 times/);
});
