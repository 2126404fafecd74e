// PouchDB 9's checkpointer, fixed so that both sides of a replication always share its session.
//
// A replication writes its checkpoint on both sides (the device's copy, then the server's on a
// pull; the other way round on a push), each with the run's session id and a history of the
// last five sessions. The next run resumes from a session both histories hold, and from 0
// when they hold none. PouchDB skips a side's write when that side already holds the same
// sequence, whoever wrote it. On a link that drops, one run writes a sequence on one side only
// (the second write is cut); the next run reaches the same sequence, writes it on the other
// side and skips the first: the two sides now name different sessions for it. If that run is
// cut before its next batch, the one after finds nothing in common and starts again from 0 -
// and so does every run after it that is cut within two batches, so a device on a bad link can
// look at its whole feed on every try and never finish. Measured through tests/cutting_proxy.py
// (tests/interop/test_cut_links.py): the run that completed looked at 304 of 320 changes again,
// and a further sync through the same link looked at all 320 (nothing was sent twice: revs_diff).
//
// The fix skips the write only when this same session already wrote that sequence, so every
// side a run reaches records its session. Applied where PouchDB is loaded: the field app's
// bundle (build.mjs) and the test driver (tests/interop/driver.js); a PouchDB whose code no
// longer reads as expected fails the build instead of shipping unfixed.
'use strict';

const SKIP = /if \(doc\.last_seq === checkpoint\) \{\n(\s*)return;\n(\s*)\}/g;
const FIXED = 'if (doc.last_seq === checkpoint && doc.session_id === session) {\n$1return;\n$2}';

/** PouchDB's source with the fix; throws when the checkpointer's skip is not found exactly once. */
function fixCheckpointer(source, file = 'pouchdb') {
  const found = source.match(SKIP) || [];
  if (found.length !== 1) {
    throw new Error(`${file}: expected PouchDB's checkpoint skip once, found it ${found.length} times; `
      + 'see fieldapp/tools/pouchdb_checkpoint.cjs');
  }
  return source.replace(SKIP, FIXED);
}

/** Load a CommonJS build of PouchDB (a path) with the fix, as require() would. */
function requireFixed(path) {
  const Module = require('module');
  const { dirname } = require('path');
  if (require.cache[path]) return require.cache[path].exports;
  const fixed = fixCheckpointer(require('fs').readFileSync(path, 'utf8'), path);
  const loaded = new Module(path, module);
  loaded.filename = path;
  loaded.paths = Module._nodeModulePaths(dirname(path));
  require.cache[path] = loaded;
  loaded._compile(fixed, path);
  loaded.loaded = true;
  return loaded.exports;
}

module.exports = { fixCheckpointer, requireFixed };
