// Checks a submission's answers as the server's write gate will: a port of
// schemas/plan.py and schemas/answers.py, with the server's own messages
// (messages.json is schemas/messages.py's catalog; a Python test keeps them equal).
//
// The worker sees, as they type, exactly the problems the server would refuse
// the submission for, in the same words and order, so a form sent from the
// device is not refused weeks later. tests/forms/test_app_validation.py compares
// this with the server on the bundled forms and thousands of altered answers.

import { compileTree, ExpressionError } from '../expr/compile.js';
import { parse } from '../expr/parse.js';
import { fullmatchRegExp } from '../expr/pyregex.js';
import { dateNumber, isoDate, pyLength, pySplit, toString } from '../expr/values.js';
import CATALOG from './messages.json' with { type: 'json' };

export { CATALOG };

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isDict = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const cut = (text, n) => Array.from(text).slice(0, n).join('');

/** The text of a per-language map in `lang`, else English, else any (pick_text). */
export function pickText(texts, lang) {
  if (!texts || !Object.keys(texts).length) return null;
  return texts[lang] || texts.en || Object.values(texts)[0] || null;
}

/** No answer: missing, null, "", [] or a group/repeat holding only those (is_empty). */
export function isEmpty(value) {
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (item === null || item === undefined || item === '') continue;
    if (Array.isArray(item)) stack.push(...item);
    else if (isDict(item)) stack.push(...Object.values(item));
    else return false;
  }
  return true;
}

