// Replication with the worker's /sync/<user>: live while the browser is online,
// retried with growing, jittered waits on a flaky link, and started again at
// once by the Sync button. It never blocks the forms: everything the worker does
// goes to the local replica first.

import PouchDB from 'pouchdb-browser';

import { backoff } from './backoff.js';
import { gzipFetch } from './gzip_fetch.js';
import { PULL_BATCH_SIZE, PUSH_BATCH_SIZE, pushBatchSizeFor } from './push_options.js';
import { pinReplicationId } from './replication_id.js';

const LAST_SYNC = 'fieldsync.lastSync';

export class SyncController extends EventTarget {
  constructor(store, url) {
    super();
    this.store = store;
    this.url = url;
    this.handle = null;
    this.state = navigator.onLine ? 'idle' : 'offline';
    this.pushed = 0;
    this.pulled = 0;
    this.error = null;
    this.needsLogin = false;
    // One wrapper for every replication: once the server said it takes gzip, it stays known.
    this.fetch = gzipFetch();
    // The server's replication id, once read: the runs after the first need no request for it.
    this.replicationIds = new Map();
    this.lastSync = localStorage.getItem(`${LAST_SYNC}.${store.user}`);
    this.onOnline = () => this.start();
    this.onOffline = () => {
      this.stop();
      this.set('offline');
    };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  /** gate: once gate.closed is set, a request this remote starts fails at once (see begin()). */
  remote(gate = null) {
    const fetch = gate
      ? (url, opts) => (gate.closed ? Promise.reject(new Error('cancelled')) : this.fetch(url, opts))
      : this.fetch;
    // One line of checkpoints whatever the link does (replication_id.js).
    return pinReplicationId(new PouchDB(this.url, { skip_setup: true, fetch }), this.url, fetch, this.replicationIds);
  }

  set(state, error = null) {
    this.state = state;
    this.error = error;
    this.dispatchEvent(new Event('change'));
  }

  /**
   * Live replication both ways (two replications, so each side's pauses and
   * errors are seen: PouchDB's sync() drops the error of a paused side); a
   * running one is restarted (the Sync button).
   */
  start() {
    this.stop();
    if (!navigator.onLine) {
      this.set('offline');
      return;
    }
    this.needsLogin = false;
    this.set('active');
    const starting = {};
    this.starting = starting;
    // The push's batch is sized by the bytes waiting (push_options.js): fewer round trips on a thin link.
    this.store.outbox()
      .then((waiting) => pushBatchSizeFor(this.store.db, Object.keys(waiting)))
      .catch(() => PUSH_BATCH_SIZE)
      .then((batchSize) => {
        if (this.starting !== starting) return; // stopped or started again meanwhile
        this.starting = null;
        this.replicate(batchSize);
      });
  }

  replicate(pushBatchSize) {
    const remote = this.remote();
    const run = {
      ends: { push: null, pull: null }, // each direction's way to end its current run
      paused: { push: false, pull: false },
      failed: { push: null, pull: null },
      delay: { push: 0, pull: 0 },
      timers: {},
    };
    this.handle = run;
    const current = () => this.handle === run;
    const settle = () => {
      if (!current()) return;
      if (run.failed.push || run.failed.pull) {
        this.fail(run.failed.push || run.failed.pull);
      } else if (run.paused.push && run.paused.pull) {
        this.lastSync = new Date().toISOString();
        localStorage.setItem(`${LAST_SYNC}.${this.store.user}`, this.lastSync);
        this.set('idle');
        this.reconcile(remote).then(() => this.dispatchEvent(new Event('data')));
      } else {
        this.set('active');
      }
    };
    // Not PouchDB's `retry: true`: PouchDB does not stop a run that failed. Its batch in hand
    // goes on and, once written, asks for changes again past the batches the failure dropped;
    // its checkpoint then claims them, so those documents were never sent (or fetched) again.
    // A failed run is cancelled here, and a new one starts after the back-off, from the
    // checkpoints the failed run really earned. Each run has a remote of its own whose
    // requests fail once the run is over: its batch in hand would otherwise write its
    // checkpoint over a later run's (no loss, but the next sync would look again).
    const begin = (direction) => {
      const gate = { closed: false };
      const target = this.remote(gate);
      const options = direction === 'push'
        ? { live: true, batch_size: pushBatchSize }
        : { live: true, batch_size: PULL_BATCH_SIZE };
      const replication = direction === 'push'
        ? this.store.db.replicate.to(target, options)
        : this.store.db.replicate.from(target, options);
      run.ends[direction] = () => {
        gate.closed = true;
        if (!replication.cancelled) replication.cancel();
      };
      replication.on('change', (info) => {
        run.delay[direction] = 0;
        if (direction === 'push') {
          // Even from a replication just replaced (the Sync button): what it sent has gone.
          this.store.markPushed(info.docs || []).then(() => this.dispatchEvent(new Event('data')));
          if (current()) this.pushed += info.docs_written || 0;
        } else if (current()) {
          this.pulled += (info.docs || []).length;
          this.dispatchEvent(new Event('data'));
        }
      });
      replication.on('active', () => {
        run.paused[direction] = false;
        run.failed[direction] = null;
        settle();
      });
      replication.on('paused', (err) => {
        run.paused[direction] = true;
        run.failed[direction] = err || null;
        if (!err) run.delay[direction] = 0;
        settle();
      });
      replication.on('denied', (err) => {
        // A refused document (the _bulk_docs answer's entry: id, rev, reason, messages): no longer waiting.
        // The server explains a submission in a feedback document; a case's refusal has none, so the
        // device keeps the server's reason itself (Store.markRefused) for the case's page and the inbox.
        const item = err && (err.doc || err);
        const id = item && (item.id || item._id);
        const rev = item && (item.rev || item._rev);
        if (!id) return;
        this.store.markPushed([{ _id: id, _rev: rev }])
          .then(() => (String(id).split(':')[1] === 'case' ? this.store.markRefused(id, rev, item) : null))
          .then(() => this.dispatchEvent(new Event('data')));
      });
      replication.on('error', (err) => {
        run.ends[direction]();
        run.failed[direction] = err;
        settle();
        if (!current() || (err && (err.status === 401 || err.status === 403) && !err.id)) return;
        run.delay[direction] = backoff(run.delay[direction]);
        run.timers[direction] = setTimeout(() => {
          if (current()) begin(direction);
        }, run.delay[direction]);
      });
    };
    begin('push');
    begin('pull');
  }

  /**
   * Ask the server which of the submissions still counted as waiting it already
   * has (one _revs_diff), so the count never sticks after an interrupted push.
   */
  async reconcile(remote) {
    const waiting = await this.store.outbox();
    const ids = Object.keys(waiting);
    if (!ids.length) return;
    try {
      const missing = await remote.revsDiff(Object.fromEntries(ids.map((id) => [id, [waiting[id]]])));
      const arrived = ids.filter((id) => !missing[id]).map((id) => ({ _id: id, _rev: waiting[id] }));
      await this.store.markPushed(arrived);
    } catch {
      /* offline again: the next sync asks */
    }
  }

  fail(err) {
    if (err && (err.status === 401 || err.status === 403) && !err.id) {
      this.needsLogin = err.status === 401;
    }
    this.set(navigator.onLine ? 'error' : 'offline', err);
  }

  stop() {
    this.starting = null;
    if (this.handle) {
      const run = this.handle;
      this.handle = null;
      for (const direction of ['push', 'pull']) {
        clearTimeout(run.timers[direction]);
        if (run.ends[direction]) run.ends[direction]();
      }
    }
  }

  destroy() {
    this.stop();
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
  }
}
