// The child register on the device: a family's children (<area>:child:<key>
// documents naming the family), a new child checked by the server's own rule
// before it is stored, and a child's growth visits with the values the server
// derived from them. Pure functions, so Node tests run them.
//
// `checkChild` is sync/families.py's check_child written again in JavaScript,
// rule for rule: a child the device accepts must not be refused by the write
// gate weeks later, out of the field. Where the two languages differ (which
// characters are white space, how long a string is, how dates are parsed,
// what is "true", how keys sort), Python's meaning is the one kept; the cases
// are in fieldapp/test/child_rules.json, answered by the server
// (tests/fieldapp_child_rules.py writes it, tests/test_fieldapp_child_rules.py
// checks it is what the server says today).

import { linkType } from './registers.js';

/** The child document's own fields (CHILD_FIELDS) and CouchDB's (COUCH_FIELDS). */
export const CHILD_FIELDS = ['type', 'name', 'sex', 'dob', 'family', 'bag', 'created_at', 'author'];
const COUCH_FIELDS = ['_id', '_rev', '_deleted', '_revisions', '_attachments', '_conflicts'];
export const SEXES = ['f', 'm'];
export const MAX_NAME = 200;

// Python's str.isspace(): what str.strip() removes and what \s matches in a str
// pattern. JavaScript's \s and trim() also take U+FEFF and leave U+001C-U+001F, U+0085.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIPPED = new RegExp(`^[${PY_SPACE}]*$`, 'u');
// sync/ids.py's ID_RE, with Python's \s and code-point counts ({0,200} of characters, not UTF-16 units).
const ID_RE = new RegExp(`^([a-z0-9][a-z0-9-]{0,62}):([a-z][a-z0-9_-]{0,31}):([^:${PY_SPACE}][^${PY_SPACE}]{0,200})$`, 'u');
const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/; // Python's \d takes other digits too, but date.fromisoformat refuses them

