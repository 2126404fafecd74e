#!/usr/bin/env node
// A real PouchDB 9 replica that Python tests drive step by step.
//
// Protocol: one JSON object per line on stdin, {"id": <any>, "op": "<name>",
// "args": {...}}; one JSON line per request on stdout, {"id", "ok": true,
// "result"} or {"id", "ok": false, "error": {...}}. Requests run concurrently
// (a live sync keeps going while the test writes documents), so every answer
// carries the request id. Binary data travels as base64 both ways.
//
// The process must outlive any single failure: a test that provokes an error
// wants that error as data, and a crashed driver would turn one failing check
// into a cascade of unrelated ones. So every handler is wrapped, and stray
// exceptions are logged to stderr, never fatal.
'use strict';

const readline = require('readline');
// PouchDB with its checkpointer fixed, as the field app bundles it (fieldapp/tools/pouchdb_checkpoint.cjs).
const PouchDB = require('../../fieldapp/tools/pouchdb_checkpoint.cjs').requireFixed(require.resolve('pouchdb'));
PouchDB.plugin(require('pouchdb-adapter-memory'));

// Anything a library prints must not corrupt the stdout protocol stream.
const writeOut = process.stdout.write.bind(process.stdout);
for (const level of ['log', 'info', 'warn', 'debug']) {
  console[level] = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
}
process.on('uncaughtException', (err) => {
  process.stderr.write(`driver: uncaught exception: ${err && err.stack || err}\n`);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`driver: unhandled rejection: ${err && err.stack || err}\n`);
});

const replicas = new Map(); // handle -> PouchDB (local replicas only)
const lives = new Map(); // live id -> LiveTracker
let nextLiveId = 1;

class DriverError extends Error {
  constructor(name, message, extra) {
    super(message);
    this.name = name;
    Object.assign(this, extra || {});
  }
}

// ---------------------------------------------------------------- helpers

/** Make a value JSON-safe: Buffers and Blobs become base64 strings. */
async function plain(value) {
  if (value === null || value === undefined) return value ?? null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof Blob !== 'undefined' && value instanceof Blob) {
    return Buffer.from(await value.arrayBuffer()).toString('base64');
  }
  if (value instanceof Error) return errorJson(value);
  if (Array.isArray(value)) return Promise.all(value.map(plain));
  if (typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'function') out[k] = await plain(v);
    }
    return out;
  }
  return value;
}

function errorJson(err) {
  if (!err || typeof err !== 'object') return { name: 'error', message: String(err) };
  const out = {
    name: err.name || 'Error',
    status: typeof err.status === 'number' ? err.status : null,
    error: err.error === true ? err.name : (err.error ?? null),
    reason: err.reason ?? null,
    message: err.message ?? null,
  };
  for (const key of ['id', 'docId', 'rev', 'code', 'result', 'messages', 'quarantine']) {
    if (err[key] !== undefined) out[key] = err[key];
  }
  if (err.stack) out.stack = String(err.stack).split('\n').slice(0, 6).join('\n');
  return out;
}

function replica(args) {
  const db = replicas.get(args.db);
  if (!db) throw new DriverError('no_replica', `no open replica named ${JSON.stringify(args.db)}`);
  return db;
}

/** A module of the field app (ES modules, fieldapp/src), loaded once. */
const fieldappModules = new Map();
function fieldappModule(name) {
  if (!fieldappModules.has(name)) {
    const url = require('url').pathToFileURL(require('path').join(__dirname, '..', '..', 'fieldapp', 'src', name));
    fieldappModules.set(name, import(url.href));
  }
  return fieldappModules.get(name);
}

const replicationIds = new Map(); // server root + database -> replication id, as the field app keeps them

const localAgents = new Map();
function localAgent(address) {
  if (!localAgents.has(address)) {
    // As Node's global agent (keep-alive, most recently used socket first), with idle sockets
    // closed after 4 s, before a server's keep-alive deadline (gunicorn's default 5 s, fieldsync's 15 s)
    // can close them under a request.
    localAgents.set(address, new (require('http').Agent)({
      keepAlive: true, scheduling: 'lifo', timeout: 4000, localAddress: address,
    }));
  }
  return localAgents.get(address);
}

/**
 * A remote database. skip_setup: a test must see a missing database, not create one.
 * gate: when given, a request the remote starts once gate.closed is set fails at once
 * (see the replicate op: a failed run must not write a checkpoint after the next one).
 */