function inEmpty(v) {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Where each question lives (schemas.scope.index_fields). */
export function indexFields(fields) {
  const index = new Map();
  const walk = (items, repeats, keys) => {
    for (const field of items) {
      if (!index.has(field.name)) {
        index.set(field.name, { field, repeats, keys: [...keys, field.name] });
      }
      if (field.type === 'group') walk(field.fields || [], repeats, [...keys, field.name]);
      else if (field.type === 'repeat') walk(field.fields || [], [...repeats, field.name], []);
    }
  };
  walk(fields, [], []);
  return index;
}

/** Resolves ${name} from inside the given repeats, reading the run's frames. */
class ScopeResolver {
  constructor(index, repeats, withCurrent) {
    this.index = index;
    this.repeats = repeats;
    this.withCurrent = withCurrent;
  }

  reader(name, pos) {
    const info = this.index.get(name);
    if (!info) throw new ExpressionError(`\${${name}} is not a question of this form`, pos);
    const depth = info.repeats.length;
    const keys = info.keys;
    return (env) => {
      let node = env.frames[depth];
      for (const key of keys) {
        if (!isDict(node)) return undefined;
        node = has(node, key) ? node[key] : undefined;
      }
      return node;
    };
  }

  value(name, pos) {
    return this.reader(name, pos);
  }

  repeat(name, pos) {
    return this.reader(name, pos);
  }

  current(pos) {
    if (!this.withCurrent) {
      throw new ExpressionError("'.' (this answer) can only be used in a constraint", pos);
    }
    return (env) => env.current;
  }
}

function condition(text, index, repeats, withCurrent) {
  const resolver = new ScopeResolver(index, repeats, withCurrent);
  const run = compileTree(parse(text), resolver);
  return { run, deferred: Boolean(resolver.deferred) };
}

function show(number) {
  if (typeof number === 'number' && Number.isInteger(number) && Math.abs(number) < 1e21) {
    return BigInt(number).toString();
  }
  return toString(number);
}

const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const DATETIME =
  /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?)(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?$/;
const GEO_NUMBER = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const GEO_KEYS = new Set(['lat', 'lon', 'alt', 'accuracy']);

export function validDate(value) {
  return typeof value === 'string' && value.length === 10 && DATE.test(value) && isoDate(value) !== null;
}

/** `value` as the server reads it (fraction cut to 6 digits), or null if invalid. */
export function isoDatetime(value) {
  if (typeof value !== 'string') return null;
  const match = DATETIME.exec(value);
  if (!match) return null;
  const text = match[1] + (match[2] || '').slice(0, 7) + (match[3] || '');
  return Number.isNaN(dateNumber(text)) ? null : text;
}

export function validGeopoint(value) {
  let numbers;
  if (isDict(value)) {
    if (!has(value, 'lat') || !has(value, 'lon')) return false;
    for (const key of Object.keys(value)) if (!GEO_KEYS.has(key)) return false;
    for (const number of Object.values(value)) {
      if (typeof number !== 'number' || !Number.isFinite(number)) return false;
    }
    numbers = value;
  } else if (typeof value === 'string') {
    const parts = pySplit(value);
    if (parts.length < 2 || parts.length > 4 || parts.some((p) => !GEO_NUMBER.test(p))) return false;
    numbers = {};
    ['lat', 'lon', 'alt', 'accuracy'].forEach((key, i) => {
      if (i < parts.length) numbers[key] = Number(parts[i]);
    });
  } else {
    return false;
  }
  return (
    numbers.lat >= -90 && numbers.lat <= 90 && numbers.lon >= -180 && numbers.lon <= 180 &&
    (has(numbers, 'accuracy') ? numbers.accuracy : 0) >= 0
  );
}

function choiceList(names) {
  const shown = names.slice(0, 12).join(', ');
  return shown + (names.length > 12 ? ', ...' : '');
}

// One answer's check, by type: records problems and says whether the constraint may run.
function makeCheck(field, choiceNames) {
  const range = (lowKey, highKey) => {
    const low = field.min;
    const high = field.max;
    return (value, run, path) => {
      if (low !== undefined && value < low) return run.add(path, lowKey, { min: show(low) });
      if (high !== undefined && value > high) return run.add(path, highKey, { max: show(high) });
      return true;
    };
  };
  switch (field.type) {
    case 'text': {
      const pattern = field.pattern !== undefined ? fullmatchRegExp(field.pattern) : null;
      return (value, run, path) => {
        if (typeof value !== 'string') return run.add(path, 'text');
        let ok = true;
        const length = pyLength(value);
        if (field.min_length !== undefined && length < field.min_length) {
          ok = run.add(path, 'min_length', { n: field.min_length });
        }
        if (field.max_length !== undefined && length > field.max_length) {
          ok = run.add(path, 'max_length', { n: field.max_length });
        }
        if (pattern !== null && !pattern.test(value)) {
          ok = run.addCustom(path, field.constraint_message, 'pattern');
        }
        return ok;
      };
    }
    case 'integer': {
      const inRange = range('min', 'max');
      return (value, run, path) => {
        if (typeof value !== 'number' || !Number.isInteger(value)) return run.add(path, 'integer');
        return inRange(value, run, path);
      };
    }
    case 'decimal': {
      const inRange = range('min', 'max');
      return (value, run, path) => {
        if (typeof value !== 'number' || !Number.isFinite(value)) return run.add(path, 'decimal');
        return inRange(value, run, path);
      };
    }
    case 'date': {
      const inRange = range('min_date', 'max_date');
      return (value, run, path) => {
        if (!validDate(value)) return run.add(path, 'date');
        return inRange(value, run, path);
      };
    }
    case 'datetime': {
      const low = field.min !== undefined ? dateNumber(field.min) : null;
      const high = field.max !== undefined ? dateNumber(field.max) : null;
      return (value, run, path) => {
        const text = isoDatetime(value);
        if (text === null) return run.add(path, 'datetime');
        const moment = dateNumber(text);
        if (low !== null && moment < low) return run.add(path, 'min_date', { min: field.min });
        if (high !== null && moment > high) return run.add(path, 'max_date', { max: field.max });
        return true;
      };
    }
    case 'select_one': {
      const allowed = new Set(choiceNames);
      const listed = choiceList(choiceNames);
      return (value, run, path) => {
        if (typeof value !== 'string') return run.add(path, 'choice_type');
        if (!allowed.has(value)) return run.add(path, 'choice', { value: cut(value, 100), choices: listed });
        return true;
      };
    }
    case 'select_multiple': {
      const allowed = new Set(choiceNames);
      const listed = choiceList(choiceNames);
      return (value, run, path) => {
        if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
          return run.add(path, 'choices_type');
        }
        let ok = true;
        for (const item of value) {
          if (!allowed.has(item)) ok = run.add(path, 'choice', { value: cut(item, 100), choices: listed });
        }
        if (ok && new Set(value).size !== value.length) {
          const seen = new Set();
          for (const item of value) {
            if (seen.has(item)) return run.add(path, 'choice_twice', { value: item });
            seen.add(item);
          }
        }
        return ok;
      };
    }
    case 'geopoint':
      return (value, run, path) => (validGeopoint(value) ? true : run.add(path, 'geopoint'));
    case 'image':
      return (value, run, path) => {
        if (typeof value !== 'string') return run.add(path, 'image_type');
        const attachment = has(run.attachments, value) ? run.attachments[value] : undefined;
        if (attachment === undefined || attachment === null) {
          return run.add(path, 'image_missing', { value: cut(value, 200) });
        }
        const kind = isDict(attachment) ? attachment.content_type : undefined;
        if (typeof kind === 'string' && !kind.startsWith('image/')) {
          return run.add(path, 'image_kind', { value: cut(value, 200), content_type: cut(kind, 100) });
        }
        return true;
      };
    default:
      throw new Error(`unknown field type ${field.type}`);
  }
}

class Run {
  constructor(data, attachments, lang) {
    this.frames = [data];
    this.current = undefined;
    this.attachments = isDict(attachments) ? attachments : {};
    this.lang = lang;
    this.text = has(CATALOG, lang) ? CATALOG[lang] : CATALOG.en;
    this.problems = new Map();
  }

  push(path, message) {
    if (!this.problems.has(path)) this.problems.set(path, []);
    this.problems.get(path).push(message);
    return false;
  }

