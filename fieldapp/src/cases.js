// Child protection cases on the device: the cases a worker is on (the replica
// sends a case only to its author, coordinator and team), listed with their
// overdue follow-ups first, and a follow-up visit recorded as the case's next
// revision. Pure functions, so Node tests run them.
//
// `checkCase` and `writeDenial` are sync/cases.py's check_case and
// write_denial written again with Python's meanings (lengths in code points,
// calendar dates as date.fromisoformat reads them, Python's == between JSON
// values, keys in code-point order): a follow-up the phone accepts must not be
// refused at the gate after the trip. fieldapp/test/case_rules.json holds the
// server's answers (tests/fieldapp_case_rules.py writes it,
// tests/test_fieldapp_case_rules.py checks it is current).

import SparkMD5 from 'spark-md5';

import { isDate, pyLen } from './children.js';

export const STATUSES = ['open', 'in_progress', 'closed'];
export const TRANSITIONS = { open: ['in_progress', 'closed'], in_progress: ['closed'], closed: ['open'] };
export const RISKS = ['low', 'medium', 'high'];
export const SERVICE_TYPES = ['health', 'psychosocial', 'police', 'legal', 'social_welfare', 'education',
  'family_mediation', 'safehouse', 'one_stop', 'food', 'other'];
export const RESPONSES = ['pending', 'accepted', 'declined', 'implemented'];
export const CLOSURE_REASONS = ['goals_met', 'transferred', 'moved', 'duplicate', 'other'];
export const MODES = ['visit', 'phone'];
export const MAX_TEAM = 20;
export const MAX_TEXT = 4000;
export const MAX_ITEMS = 200;
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CLEAR_FIELDS = ['type', 'author', 'coordinator', 'team', 'former', 'status', 'risk', 'referral', 'opened_at',
  'updated_at', 'updated_by', 'data'];
const COUCH_FIELDS = ['_id', '_rev', '_revisions', '_deleted', '_conflicts', '_attachments'];

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
const get = (obj, key, fallback) => (has(obj, key) ? obj[key] : fallback);

/** Python's truth of a JSON value. */
function pyTruthy(value) {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Python's == between JSON values (True == 1, 1 == 1.0, dicts by keys). */
export function pyEqual(a, b) {
  const numeric = (v) => typeof v === 'number' || typeof v === 'boolean';
  if (numeric(a) && numeric(b)) return Number(a) === Number(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEqual(x, b[i]));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => has(b, k) && pyEqual(a[k], b[k]));
  }
  return a === b;
}

const inList = (value, allowed) => allowed.some((x) => pyEqual(x, value));

function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/** Who may see the case: its author, coordinator and team. */
export function members(doc) {
  if (!isObject(doc)) return new Set();
  const team = Array.isArray(doc.team) ? doc.team : [];
  return new Set([doc.author, doc.coordinator, ...team].filter((n) => typeof n === 'string' && n));
}

/** The team and the coordinator change a case (an author off the team only reads it). */
export function mayChange(user, doc) {
  if (!isObject(doc)) return false;
  const team = Array.isArray(doc.team) ? doc.team : [];
  return user === doc.coordinator || team.includes(user);
}

function sortedNames(doc, name = 'team') {
  const team = doc[name];
  return Array.isArray(team) ? team.filter((t) => typeof t === 'string').sort(byCodePoint) : [];
}

/**
 * Why worker `user` may not write this revision (sync/cases.py write_denial, a
 * user who is not an admin): a text key of i18n.js (`case_<key>`), or null.
 */
export function writeDenial(user, doc, existing) {
  if (existing === null || existing === undefined || pyTruthy(existing._deleted)) {
    if (pyTruthy(doc._deleted)) return 'no_delete';
    return doc.author === user ? null : 'author_you';
  }
  if (!mayChange(user, existing)) return 'not_team';
  if (pyTruthy(doc._deleted)) return 'no_delete';
  if (!pyEqual(get(doc, 'author', null), get(existing, 'author', null))) return 'author_fixed';
  const changed = !pyEqual(get(doc, 'coordinator', null), get(existing, 'coordinator', null))
    || !pyEqual(sortedNames(doc), sortedNames(existing))
    || !pyEqual(sortedNames(doc, 'former'), sortedNames(existing, 'former'));
  if (changed && user !== existing.coordinator) return 'team_by_coordinator';
  return null;
}

/**
 * What is wrong with a case revision given the current one (sync/cases.py
 * check_case), in the server's order: [{field, key}], key a text of i18n.js
 * (`case_<key>`).
 */
