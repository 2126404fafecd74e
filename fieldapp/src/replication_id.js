// One line of checkpoints per server, whatever the link does.
//
// PouchDB names a replication's checkpoints after the server: at the start of
// every run it reads the server's root and takes its `uuid`. When that request
// fails, PouchDB does not fail the run: it quietly names the checkpoints after
// the URL instead. On a link that drops (a cut falls early in a connection
// more often than late, and the root is its first request), a device then keeps
// two lines of checkpoints, and a run on the line that lags looks at the whole
// feed again: nothing is sent twice (revs_diff), but on 2G ten thousand changes
// take minutes. Here a run whose root request fails on the network fails, and is
// started again after the app's back-off like any failed run; a server that
// answers without a uuid is named after its URL, every time, as PouchDB would.

/**
 * Make `db` (a remote PouchDB at `url`) name its replications as PouchDB does when the
 * server's root answers: `uuid + database name`, the same ids devices already hold
 * checkpoints under. `known` (a Map shared between a device's remotes) keeps an id once
 * read, so the runs after the first need no request for it, and runs that start together
 * make one.
 */
export function pinReplicationId(db, url, fetchFn, known = null) {
  const { root, name, headers } = parts(url);
  const key = `${root}${name}`;
  const ask = async () => {
    const response = await fetchFn(root, { headers }); // a network failure fails the run
    const body = await response.json().catch(() => null); // not JSON: a proxy's page, say
    if (!(body && typeof body.uuid === 'string' && body.uuid)) return { id: `${root}${name}/`, keep: false }; // PouchDB's own fallback
    return { id: body.uuid + name, keep: true };
  };
  // The answer is shared while it is asked for (the push and the pull start together) and
  // kept once it is a uuid; a failure or a URL-named answer is asked for again next time.
  const read = () => {
    if (!known) return ask().then((answer) => answer.id);
    if (!known.has(key)) {
      const asking = ask();
      known.set(key, asking);
      asking.then((answer) => { if (!answer.keep) known.delete(key); }, () => known.delete(key));
    }
    return known.get(key).then((answer) => answer.id);
  };
  db.id = (callback) => {
    const promise = read();
    if (typeof callback === 'function') promise.then((id) => callback(null, id), callback);
    return promise;
  };
  return db;
}

/** The server root PouchDB reads, the database name as PouchDB spells it, and its Basic credentials. */
export function parts(url) {
  const u = new URL(url);
  const headers = {};
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const secret = decodeURIComponent(u.password);
    headers.Authorization = `Basic ${btoa(unescape(encodeURIComponent(`${user}:${secret}`)))}`;
  }
  const path = u.pathname.replace(/\/+$/, '');
  const cut = path.lastIndexOf('/');
  let name = path.slice(cut + 1);
  if (!name.includes('%')) name = encodeURIComponent(name);
  return { root: `${u.protocol}//${u.host}${path.slice(0, cut + 1)}`, name, headers };
}
