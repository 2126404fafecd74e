// What the worker types, turned into the answers a submission carries, and back.
//
// Answers are kept as typed while the worker is on the form (so a half-typed
// "12," shows "Enter a number" rather than vanishing); `prune` makes the data a
// submission sends: answers to questions the skip logic hides are dropped, as
// ODK does, and empty answers are left out.

const INTEGER = /^[+-]?[0-9]+$/;
const DECIMAL = /^[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)$/;

/** The answer for what was typed into a text-like input of `field`. */
export function parseInput(field, raw) {
  if (raw === undefined || raw === null) return undefined;
  const text = String(raw);
  const trimmed = text.trim();
  switch (field.type) {
    case 'integer':
      if (trimmed === '') return undefined;
      return INTEGER.test(trimmed) && Number.isSafeInteger(Number(trimmed)) ? Number(trimmed) : text;
    case 'decimal':
      if (trimmed === '') return undefined;
      return DECIMAL.test(trimmed) ? Number(trimmed.replace(',', '.')) : text;
    case 'date':
      return trimmed === '' ? undefined : trimmed;
    case 'datetime':
      return trimmed === '' ? undefined : withOffset(trimmed);
    default:
      return text === '' ? undefined : text;
  }
}

/** "2026-05-10T14:30" from a datetime-local input, with this device's UTC offset. */
export function withOffset(local, date = new Date()) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return local;
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n) => String(Math.abs(n)).padStart(2, '0');
  const seconds = local.length === 16 ? ':00' : '';
  return `${local}${seconds}${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** What to show in a text-like input for an answer. */
export function formatInput(field, value) {
  if (value === undefined || value === null) return '';
  if (field.type === 'datetime' && typeof value === 'string') return value.slice(0, 16);
  return String(value);
}

function emptyAnswer(value) {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

/**
 * The data to send: answers of hidden questions (skip logic) dropped, empty
 * answers left out, groups and repeat entries kept as objects.
 */
export function prune(compiled, data) {
  // Skip rules read the data and the repeat entries the question is in.
  const frames = [data || {}];
  const walk = (fields, answers) => {
    const out = {};
    for (const field of fields) {
      const value = answers[field.name];
      if (field.type === 'note' || !compiled.isRelevant(field.name, frames)) continue;
      if (field.type === 'group') {
        const inner = walk(field.fields, isObject(value) ? value : {});
        if (Object.keys(inner).length) out[field.name] = inner;
      } else if (field.type === 'repeat') {
        if (!Array.isArray(value) || !value.length) continue;
        out[field.name] = value.map((entry) => {
          const frame = isObject(entry) ? entry : {};
          frames.push(frame);
          const kept = walk(field.fields, frame);
          frames.pop();
          return kept;
        });
      } else if (!emptyAnswer(value)) {
        out[field.name] = value;
      }
    }
    return out;
  };
  return walk(compiled.definition.fields, frames[0]);
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The latest published version of each form, by form name, from the replica's form documents. */
export function latestForms(formDocs) {
  const latest = new Map();
  for (const doc of formDocs) {
    if (doc.status !== 'published') continue;
    const seen = latest.get(doc.form);
    if (!seen || doc.version > seen.version) latest.set(doc.form, doc);
  }
  return [...latest.values()].sort((a, b) => a.form.localeCompare(b.form));
}

/** The form definition inside a form document (as sync/forms.py's definition_of). */
export function definitionOf(doc) {
  const out = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!key.startsWith('_') && !['type', 'published_at', 'updated_at'].includes(key)) out[key] = value;
  }
  out.choices = out.choices || {};
  return out;
}

/** The image answers of data (attachment names), wherever they are. */
export function imageNames(definition, data) {
  const names = [];
  const walk = (fields, answers) => {
    if (!answers || typeof answers !== 'object') return;
    for (const field of fields) {
      const value = answers[field.name];
      if (field.type === 'image' && typeof value === 'string') names.push(value);
      else if (field.type === 'group') walk(field.fields, value);
      else if (field.type === 'repeat' && Array.isArray(value)) value.forEach((entry) => walk(field.fields, entry));
    }
  };
  walk(definition.fields, data);
  return names;
}
