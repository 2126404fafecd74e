// How many documents a push sends per batch, chosen by bytes. Each batch costs
// four round trips besides its bytes (_revs_diff, _bulk_docs, and the
// checkpoint's read and write on the server): 2.4 s at the 600 ms of a rural
// link, so a trip of 300 visits pushed 50 at a time spent 14 s waiting. A
// batch is instead sized to carry about PUSH_BATCH_BYTES on the wire (~33 s at
// 256 kbit/s, the most a link dropping mid-batch makes the app send again),
// from what is waiting: a visit's JSON gzips to about a fifth, a photo (JPEG)
// not at all. Shared with the benchmark's Node replica (tests/interop/driver.js).

export const PUSH_BATCH_BYTES = 1024 * 1024;
export const PUSH_BATCH_SIZE = 100; // when nothing is waiting (a live push's later documents)
export const PUSH_BATCH_MIN = 20;
export const PUSH_BATCH_MAX = 500;
export const PULL_BATCH_SIZE = 50;

/** About what `doc` costs on the wire, gzipped: its JSON (attachments as stubs) a fifth, attachments whole. */
export function wireBytes(doc) {
  const { _attachments: attachments, ...rest } = doc || {};
  let bytes = Math.ceil(JSON.stringify(rest).length / 5);
  for (const stub of Object.values(attachments || {})) bytes += Number(stub.length) || 0;
  return bytes;
}

/** The push batch size for documents of these wire sizes: as many as fit the budget on average. */
export function pushBatchSize(sizes, budget = PUSH_BATCH_BYTES) {
  if (!sizes.length) return PUSH_BATCH_SIZE;
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  return Math.max(PUSH_BATCH_MIN, Math.min(PUSH_BATCH_MAX, Math.floor(budget / Math.max(1, mean))));
}

/** The push batch size for what `db` (a PouchDB) holds of `ids`, attachments read as stubs only. */
export async function pushBatchSizeFor(db, ids) {
  if (!ids.length) return PUSH_BATCH_SIZE;
  const result = await db.allDocs({ keys: ids, include_docs: true });
  return pushBatchSize(result.rows.filter((row) => row.doc).map((row) => wireBytes(row.doc)));
}