export function checkCase(doc, existing) {
  if (pyTruthy(doc._deleted)) return [];
  const problems = [];
  const bad = (field, key) => problems.push({ field, key });
  if (doc.type !== 'case') bad('type', 'type');
  for (const name of Object.keys(doc).filter((k) => !CLEAR_FIELDS.includes(k) && !COUCH_FIELDS.includes(k)).sort(byCodePoint)) {
    bad(name, 'unknown_field');
  }
  const status = get(doc, 'status', null);
  const risk = get(doc, 'risk', null);
  if (!inList(status, STATUSES)) bad('status', 'status');
  if (!inList(risk, RISKS)) bad('risk', 'risk');
  if (typeof doc.coordinator !== 'string' || !NAME_RE.test(doc.coordinator)) bad('coordinator', 'coordinator');
  const former = get(doc, 'former', []);
  if (!Array.isArray(former) || former.length > MAX_ITEMS || !former.every((t) => typeof t === 'string' && NAME_RE.test(t))) {
    bad('former', 'team');
  }
  const team = get(doc, 'team', []);
  if (!Array.isArray(team) || team.length > MAX_TEAM || !team.every((t) => typeof t === 'string' && NAME_RE.test(t))
      || new Set(team).size !== team.length) {
    bad('team', 'team');
  }
  const old = isObject(existing) && !pyTruthy(existing._deleted) ? existing : null;
  if (inList(status, STATUSES)) {
    if (old === null && status !== 'open') bad('status', 'new_open');
    else if (old !== null && STATUSES.includes(old.status) && status !== old.status && !TRANSITIONS[old.status].includes(status)) {
      bad('status', 'transition');
    }
  }
  const data = get(doc, 'data', {});
  if (!isObject(data)) {
    bad('data', 'data');
    return problems;
  }
  checkData(data, status, bad);
  const oldData = old && pyTruthy(old.data) ? old.data : {};
  const oldHistory = (isObject(oldData) && pyTruthy(oldData.history) ? oldData.history : null) || [];
  const history = pyTruthy(data.history) ? data.history : [];
  if (Array.isArray(history) && Array.isArray(oldHistory) && !pyEqual(history.slice(0, oldHistory.length), oldHistory)) {
    bad('data.history', 'history');
  }
  return problems;
}

function checkText(value, field, bad) {
  if (typeof value !== 'string' || pyLen(value) > MAX_TEXT) bad(field, 'text');
}

function checkDate(value, field, bad, required) {
  if ((value === null || value === undefined || value === '') && !required) return;
  if (!isDate(value)) bad(field, 'date');
}

function checkData(data, status, bad) {
  for (const name of ['narrative', 'child_name', 'safety_action']) {
    if (has(data, name) && (typeof data[name] !== 'string' || pyLen(data[name]) > MAX_TEXT)) bad(`data.${name}`, 'text');
  }
  const lists = {};
  for (const name of ['services', 'follow_ups', 'history', 'concerns']) {
    const value = get(data, name, []);
    if (!Array.isArray(value) || value.length > MAX_ITEMS * 5 || (name !== 'history' && value.length > MAX_ITEMS)) {
      bad(`data.${name}`, 'list');
      lists[name] = [];
    } else lists[name] = value;
  }
  lists.services.forEach((item, n) => {
    const where = `data.services[${n}]`;
    if (!isObject(item)) {
      bad(where, 'data');
      return;
    }
    if (!inList(get(item, 'type', null), SERVICE_TYPES)) bad(`${where}.type`, 'choice');
    if (!inList(get(item, 'response', 'pending'), RESPONSES)) bad(`${where}.response`, 'choice');
    checkDate(item.referred_at, `${where}.referred_at`, bad, false);
    checkDate(item.due_by, `${where}.due_by`, bad, false);
    checkText(get(item, 'provider', ''), `${where}.provider`, bad);
  });
  lists.follow_ups.forEach((item, n) => {
    const where = `data.follow_ups[${n}]`;
    if (!isObject(item)) {
      bad(where, 'data');
      return;
    }
    checkDate(item.due, `${where}.due`, bad, true);
    checkDate(item.done_on, `${where}.done_on`, bad, false);
    if (!inList(get(item, 'mode', 'visit'), MODES)) bad(`${where}.mode`, 'choice');
    checkText(get(item, 'notes', ''), `${where}.notes`, bad);
  });
  const closure = get(data, 'closure', null);
  if (status === 'closed') {
    if (!isObject(closure) || !inList(get(closure, 'reason', null), CLOSURE_REASONS)) bad('data.closure.reason', 'closure');
    else checkText(get(closure, 'note', ''), 'data.closure.note', bad);
  } else if (closure !== null && !(isObject(closure) && !Object.keys(closure).length) && inList(status, STATUSES)) {
    bad('data.closure', 'closure_open');
  }
}

// --- the screens ---------------------------------------------------------------------

