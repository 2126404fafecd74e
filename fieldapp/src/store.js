// The device's data: one PouchDB (IndexedDB) replica of the worker's /sync/<user>,
// and one local-only database of drafts, which never leave the device.
//
// Submissions are written into the replica the moment the worker sends them, so
// "send" works without a network; replication carries them when it can. Which of
// them have not gone yet is kept in a _local document (never replicated), updated
// from the push side of the replication.

import PouchDB from 'pouchdb-browser';

import { tombstoneRev } from './cases.js';
import { docId, feedbackId, isoNow, reviewId, ulid } from './ids.js';

const OUTBOX = '_local/outbox';
const REFUSED = '_local/refused'; // cases' revisions the write gate refused: {id: {rev, reason, messages, at}}

export class Store {
  constructor(user) {
    this.user = user;
    this.db = new PouchDB(`fieldsync-${user}`, { auto_compaction: true });
    this.drafts = new PouchDB(`fieldsync-drafts-${user}`, { auto_compaction: true });
  }

  async range(prefix) {
    const result = await this.db.allDocs({ startkey: prefix, endkey: prefix + '\uffff', include_docs: true });
    return result.rows.map((row) => row.doc).filter((doc) => doc && !doc._deleted);
  }

  /** Every form version document the replica holds. */
  forms() {
    return this.range('global:form:');
  }

