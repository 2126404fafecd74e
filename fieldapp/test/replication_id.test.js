// The remote's replication id against a real HTTP server (Node's http): the id PouchDB
// itself makes when the server's root answers (uuid + database name, so devices keep the
// checkpoints they hold), read once per server; a root that answers without a uuid names
// the line after the URL, as PouchDB does; a root the link cuts fails the run instead.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';

import { parts, pinReplicationId } from '../src/replication_id.js';

let server;
let port;
let seen = [];
let answer = 'uuid'; // uuid | none | html | cut

before(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization || null });
    if (answer === 'cut') {
      req.socket.destroy(); // the link drops before any answer
    } else if (answer === 'html') {
      res.writeHead(502, { 'Content-Type': 'text/html' }).end('<h1>Bad gateway</h1>');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify(answer === 'uuid' ? { couchdb: 'Welcome', uuid: 'f00d' } : { couchdb: 'Welcome' }));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
});

after(() => server.close());

beforeEach(() => {
  seen = [];
  answer = 'uuid';
});

const remote = () => ({ id: () => Promise.resolve('PouchDB would have asked the server itself') });

test('the id is the server uuid and the database name, read from the root above the database', async () => {
  const db = pinReplicationId(remote(), `http://127.0.0.1:${port}/sync/naraa`, fetch);
  assert.equal(await db.id(), 'f00dnaraa');
  assert.deepEqual(seen, [{ url: '/sync/', authorization: null }]);
});

test('once read, the id is kept for the server: the next run asks nothing', async () => {
  const known = new Map();
  const url = `http://127.0.0.1:${port}/sync/naraa`;
  assert.equal(await pinReplicationId(remote(), url, fetch, known).id(), 'f00dnaraa');
  answer = 'cut';
  assert.equal(await pinReplicationId(remote(), url, fetch, known).id(), 'f00dnaraa');
  assert.equal(seen.length, 1);
  // Another user's replica on the same server is another line.
  answer = 'uuid';
  assert.equal(await pinReplicationId(remote(), `http://127.0.0.1:${port}/sync/bold`, fetch, known).id(), 'f00dbold');
});

test('runs that start together (the push and the pull) ask the root once', async () => {
  const known = new Map();
  const url = `http://127.0.0.1:${port}/sync/naraa`;
  const ids = await Promise.all([1, 2].map(() => pinReplicationId(remote(), url, fetch, known).id()));
  assert.deepEqual(ids, ['f00dnaraa', 'f00dnaraa']);
  assert.equal(seen.length, 1);
});

test('a root cut by the link fails the run rather than starting a second line of checkpoints', async () => {
  answer = 'cut';
  const db = pinReplicationId(remote(), `http://127.0.0.1:${port}/sync/naraa`, fetch, new Map());
  await assert.rejects(db.id());
  answer = 'uuid';
  assert.equal(await db.id(), 'f00dnaraa'); // the next run, once the link is back
});

test('a root that answers without a uuid names the line after the URL, every time, as PouchDB does', async () => {
  const known = new Map();
  for (answer of ['none', 'html']) {
    const db = pinReplicationId(remote(), `http://127.0.0.1:${port}/sync/na%20raa`, fetch, known);
    assert.equal(await db.id(), `http://127.0.0.1:${port}/sync/na%20raa/`);
  }
  assert.equal(known.size, 0); // not kept: the server may give its uuid next time
});

test('credentials in the URL go to the root as Basic auth, as PouchDB sends them', async () => {
  const db = pinReplicationId(remote(), `http://n%40ra:p%3Aé@127.0.0.1:${port}/db/uvs`, fetch);
  assert.equal(await db.id(), 'f00duvs');
  assert.equal(seen[0].authorization, `Basic ${Buffer.from('n@ra:p:é').toString('base64')}`);
});

test('a callback, as PouchDB\'s own id() takes, gets the id too', async () => {
  const db = pinReplicationId(remote(), `http://127.0.0.1:${port}/sync/naraa`, fetch);
  const got = await new Promise((resolve, reject) => db.id((err, id) => (err ? reject(err) : resolve(id))));
  assert.equal(got, 'f00dnaraa');
});

test('the parts of a URL are the ones PouchDB reads', () => {
  assert.deepEqual(parts('https://example.org/sync/na raa/'),
    { root: 'https://example.org/sync/', name: 'na%20raa', headers: {} });
  assert.deepEqual(parts('http://127.0.0.1:5984/uvs-tes'),
    { root: 'http://127.0.0.1:5984/', name: 'uvs-tes', headers: {} });
});
