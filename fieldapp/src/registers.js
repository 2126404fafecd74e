// Registers: the families, ger-kindergartens, children and scored facilities
// of the worker's areas, as the replica holds them (<area>:fam:<key>,
// <area>:kg:<key>, <area>:child:<key>, <area>:fac:<key>), and the visits made
// to each (a facility's: its scorecard cycles, `register:facility`). A form links a visit to an
// entry through a text field whose `appearance` is `register:family` (or
// `register:kindergarten`): its answer is the entry's id; `register:child`
// answers the child's key instead (growth_visit's child_id, as the server's
// reports read it). Pure functions, so Node tests run them on the bundled forms.

/** Register type by the kind in a document id. */
export const KINDS = { fam: 'family', kg: 'kindergarten', child: 'child', fac: 'facility' };
/** The registers listed on their own page (a child is found through its family). */
export const LISTED = ['family', 'kindergarten'];
export const TYPES = Object.fromEntries(Object.entries(KINDS).map(([kind, type]) => [type, kind]));

/** 'family' or 'kindergarten' for a register document id, else null. */
export function registerType(id) {
  const parts = String(id).split(':');
  return parts.length === 3 ? KINDS[parts[1]] || null : null;
}

/** The register type a field links to ('family' for appearance `register:family`), else null. */
export function linkType(field) {
  const match = /^register:([a-z_]+)$/.exec((field && field.appearance) || '');
  return field && field.type === 'text' && match && TYPES[match[1]] ? match[1] : null;
}

/** What a link question answers for an entry: a child's key, any other entry's id. */
export function linkValue(entry) {
  const parts = String(entry._id).split(':');
  return parts.length === 3 && parts[1] === 'child' ? parts[2] : entry._id;
}

/**
 * Names of the form's top-level fields that link to entries of `type`: where a
 * visit started from an entry writes the entry's id.
 */
export function linkFields(definition, type) {
  return (definition.fields || []).filter((field) => linkType(field) === type).map((field) => field.name);
}

/** The data a new visit of `entry` starts with: its id in every link field of the form. */
export function prefill(definition, entry) {
  const data = {};
  for (const name of linkFields(definition, registerType(entry._id))) data[name] = linkValue(entry);
  return data;
}

function fold(text) {
  return String(text || '').toLocaleLowerCase('mn').normalize('NFC').replace(/\s+/g, ' ').trim();
}

/**
 * Entries whose name or bag contains every word of `query` (case-folded, so
 * "дорж" finds "Доржийн Батбаяр"), sorted by name.
 */
export function search(entries, query) {
  const words = fold(query).split(' ').filter(Boolean);
  return entries
    .filter((entry) => {
      const text = `${fold(entry.name)} ${fold(entry.bag)}`;
      return words.every((word) => text.includes(word));
    })
    .sort((a, b) => String(a.name || '').localeCompare(String(b.name || ''), 'mn') || (a._id < b._id ? -1 : 1));
}

/**
 * Submissions about the entry: those whose answers name its id at the top of
 * their data (a link field), newest first. A register id is unique across
 * devices (a ULID), so an answer equal to it is a link whatever the form.
 */
export function visitsOf(entryId, submissions) {
  return submissions
    .filter((sub) => sub && sub.data && typeof sub.data === 'object'
      && Object.values(sub.data).some((value) => value === entryId))
    .sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')) || (a._id < b._id ? 1 : -1));
}

/**
 * A new register entry from what the worker typed: `{doc}` to store, or
 * `{problems}` (text keys by field). Names are required (at most 100
 * characters); a count, if given, is a whole number from 0 to 500.
 */
export function newEntry(type, typed, id, user, now) {
  const name = String(typed.name || '').trim().replace(/\s+/g, ' ');
  const bag = String(typed.bag || '').trim().replace(/\s+/g, ' ');
  const countField = type === 'family' ? 'members' : 'children';
  const countText = String(typed.count || '').trim();
  const problems = {};
  if (!name) problems.name = 'entry_name_required';
  else if ([...name].length > 100) problems.name = 'entry_name_long';
  if ([...bag].length > 100) problems.bag = 'entry_bag_long';
  if (countText && !(/^[0-9]{1,3}$/.test(countText) && Number(countText) <= 500)) problems.count = 'entry_count_bad';
  if (Object.keys(problems).length) return { problems };
  const doc = { _id: id, type, name };
  if (bag) doc.bag = bag;
  if (countText) doc[countField] = Number(countText);
  doc.author = user;
  doc.created_at = now;
  return { doc };
}

/**
 * A family or kindergarten corrected (name, bag, household members or
 * children): the next revision of the same document, checked as a new entry
 * is; its other fields (location, author, created_at...) stay as they were.
 */
export function editEntry(type, current, typed) {
  const made = newEntry(type, typed, current._id, current.author, current.created_at);
  if (made.problems) return made;
  const doc = {};
  for (const [key, value] of Object.entries(current)) if (!key.startsWith('_') || key === '_id' || key === '_rev') doc[key] = value;
  const countField = type === 'family' ? 'members' : 'children';
  doc.name = made.doc.name;
  if (made.doc.bag) doc.bag = made.doc.bag; else delete doc.bag;
  if (countField in made.doc) doc[countField] = made.doc[countField]; else delete doc[countField];
  return { doc };
}

/** Visit count and latest visit per entry id, from one pass over the submissions. */
export function visitSummary(submissions) {
  const out = new Map();
  for (const sub of submissions) {
    if (!sub || !sub.data || typeof sub.data !== 'object') continue;
    for (const value of Object.values(sub.data)) {
      if (typeof value !== 'string' || !registerType(value)) continue;
      const seen = out.get(value) || { count: 0, last: '' };
      seen.count += 1;
      if (String(sub.created_at || '') > seen.last) seen.last = String(sub.created_at || '');
      out.set(value, seen);
    }
  }
  return out;
}