/** Python's truth of a JSON value: empty lists, objects and strings, 0 and null are false. */
function pyTruthy(value) {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Length in characters (code points), as Python's len(). */
export function pyLen(text) {
  return [...text].length;
}

/** Python's sort order of strings: by code point (JavaScript's default sorts UTF-16 units). */
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/** sync/ids.py's parse_doc_id: {scope, kind, key} or null. */
export function parseId(id) {
  const match = typeof id === 'string' ? ID_RE.exec(id) : null;
  return match ? { scope: match[1], kind: match[2], key: match[3] } : null;
}

/** A real calendar date written YYYY-MM-DD (date.fromisoformat on what DATE_RE lets through). */
export function isDate(value) {
  if (typeof value !== 'string' || !DATE_RE.test(value)) return false;
  const [year, month, day] = value.split('-').map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** The device's date as YYYY-MM-DD (the server compares with its own date.today()). */
export function localDate(now = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${String(now.getFullYear()).padStart(4, '0')}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * What is wrong with a child's register document, field by field, in the
 * server's order: `[{field, key, params}]` (key: a text of i18n.js,
 * `child_<key>`). `today` is a YYYY-MM-DD date.
 */
export function checkChild(doc, today) {
  if (pyTruthy(doc._deleted)) return [];
  const area = String(doc._id).split(':')[0];
  const problems = [];
  const bad = (field, key, params = {}) => problems.push({ field, key, params });
  if (doc.type !== 'child') bad('type', 'type', { want: 'child' });
  for (const name of Object.keys(doc).filter((k) => !CHILD_FIELDS.includes(k) && !COUCH_FIELDS.includes(k)).sort(byCodePoint)) {
    bad(name, 'unknown_field', { name });
  }
  const name = doc.name;
  if (typeof name !== 'string' || STRIPPED.test(name) || pyLen(name) > MAX_NAME) bad('name', 'name', { most: MAX_NAME });
  if (!SEXES.includes(doc.sex)) bad('sex', 'sex');
  if (!isDate(doc.dob) || doc.dob > today) bad('dob', 'dob');
  const family = parseId(doc.family);
  if (!family || family.scope !== area || family.kind !== 'fam') bad('family', 'family', { area });
  return problems;
}

/**
 * A new child of `family` from what the worker typed: `{doc}` to store, or
 * `{problems}` (text keys by field, as checkChild finds them). The name's
 * white space is tidied first (as a family's is); the bag is the family's.
 */
export function newChild(family, typed, id, user, now, today) {
  const doc = { _id: id, type: 'child', name: String(typed.name ?? '').trim().replace(/\s+/g, ' '),
    sex: typed.sex || null, dob: typed.dob || null, family: family._id };
  if (typeof family.bag === 'string' && family.bag) doc.bag = family.bag;
  doc.author = user;
  doc.created_at = now;
  for (const key of ['sex', 'dob']) if (doc[key] === null) delete doc[key];
  const problems = checkChild(doc, today);
  if (problems.length) return { problems: Object.fromEntries(problems.map((p) => [p.field, `child_${p.key}`])) };
  return { doc };
}

/**
 * A register child corrected (name, sex, birth date, bag, family) as the next
 * revision of the same document: `{doc}` (with the `_rev` it was made from) or
 * `{problems}` as newChild gives them, checked by the same rule. The rest of
 * the document (author, created_at) stays as it was.
 */
export function editChild(child, typed, today) {
  const doc = {};
  for (const [key, value] of Object.entries(child)) if (!key.startsWith('_') || key === '_id' || key === '_rev') doc[key] = value;
  doc.name = String(typed.name ?? '').trim().replace(/\s+/g, ' ');
  if (typed.sex) doc.sex = typed.sex; else delete doc.sex;
  if (typed.dob) doc.dob = typed.dob; else delete doc.dob;
  if (typed.family) doc.family = typed.family; else delete doc.family;
  const bag = String(typed.bag ?? '').trim().replace(/\s+/g, ' ');
  if (bag) doc.bag = bag; else delete doc.bag;
  const problems = checkChild(doc, today);
  if (problems.length) return { problems: Object.fromEntries(problems.map((p) => [p.field, `child_${p.key}`])) };
  return { doc };
}

/** The register key of a child document id (what a growth visit's child_id answers). */
export function childKey(id) {
  const parsed = parseId(id);
  return parsed && parsed.kind === 'child' ? parsed.key : null;
}

/** The family's children among the area's child documents, oldest first (as the server's family page). */
export function childrenOf(familyId, children) {
  return children
    .filter((child) => child && child.type === 'child' && child.family === familyId)
    .sort((a, b) => String(a.dob || '').localeCompare(String(b.dob || '')) || String(a.name || '').localeCompare(String(b.name || ''), 'mn'));
}

/**
 * The submissions naming the child: `data.child_id` is its register key (the
 * server's reports and family page link them the same way), in its own area.
 * Newest visit first (the visit date, then when it was written).
 */
export function childVisits(child, submissions) {
  const parsed = parseId(child._id);
  if (!parsed) return [];
  const when = (sub) => String((sub.data && sub.data.visit_date) || String(sub.created_at || '').slice(0, 10));
  return submissions
    .filter((sub) => sub && String(sub._id).startsWith(`${parsed.scope}:sub:`) && sub.data && typeof sub.data === 'object'
      && sub.data.child_id === parsed.key)
    .sort((a, b) => when(b).localeCompare(when(a)) || String(b.created_at || '').localeCompare(String(a.created_at || ''))
      || (a._id < b._id ? 1 : -1));
}

/** The id of the server's derived values of a submission (sync/derived.py). */
export function derivedId(subId) {
  const parsed = parseId(subId);
  return parsed && parsed.kind === 'sub' ? `${parsed.scope}:derived:${parsed.key}` : null;
}

/** The nutrition classes a child's page shows, in programmes/nutrition.py's order. */
export const CLASSES = ['stunting', 'wasting', 'underweight', 'weight_for_length', 'muac_class', 'acute_malnutrition'];
const Z = [['zlen', 'flen'], ['zwei', 'fwei'], ['zwfl', 'fwfl']];

/**
 * What a child's page shows of one growth visit: the measurements, and the
 * server's classes and z-scores when its derived document describes this very
 * revision of the submission (`about_rev`): an edit not yet synced has none yet.
 */
export function growthRow(sub, derived) {
  const data = sub.data || {};
  const row = {
    id: sub._id, date: data.visit_date || String(sub.created_at || '').slice(0, 10),
    weight_kg: data.weight_kg, lenhei_cm: data.lenhei_cm, position: data.position, muac_mm: data.muac_mm,
    oedema: data.oedema === 'yes', classes: null, z: null, referral: false,
  };
  const values = derived && derived.type === 'derived' && derived.about === sub._id && derived.about_rev === sub._rev
    ? derived.derived : null;
  if (values && typeof values === 'object') {
    row.classes = CLASSES.filter((name) => typeof values[name] === 'string').map((name) => ({ name, value: values[name] }));
    row.z = Z.filter(([z, flag]) => typeof values[z] === 'number' && values[flag] !== 1).map(([z]) => ({ name: z, value: values[z] }));
    row.referral = values.referral_needed === true;
  }
  return row;
}

/**
 * The answers a visit started from a child's page begins with: the child's
 * key in the form's `register:child` questions, its family in the
 * `register:family` ones, and what the register knows of the child (name,
 * sex, birth date, bag) in the form's top-level questions of those names
 * (growth_visit's `child_name`, `sex`, `dob`, `bag`), so the worker does not
 * type again what is on record; each can still be changed.
 */
export function childPrefill(definition, child) {
  const data = {};
  const key = childKey(child._id);
  const known = { child_name: child.name, sex: child.sex, dob: child.dob, bag: child.bag };
  for (const field of definition.fields || []) {
    const type = linkType(field);
    if (type === 'child' && key) data[field.name] = key;
    else if (type === 'family' && typeof child.family === 'string') data[field.name] = child.family;
    else if (field.name in known && typeof known[field.name] === 'string' && known[field.name]) {
      const ok = (field.name === 'sex' && field.type === 'select_one') || (field.name === 'dob' && field.type === 'date')
        || (['child_name', 'bag'].includes(field.name) && field.type === 'text');
      if (ok) data[field.name] = known[field.name];
    }
  }
  return data;
}