  add(path, key, params) {
    let message = this.text[key];
    if (params) message = message.replace(/\{(\w+)\}/g, (whole, name) => (has(params, name) ? String(params[name]) : whole));
    return this.push(path, message);
  }

  addCustom(path, texts, fallback) {
    return this.push(path, pickText(texts, this.lang) || this.text[fallback]);
  }
}

/** A form version compiled for checking, rendering and skip logic on the device. */
export class CompiledForm {
  constructor(definition) {
    this.definition = definition;
    this.index = indexFields(definition.fields);
    this.deferred = false; // a pattern or regex() this device cannot check: the server will
    this.relevant = new Map();
    this.constraints = new Map();
    this.checks = new Map();
    const choices = definition.choices || {};
    for (const [name, info] of this.index) {
      const { field, repeats } = info;
      if (field.relevant !== undefined) {
        const compiled = condition(field.relevant, this.index, repeats, false);
        this.relevant.set(name, compiled.run);
        this.deferred ||= compiled.deferred;
      }
      if (field.constraint !== undefined) {
        const compiled = condition(field.constraint, this.index, repeats, true);
        this.constraints.set(name, compiled.run);
        this.deferred ||= compiled.deferred;
      }
      if (!['group', 'repeat', 'note'].includes(field.type)) {
        const names = field.list_name ? (choices[field.list_name] || []).map((c) => c.name) : [];
        this.checks.set(name, makeCheck(field, names));
        if (field.pattern !== undefined && fullmatchRegExp(field.pattern) === null) this.deferred = true;
      }
    }
  }

  /** Is the question shown, given the answers in `frames` (the data, then each repeat entry)? */
  isRelevant(name, frames) {
    const rule = this.relevant.get(name);
    if (!rule) return true;
    return Boolean(rule({ frames, current: undefined }));
  }

  /** Everything the server would refuse: [{field, message}], [] when valid. */
  validate(data, attachments = {}, lang = 'en', { today } = {}) {
    const text = has(CATALOG, lang) ? CATALOG[lang] : CATALOG.en;
    if (!isDict(data)) return [{ field: '', message: text.data }];
    const run = new Run(data, attachments, lang);
    run.today = today;
    this.container(this.definition.fields, data, run, '');
    const out = [];
    for (const [field, messages] of run.problems) for (const message of messages) out.push({ field, message });
    return out;
  }

  relevantIn(name, run) {
    const rule = this.relevant.get(name);
    return !rule || Boolean(rule({ frames: run.frames, today: run.today }));
  }

  container(fields, answers, run, prefix) {
    const known = new Set(fields.map((f) => f.name));
    for (const key of Object.keys(answers)) {
      if (!known.has(key)) run.add(prefix + key, 'unknown', { name: cut(key, 100) });
    }
    for (const field of fields) {
      const name = field.name;
      const value = has(answers, name) ? answers[name] : undefined;
      if (field.type === 'group') this.group(field, value, run, prefix);
      else if (field.type === 'repeat') this.repeat(field, value, run, prefix);
      else if (field.type === 'note') {
        if (!isEmpty(value)) run.add(prefix + name, this.relevantIn(name, run) ? 'note' : 'not_relevant');
      } else this.question(field, value, run, prefix);
    }
  }

  question(field, value, run, prefix) {
    const path = prefix + field.name;
    if (!this.relevantIn(field.name, run)) {
      if (!isEmpty(value)) run.add(path, 'not_relevant');
      return;
    }
    if (inEmpty(value)) {
      if (field.required) run.add(path, 'required');
      return;
    }
    if (!this.checks.get(field.name)(value, run, path)) return;
    const constraint = this.constraints.get(field.name);
    if (constraint && !constraint({ frames: run.frames, current: value, today: run.today })) {
      run.addCustom(path, field.constraint_message, 'constraint');
    }
  }

  group(field, value, run, prefix) {
    const path = prefix + field.name;
    if (!this.relevantIn(field.name, run)) {
      if (!isEmpty(value)) run.add(path, 'not_relevant');
      return;
    }
    if (value === null || value === undefined) value = {};
    else if (!isDict(value)) {
      run.add(path, 'group');
      return;
    }
    this.container(field.fields, value, run, path + '.');
  }

  repeat(field, value, run, prefix) {
    const path = prefix + field.name;
    if (!this.relevantIn(field.name, run)) {
      if (!isEmpty(value)) run.add(path, 'not_relevant');
      return;
    }
    if (value === null || value === undefined) value = [];
    else if (!Array.isArray(value)) {
      run.add(path, 'repeat');
      return;
    }
    if (field.min_count !== undefined && value.length < field.min_count) run.add(path, 'min_count', { n: field.min_count });
    if (field.max_count !== undefined && value.length > field.max_count) run.add(path, 'max_count', { n: field.max_count });
    value.forEach((entry, i) => {
      if (!isDict(entry)) {
        run.add(`${path}[${i}]`, 'entry');
        return;
      }
      run.frames.push(entry);
      this.container(field.fields, entry, run, `${path}[${i}].`);
      run.frames.pop();
    });
  }
}