/** Follow-up visits of a case that is not closed, past their due date and not done (sync/cases.py overdue). */
export function overdue(doc, today) {
  if (doc.status === 'closed') return [];
  return followUps(doc).filter((f) => !pyTruthy(f.done_on) && typeof f.due === 'string' && f.due < today);
}

/** The earliest due date of a follow-up not done yet, or null. */
export function nextDue(doc) {
  const dues = followUps(doc).filter((f) => !pyTruthy(f.done_on) && typeof f.due === 'string').map((f) => f.due).sort();
  return dues.length ? dues[0] : null;
}

function followUps(doc) {
  const list = isObject(doc.data) && Array.isArray(doc.data.follow_ups) ? doc.data.follow_ups : [];
  return list.filter(isObject);
}

const RISK_ORDER = { high: 0, medium: 1, low: 2 };

/**
 * The cases list: one row per case (code, status, risk, next due, overdue
 * count), cases with overdue follow-ups first, then open before closed, higher
 * risk first, the nearest due date first.
 */
export function caseRows(cases, today) {
  return cases.map((doc) => ({
    id: doc._id, code: (isObject(doc.data) && typeof doc.data.child_name === 'string' && doc.data.child_name) || doc._id.split(':')[2],
    status: doc.status, risk: doc.risk, next: nextDue(doc), overdue: overdue(doc, today).length,
  })).sort((a, b) => (b.overdue > 0) - (a.overdue > 0)
    || (a.status === 'closed') - (b.status === 'closed')
    || (RISK_ORDER[a.risk] ?? 3) - (RISK_ORDER[b.risk] ?? 3)
    || String(a.next || '9999').localeCompare(String(b.next || '9999'))
    || (a.id < b.id ? -1 : 1));
}

/**
 * A follow-up visit recorded on the device, as the case page on the server
 * records one: the planned visit `typed.planned` (its index) marked done on
 * `typed.date`, or, with no plan, a visit added as due and done that day;
 * `typed.next` (a date) plans the next one. One history entry
 * (`follow_up_done`) by the worker. `{doc}` to store, or `{problems}` (text
 * keys by field): the device's own checks (a date, not after today), then the
 * write gate's rules (writeDenial, checkCase) against the revision it edits.
 */
export function recordFollowUp(current, typed, user, now, today) {
  const problems = {};
  const date = String(typed.date || '').trim();
  const next = String(typed.next || '').trim();
  const notes = String(typed.notes || '').trim();
  const mode = typed.mode || '';
  if (!isDate(date)) problems.date = 'case_date_required';
  else if (date > today) problems.date = 'case_date_future';
  if (!MODES.includes(mode)) problems.mode = 'case_mode_required';
  if (pyLen(notes) > MAX_TEXT) problems.notes = 'case_text';
  if (next && (!isDate(next) || (isDate(date) && next <= date))) problems.next = 'case_next_bad';
  const visits = (isObject(current.data) && Array.isArray(current.data.follow_ups) ? current.data.follow_ups : []).map((v) => (isObject(v) ? { ...v } : v));
  const planned = typed.planned === '' || typed.planned === null || typed.planned === undefined ? null : Number(typed.planned);
  if (planned !== null && !(Number.isInteger(planned) && isObject(visits[planned]) && !pyTruthy(visits[planned].done_on))) {
    problems.planned = 'case_no_such_visit';
  }
  if (Object.keys(problems).length) return { problems };
  if (planned !== null) {
    visits[planned].done_on = date;
    visits[planned].mode = mode;
    if (notes) visits[planned].notes = notes;
  } else {
    visits.push({ due: date, done_on: date, mode, notes });
  }
  if (next) visits.push({ due: next, done_on: null, mode, notes: '' });
  const doc = {};
  // CouchDB's own fields other than the id and revision (_conflicts, _revisions...) stay out of the new revision.
  for (const [key, value] of Object.entries(current)) if (!key.startsWith('_') || key === '_id' || key === '_rev') doc[key] = value;
  const data = { ...(isObject(current.data) ? current.data : {}) };
  data.follow_ups = visits;
  data.history = [...(Array.isArray(data.history) ? data.history : []), { at: now, by: user, action: 'follow_up_done' }];
  doc.data = data;
  doc.updated_at = now;
  doc.updated_by = user;
  const denial = writeDenial(user, doc, current);
  if (denial) return { problems: { gate: `case_${denial}` } };
  const found = checkCase(doc, current);
  if (found.length) return { problems: { gate: `case_${found[0].key}` }, gate: found };
  return { doc };
}

/** The deleted revision /sync/<user> shows as the child of `parent` (sync/replica/revocation.py tombstone_rev). */
export function tombstoneRev(docid, parent) {
  const gen = parseInt(parent.split('-', 1)[0], 10);
  return `${gen + 1}-${SparkMD5.hash(`fieldsync-revoked\0${docid}\0${parent}`)}`;
}
