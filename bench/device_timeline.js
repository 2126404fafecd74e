// One PouchDB 9 replication, every HTTP request of it timed as the device sees it.
//
//   node bench/device_timeline.js push|pull URL LEVELDB_DIR [DOCS_JSON]
//
// Prints one JSON line: documents written, total ms, the share of that time with at least
// one request in flight (the device waiting on the server), and per kind of request its
// count and summed ms (from sending it to reading its whole answer). Run by
// bench/device_timeline.py with NODE_PATH at tests/interop/node_modules.
'use strict';
const fs = require('fs');
// The device's PouchDB as the field app bundles it (fieldapp/tools/pouchdb_checkpoint.cjs).
const PouchDB = require('../fieldapp/tools/pouchdb_checkpoint.cjs').requireFixed(require.resolve('pouchdb'));

const [mode, url, path, docsFile] = process.argv.slice(2);
const requests = [];

function kindOf(resource, init) {
  const { pathname } = new URL(typeof resource === 'string' ? resource : resource.url);
  const last = decodeURIComponent(pathname.replace(/\/$/, '').split('/').pop());
  const method = (init && init.method) || 'GET';
  if (pathname.includes('/_local/')) return `${method} _local`;
  return `${method} ${last.startsWith('_') ? last : '<db>'}`;
}

function timedFetch(resource, init) {
  const entry = { kind: kindOf(resource, init), start: performance.now(), end: null };
  requests.push(entry);
  return PouchDB.fetch(resource, init).then((response) => {  // PouchDB's own fetch
    entry.end = performance.now();
    for (const reader of ['json', 'text', 'buffer']) {
      const read = response[reader].bind(response);
      response[reader] = async () => {
        const body = await read();
        entry.end = performance.now();
        return body;
      };
    }
    return response;
  });
}

function busyMs(entries) {
  const spans = entries.map((e) => [e.start, e.end]).sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let current = null;
  for (const [start, end] of spans) {
    if (!current || start > current[1]) {
      if (current) busy += current[1] - current[0];
      current = [start, end];
    } else {
      current[1] = Math.max(current[1], end);
    }
  }
  return current ? busy + current[1] - current[0] : busy;
}

(async () => {
  const local = new PouchDB(path, { adapter: 'leveldb' });
  const remote = new PouchDB(url, { skip_setup: true, fetch: timedFetch });
  if (mode === 'push') {
    const docs = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
    for (let i = 0; i < docs.length; i += 1000) await local.bulkDocs(docs.slice(i, i + 1000));
  }
  const started = performance.now();
  const result = mode === 'push'
    ? await local.replicate.to(remote, { batch_size: 100 })
    : await local.replicate.from(remote, { batch_size: 100 });
  const total = performance.now() - started;
  const done = requests.filter((e) => e.end !== null);
  const byKind = {};
  for (const e of done) {
    const k = (byKind[e.kind] = byKind[e.kind] || { count: 0, ms: 0 });
    k.count += 1;
    k.ms += e.end - e.start;
  }
  console.log(JSON.stringify({
    docs: result.docs_written, total_ms: total, busy_ms: busyMs(done), by_kind: byKind,
  }));
  await local.close();
})().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