function remote(url, options, gate = null) {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new DriverError('bad_request', `remote must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  const opts = { skip_setup: true, ...(options || {}) };
  if (opts.fieldapp_fetch) {
    // The field app's own fetch wrapper (fieldapp/src/gzip_fetch.js: large bodies
    // gzipped once the server says Accept-Encoding: gzip) around Node's fetch, so a
    // benchmark's replica sends what the app sends. "always" gzips from the start.
    const always = opts.fieldapp_fetch === 'always';
    delete opts.fieldapp_fetch;
    delete opts.native_fetch;
    let wrapped = null;
    opts.fetch = async (resource, init) => {
      if (!wrapped) wrapped = (await fieldappModule('gzip_fetch.js')).gzipFetch(undefined, { always });
      const response = await wrapped(resource, init);
      response.buffer = async () => Buffer.from(await response.arrayBuffer());
      return response;
    };
  }
  if (opts.local_address) {
    // Connect from this loopback address (any of 127/8 is this machine): a benchmark's
    // crowd of devices comes from as many addresses as devices, as in the field, not
    // from one address that a server's per-address bound would see as one client.
    const agent = localAgent(opts.local_address);
    delete opts.local_address;
    const nodeFetch = require('node-fetch');
    opts.fetch = (resource, init) => nodeFetch(resource, { ...init, agent });
  }
  if (opts.native_fetch) {
    // Node's own fetch (undici), as a browser's: node-fetch 2 (PouchDB's default in
    // Node) never settles a response whose body the link cut after the headers,
    // so a replication over a dropping link would hang instead of failing.
    delete opts.native_fetch;
    // PouchDB's Node build reads attachments with node-fetch's response.buffer().
    opts.fetch = async (resource, init) => {
      const response = await globalThis.fetch(resource, init);
      response.buffer = async () => Buffer.from(await response.arrayBuffer());
      return response;
    };
  }
  const gated = (inner) => (gate
    ? (resource, init) => (gate.closed ? Promise.reject(new Error('this replication was cancelled')) : inner(resource, init))
    : inner);
  if (opts.fetch) opts.fetch = gated(opts.fetch);
  const db = new PouchDB(url, opts);
  // As the field app: a run whose read of the server's uuid fails on the network fails, instead of
  // naming its checkpoints after the URL, and the id once read is kept (fieldapp/src/replication_id.js).
  const idFetch = opts.fetch || gated(globalThis.fetch);
  db.id = async (callback) => {
    const { pinReplicationId } = await fieldappModule('replication_id.js');
    return pinReplicationId(db, url, idFetch, replicationIds).id(callback);
  };
  return db;
}

/** Replication options from JSON: a filter can come as JS source (filter_js). */
function replicationOptions(args) {
  const opts = { ...(args.options || {}) };
  if (args.filter_js) {
    // Test-only code from the test suite itself, evaluated in this process.
    opts.filter = new Function(`return (${args.filter_js});`)();
  }
  return opts;
}

function direction(args) {
  const dir = args.direction;
  if (!['to', 'from', 'sync'].includes(dir)) {
    throw new DriverError('bad_request', `direction must be to, from or sync, got ${JSON.stringify(dir)}`);
  }
  return dir;
}

function start(db, dir, target, opts) {
  if (dir === 'to') return db.replicate.to(target, opts);
  if (dir === 'from') return db.replicate.from(target, opts);
  return db.sync(target, opts);
}

/**
 * Records what a replication reports as it runs: the events a sync UI would
 * show a field worker (denied documents, errors) and the checkpoint events
 * that prove which changes were scanned, so tests can check resumption.
 */
class Tracker {
  // end: how a failed run is ended (the replicate op also shuts its remote).
  constructor(rep, dir, end = () => rep.cancel()) {
    this.rep = rep;
    this.dir = dir;
    this.denied = [];
    this.errors = [];
    this.changes = [];
    this.docsWritten = 0;
    this.changesScanned = 0; // one revs_diff checkpoint event per change looked at
    this.checkpoints = []; // seqs whose checkpoint was written
    this.paused = 0;
    this.active = 0;
    this.state = 'running';
    this.result = null;
    this.done = new Promise((resolve) => { this.resolve = resolve; });

    rep.on('change', (info) => {
      // sync() wraps each change as {direction, change}
      const change = info.change || info;
      const written = (change.docs || []).length;
      this.docsWritten += written;
      this.changes.push({
        direction: info.direction || this.dir,
        docs_written: written,
        ids: (change.docs || []).map((d) => d._id),
        last_seq: change.last_seq ?? null,
      });
      if (this.onChange) this.onChange();
    });
    rep.on('denied', (err) => {
      const e = err && err.doc ? err.doc : err; // sync() wraps as {direction, doc}
      this.denied.push({ direction: err && err.direction || this.dir, ...errorJson(e), id: e && e.id });
    });
    rep.on('error', (err) => {
      // PouchDB does not stop a replication that failed: the batch in hand goes on, and when it
      // is written it asks for changes again, past the batches the failure dropped, and its
      // checkpoint then claims them (pouchdb-replication's abortReplication empties `batches`
      // but leaves the current batch's finishBatch -> getChanges running). A device that starts
      // again after a failure must cancel the failed run first, as fieldapp/src/sync.js does.
      if (!rep.cancelled) end();
      this.errors.push(errorJson(err));
      this.state = 'error';
      this.result = err && err.result ? err.result : null;
      this.resolve();
    });
    rep.on('complete', (result) => {
      this.state = result && result.status ? result.status : 'complete';
      this.result = result;
      this.resolve();
    });
    rep.on('paused', (err) => {
      this.paused += 1;
      if (err) this.errors.push(errorJson(err));
    });
    rep.on('active', () => { this.active += 1; });
    // sync() does not forward 'checkpoint'; count on the inner replications.
    const sources = rep.push && rep.pull ? [rep.push, rep.pull] : [rep];
    for (const source of sources) {
      source.on('checkpoint', (cp) => {
        if (cp.revs_diff) this.changesScanned += 1;
        if (cp.checkpoint !== undefined) this.checkpoints.push(cp.checkpoint);
      });
    }
  }

  async report() {
    return plain({
      state: this.state,
      result: summarise(this.result),
      docs_written_seen: this.docsWritten,
      changes_scanned: this.changesScanned,
      checkpoints: this.checkpoints,
      changes: this.changes,
      denied: this.denied,
      errors: this.errors,
      paused: this.paused,
      active: this.active,
    });
  }
}

/** The parts of a replication result a test asserts on (sync: push and pull). */
function summarise(result) {
  if (!result) return null;
  if (result.push || result.pull) {
    return { status: result.status ?? null, push: summarise(result.push), pull: summarise(result.pull) };
  }
  return {
    ok: result.ok ?? null,
    status: result.status ?? null,
    docs_read: result.docs_read ?? 0,
    docs_written: result.docs_written ?? 0,
    doc_write_failures: result.doc_write_failures ?? 0,
    errors: (result.errors || []).map(errorJson),
    last_seq: result.last_seq ?? null,
    start_time: result.start_time ?? null,
    end_time: result.end_time ?? null,
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DriverError('timeout', `${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- operations

const ops = {
  /**
   * The batch size the field app would push this replica's documents with
   * (fieldapp/src/push_options.js, sized by their bytes), for a replica that pushes as the app does.
   */
  fieldapp_push_options: async (args) => {
    const m = await fieldappModule('push_options.js');
    const db = replica(args);
    const ids = (await db.allDocs()).rows.map((row) => row.id);
    return { batch_size: await m.pushBatchSizeFor(db, ids) };
  },
  ping: async () => ({ pong: true, pouchdb: require('pouchdb/package.json').version, node: process.version }),

  /** Open a local replica: leveldb in args.path, or the memory adapter. */
  open: async (args) => {
    if (!args.db) throw new DriverError('bad_request', 'open needs a db handle');
    if (replicas.has(args.db)) throw new DriverError('conflict', `replica ${args.db} is already open`);
    let db;
    if (args.adapter === 'memory') {
      db = new PouchDB(args.name || args.db, { adapter: 'memory' });
    } else if (args.path) {
      db = new PouchDB(args.path, { adapter: 'leveldb' });
    } else {
      throw new DriverError('bad_request', 'open needs a path (leveldb) or adapter: "memory"');
    }
    replicas.set(args.db, db);
    return plain(await db.info());
  },

  info: async (args) => plain(await replica(args).info()),
  put: async (args) => plain(await replica(args).put(args.doc, args.options || {})),
  bulkDocs: async (args) => plain(await replica(args).bulkDocs(args.docs, args.options || {})),
  get: async (args) => plain(await replica(args).get(args.id, args.options || {})),
  getAttachment: async (args) => plain(
    await replica(args).getAttachment(args.id, args.name, args.options || {})),
  allDocs: async (args) => plain(await replica(args).allDocs(args.options || {})),
  changes: async (args) => {
    const opts = { ...(args.options || {}) };
    delete opts.live; // a one-shot answer; live changes go through live_start
    return plain(await replica(args).changes(opts));
  },
  remove: async (args) => {
    const db = replica(args);
    if (args.doc) return plain(await db.remove(args.doc));
    return plain(await db.remove(args.id, args.rev));
  },
  compact: async (args) => plain(await replica(args).compact()),

  /**
   * One replication run to its end. abort_after_docs cancels once that many
   * documents were written: the cut happens between batches, as when a 2G
   * link drops after the phone got a few batches through.
   */
  replicate: async (args) => {
    const db = replica(args);
    const dir = direction(args);
    // target_db: another local replica, for the no-network ceiling of the benchmark.
    // A failed run is cancelled (Tracker), and its remote refuses what the run still starts:
    // its batch in hand would otherwise write its checkpoint over a later run's.
    const gate = { closed: false };
    const target = args.target_db ? replica({ db: args.target_db })
      : remote(args.remote, args.remote_options, gate);
    const opts = replicationOptions(args);
    if (opts.live) throw new DriverError('bad_request', 'live replications go through live_start');
    const rep = start(db, dir, target, opts);
    const end = () => {
      gate.closed = true;
      rep.cancel();
    };
    const tracker = new Tracker(rep, dir, end);
    if (args.abort_after_docs) {
      tracker.onChange = () => {
        if (tracker.docsWritten >= args.abort_after_docs && !rep.cancelled) rep.cancel();
      };
    }
    const ms = args.timeout_ms || 60000;
    try {
      await withTimeout(tracker.done, ms, `replicate ${dir} ${args.remote || args.target_db}`);
    } catch (err) {
      end();
      err.partial = await tracker.report();
      throw err;
    }
    return tracker.report();
  },

  /** Start a live (continuous) replication or sync that runs until live_stop. */
  live_start: async (args) => {
    const db = replica(args);
    const dir = direction(args);
    const target = remote(args.remote, args.remote_options);
    const opts = { ...replicationOptions(args), live: true };
    if (!('retry' in opts)) opts.retry = true;
    const rep = start(db, dir, target, opts);
    const liveId = `live-${nextLiveId++}`;
    lives.set(liveId, new Tracker(rep, dir));
    return { live_id: liveId };
  },

  live_status: async (args) => {
    const tracker = lives.get(args.live_id);
    if (!tracker) throw new DriverError('not_found', `no live replication ${args.live_id}`);
    return tracker.report();
  },

  live_stop: async (args) => {
    const tracker = lives.get(args.live_id);
    if (!tracker) throw new DriverError('not_found', `no live replication ${args.live_id}`);
    tracker.rep.cancel();
    await withTimeout(tracker.done, args.timeout_ms || 10000, `stopping ${args.live_id}`)
      .catch(() => { tracker.state = 'stop_timeout'; });
    lives.delete(args.live_id);
    return tracker.report();
  },

  close: async (args) => {
    const db = replica(args);
    replicas.delete(args.db);
    await db.close();
    return { ok: true };
  },

  destroy: async (args) => {
    const db = replica(args);
    replicas.delete(args.db);
    return plain(await db.destroy());
  },

  shutdown: async () => {
    for (const tracker of lives.values()) tracker.rep.cancel();
    lives.clear();
    await Promise.allSettled([...replicas.values()].map((db) => db.close()));
    replicas.clear();
    setImmediate(() => process.exit(0));
    return { ok: true };
  },
};

// ---------------------------------------------------------------- main loop

function send(message) {
  writeOut(JSON.stringify(message) + '\n');
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    send({ id: null, ok: false, error: { name: 'bad_json', message: String(err.message) } });
    return;
  }
  const id = request.id ?? null;
  const op = ops[request.op];
  if (!op) {
    send({ id, ok: false, error: { name: 'unknown_op', message: `unknown op ${JSON.stringify(request.op)}` } });
    return;
  }
  try {
    send({ id, ok: true, result: await op(request.args || {}) });
  } catch (err) {
    const error = errorJson(err);
    if (err && err.partial) error.partial = err.partial;
    send({ id, ok: false, error: await plain(error) });
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => { if (line.trim()) handle(line); });
rl.on('close', () => { ops.shutdown(); });