  async form(name, version) {
    try {
      return await this.db.get(`global:form:${name}:${version}`);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  /** Areas (global:area:*) by code. */
  async areaNames() {
    const docs = await this.range('global:area:');
    return new Map(docs.map((doc) => [doc._id.slice('global:area:'.length), doc]));
  }

  /** The worker's own submissions in these areas, newest first. */
  async submissions(areas) {
    const out = [];
    for (const area of areas) {
      for (const doc of await this.range(`${area}:sub:`)) if (doc.author === this.user) out.push(doc);
    }
    return out.sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')) || (a._id < b._id ? 1 : -1));
  }

  /** Every submission in these areas (any author's: a family's visits by a colleague count too). */
  async areaSubmissions(areas) {
    const out = [];
    for (const area of areas) out.push(...await this.range(`${area}:sub:`));
    return out;
  }

  /** Register entries (families <area>:fam:*, kindergartens <area>:kg:*) of these areas. */
  async registerEntries(areas, kind) {
    const out = [];
    for (const area of areas) out.push(...await this.range(`${area}:${kind}:`));
    return out;
  }

  /** Store a new register entry (it goes with the next sync, counted as waiting). */
  async addEntry(doc) {
    const result = await this.db.put(doc);
    await this.updateOutbox((ids) => {
      ids[doc._id] = result.rev;
    });
    return doc._id;
  }

  /**
   * Store a new revision of a document the replica holds (a corrected child or
   * family, a case's follow-up): `doc` carries the `_rev` it was made from, so
   * an edit that arrived in between is a 409, not overwritten. It goes with
   * the next sync, counted as waiting.
   */
  async putRevision(doc) {
    const result = await this.db.put(doc);
    await this.updateOutbox((ids) => {
      ids[doc._id] = result.rev;
    });
    return result.rev;
  }

  /** Remember that the gate refused revision `rev` of case `id`, with its reason (the server writes no feedback for a case). */
  async markRefused(id, rev, answer) {
    await this.updateLocal(REFUSED, (ids) => {
      ids[id] = { rev, reason: answer.reason || '', messages: answer.messages || null, at: isoNow() };
    });
  }

  /** Cases' refused revisions by case id. */
  async refused() {
    try {
      return (await this.db.get(REFUSED)).ids || {};
    } catch (err) {
      if (err.status === 404) return {};
      throw err;
    }
  }

  /** The worker read a case's refusal: it leaves the inbox (the refused revision stays a hidden leaf). */
  async dismissRefusal(id) {
    await this.updateLocal(REFUSED, (ids) => {
      delete ids[id];
    });
  }

  /**
   * The child protection cases on the device (the replica holds only those the
   * worker is on). A case the worker was taken off leaves with the sync (the
   * server sends a deleted revision); if an edit of hers was still unsent, that
   * edit stays as a leaf beside the deletion and would win: such a case is
   * left out too, recognised by the server's tombstone among its deleted leaves.
   */
  async cases(areas) {
    const out = [];
    const refused = await this.refused();
    for (const area of areas) {
      for (const doc of await this.range(`${area}:case:`)) {
        const shown = doc.type === 'case' ? await this.caseDoc(doc._id, refused) : null;
        if (shown) out.push(shown);
      }
    }
    return out;
  }

  /**
   * One case as the device should show it, or null when it is not (or no
   * longer) on the device for this worker. Among the case's revisions that are
   * leaves, a revision the gate refused is passed over for the server's own
   * (PouchDB may pick either as the winner of the conflict), so the next
   * follow-up builds on what the server holds.
   */
  async caseDoc(id, refused = null) {
    let leaves;
    try {
      leaves = (await this.db.get(id, { open_revs: 'all', revs: true })).map((leaf) => leaf.ok).filter(Boolean);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
    if (isRevoked(id, leaves)) return null;
    const refusedRev = ((refused || await this.refused())[id] || {}).rev;
    const live = leaves.filter((doc) => !doc._deleted && doc.type === 'case')
      .sort((a, b) => revOrder(b._rev) - revOrder(a._rev) || (a._rev < b._rev ? 1 : -1));
    const shown = live.find((doc) => doc._rev !== refusedRev) || live[0];
    if (!shown) return null;
    delete shown._revisions;
    return shown;
  }

  /** Whether the server took this document off the device (a revocation tombstone among its leaves). */
  async revoked(id) {
    try {
      return isRevoked(id, (await this.db.get(id, { open_revs: 'all', revs: true })).map((leaf) => leaf.ok).filter(Boolean));
    } catch (err) {
      if (err.status === 404) return true;
      throw err;
    }
  }

  /** A submission's attachment as a Blob, or null. */
  async attachment(id, name) {
    try {
      return await this.db.getAttachment(id, name);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  /** Feedback (refusals) and reviews about the worker's submissions: the inbox. */
  async inbox(areas) {
    const items = [];
    for (const area of areas) {
      for (const doc of await this.range(`${area}:feedback:`)) {
        if (doc.author === this.user) items.push({ kind: 'feedback', doc, about: doc.about });
      }
      for (const doc of await this.range(`${area}:review:`)) {
        if (doc.submission_author === this.user) items.push({ kind: 'review', doc, about: doc.submission });
      }
    }
    return items.sort((a, b) => String(b.doc.updated_at || '').localeCompare(String(a.doc.updated_at || '')));
  }

  async get(id) {
    try {
      return await this.db.get(id, { attachments: false });
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  // --- drafts --------------------------------------------------------------------

  async listDrafts() {
    const result = await this.drafts.allDocs({ include_docs: true });
    return result.rows.map((row) => row.doc).sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
  }

  async getDraft(id) {
    try {
      return await this.drafts.get(id);
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  newDraft(formDoc, area, extra = {}) {
    return {
      _id: `draft:${ulid()}`, form: formDoc.form, form_version: formDoc.version, area,
      data: {}, created_at: isoNow(), updated_at: isoNow(), ...extra,
    };
  }

  /** Save a draft and its photos (Blobs by attachment name); returns the new _rev. */
  async saveDraft(draft, photos) {
    const doc = { ...draft, updated_at: isoNow() };
    const attachments = {};
    for (const [name, blob] of photos) attachments[name] = { content_type: blob.type || 'image/jpeg', data: blob };
    doc._attachments = attachments;
    const result = await this.drafts.put(doc);
    draft._rev = result.rev;
    return result.rev;
  }

  /** A draft's photos as Blobs by name. */
  async draftPhotos(draft) {
    const photos = new Map();
    for (const name of Object.keys(draft._attachments || {})) {
      photos.set(name, await this.drafts.getAttachment(draft._id, name));
    }
    return photos;
  }

  async deleteDraft(draft) {
    if (!draft._rev) return;
    await this.drafts.remove(draft._id, draft._rev);
  }

  /** A draft to fix and resend a submission that was refused or has issues. */
  async draftFromSubmission(subId) {
    const doc = await this.db.get(subId);
    const existing = (await this.listDrafts()).find((d) => d.about === subId);
    if (existing) return existing;
    const draft = {
      _id: `draft:${ulid()}`, form: doc.form, form_version: doc.form_version, area: subId.split(':')[0],
      data: JSON.parse(JSON.stringify(doc.data || {})), about: subId, created_at: isoNow(), updated_at: isoNow(),
    };
    const photos = new Map();
    for (const name of Object.keys(doc._attachments || {})) photos.set(name, await this.db.getAttachment(subId, name));
    await this.saveDraft(draft, photos);
    return draft;
  }

  // --- sending -------------------------------------------------------------------

  /**
   * The submission for a draft, written into the replica (it goes with the next
   * sync). A fix of an earlier submission becomes its next revision, so the
   * server settles the refusal or review it answers.
   */
  async send(draft, data, photos) {
    const attachments = {};
    for (const [name, blob] of photos) attachments[name] = { content_type: blob.type || 'image/jpeg', data: blob };
    let doc;
    if (draft.about) {
      const current = await this.db.get(draft.about);
      doc = { ...current, data, form_version: draft.form_version, _attachments: attachments };
    } else {
      doc = {
        _id: docId(draft.area, 'sub'), type: 'submission', form: draft.form, form_version: draft.form_version,
        author: this.user, created_at: draft.created_at || isoNow(), data, _attachments: attachments,
      };
    }
    if (!Object.keys(attachments).length) delete doc._attachments;
    const result = await this.db.put(doc);
    await this.updateOutbox((ids) => {
      ids[doc._id] = result.rev;
    });
    await this.deleteDraft(draft);
    return { id: doc._id, rev: result.rev };
  }

  async outbox() {
    try {
      return (await this.db.get(OUTBOX)).ids || {};
    } catch (err) {
      if (err.status === 404) return {};
      throw err;
    }
  }

  updateOutbox(change) {
    return this.updateLocal(OUTBOX, change);
  }

  async updateLocal(name, change) {
    for (let attempt = 0; attempt < 5; attempt++) {
      let doc;
      try {
        doc = await this.db.get(name);
      } catch (err) {
        if (err.status !== 404) throw err;
        doc = { _id: name, ids: {} };
      }
      change(doc.ids);
      try {
        await this.db.put(doc);
        return;
      } catch (err) {
        if (err.status !== 409) throw err;
      }
    }
  }

  /** Documents the replication pushed (or the server refused): no longer waiting. */
  async markPushed(docs) {
    const sent = docs.filter((d) => d && d._id);
    if (!sent.length) return;
    await this.updateOutbox((ids) => {
      for (const doc of sent) if (ids[doc._id] === doc._rev) delete ids[doc._id];
    });
  }

  feedbackOf(subId) {
    return this.get(feedbackId(subId));
  }

  reviewOf(subId) {
    return this.get(reviewId(subId));
  }
}

/** A revision's generation (the number before the dash). */
function revOrder(rev) {
  return parseInt(String(rev).split('-', 1)[0], 10) || 0;
}

/**
 * Whether a document's leaves include the server's revocation tombstone (a
 * deleted revision whose id is the digest sync/replica/revocation.py gives the
 * child of the revision the device held): the document left the device, even
 * if an unsent edit of it would still win in PouchDB.
 */
function isRevoked(id, leaves) {
  return leaves.some((doc) => {
    const path = doc._deleted && doc._revisions;
    return Boolean(path && path.ids.length > 1 && doc._rev === tombstoneRev(id, `${path.start - 1}-${path.ids[1]}`));
  });
}
