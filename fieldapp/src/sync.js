// Replication with the worker's /sync/<user>: live while the browser is online,
// retried with growing, jittered waits on a flaky link, and started again at
// once by the Sync button. It never blocks the forms: everything the worker does
// goes to the local replica first.

import PouchDB from 'pouchdb-browser';

const LAST_SYNC = 'fieldsync.lastSync';
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 5 * 60 * 1000;

/**
 * The next wait before retrying: doubles from 1 s up to 5 min, with ±20% jitter
 * so that a soum's phones coming back at once do not retry in step.
 */
export function backoff(previous, random = Math.random) {
  const base = previous ? Math.min(previous * 2, MAX_RETRY_MS) : FIRST_RETRY_MS;
  return Math.round(base * (0.8 + 0.4 * random()));
}

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
    this.lastSync = localStorage.getItem(`${LAST_SYNC}.${store.user}`);
    this.onOnline = () => this.start();
    this.onOffline = () => {
      this.stop();
      this.set('offline');
    };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  remote() {
    return new PouchDB(this.url, { skip_setup: true });
  }

  set(state, error = null) {
    this.state = state;
    this.error = error;
    this.dispatchEvent(new Event('change'));
  }

  /** Live two-way replication; a running one is restarted (the Sync button). */
  start() {
    this.stop();
    if (!navigator.onLine) {
      this.set('offline');
      return;
    }
    this.needsLogin = false;
    this.set('active');
    const handle = PouchDB.sync(this.store.db, this.remote(), {
      live: true,
      retry: true,
      batch_size: 50,
      back_off_function: (delay) => backoff(delay),
    });
    this.handle = handle;
    handle.on('change', (info) => {
      const change = info.change || {};
      if (info.direction === 'push') {
        this.pushed += change.docs_written || 0;
        this.store.markPushed(change.docs || []).then(() => this.dispatchEvent(new Event('data')));
      } else {
        this.pulled += (change.docs || []).length;
        this.dispatchEvent(new Event('data'));
      }
      this.set('active');
    });
    handle.on('denied', (info) => {
      // A refused document: the server keeps it and explains in a feedback document.
      const doc = info && info.doc;
      if (doc && doc.id) this.store.markPushed([{ _id: doc.id, _rev: doc.rev }]);
    });
    handle.on('active', () => this.set('active'));
    handle.on('paused', (err) => {
      if (this.handle !== handle) return;
      if (err) {
        this.fail(err);
        return;
      }
      this.lastSync = new Date().toISOString();
      localStorage.setItem(`${LAST_SYNC}.${this.store.user}`, this.lastSync);
      this.set('idle');
      this.dispatchEvent(new Event('data'));
    });
    handle.on('error', (err) => {
      if (this.handle === handle) this.fail(err);
    });
  }

  fail(err) {
    if (err && (err.status === 401 || err.status === 403) && !err.id) {
      this.needsLogin = err.status === 401;
    }
    this.set(navigator.onLine ? 'error' : 'offline', err);
  }

  stop() {
    if (this.handle) {
      const handle = this.handle;
      this.handle = null;
      handle.cancel();
    }
  }

  destroy() {
    this.stop();
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
  }
}
