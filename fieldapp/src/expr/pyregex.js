// Python regular expressions (the `pattern` of text questions and `regex()` in
// expressions) rewritten as JavaScript RegExps that match the same strings.
//
// The server compiles them with Python's `re`; the two dialects differ in ways a
// form author would never notice until the phone and the server disagree: \d, \w
// and \b are Unicode-aware in Python (so Cyrillic letters are word characters),
// `$` also matches before a final newline, `{,3}` is a quantifier, a `{` that is
// not one is a literal, `(?P<name>...)` names groups. The pattern is read into
// pieces and written out again with every literal escaped, under JavaScript's `u`
// flag. What JavaScript cannot express (possessive quantifiers, atomic and
// conditional groups, scoped flags) raises UnsupportedPattern: the device then
// leaves that check to the server rather than guess.

import { PY_SPACE_CLASS } from './values.js';

export class UnsupportedPattern extends Error {}

const WORD = '\\p{L}\\p{N}_';
const ASCII_WORD = 'A-Za-z0-9_';

function literal(ch) {
  if (/^[A-Za-z0-9]$/.test(ch)) return ch;
  return '\\u{' + ch.codePointAt(0).toString(16) + '}';
}

class Reader {
  constructor(pattern) {
    this.chars = Array.from(pattern);
    this.i = 0;
  }

  get done() {
    return this.i >= this.chars.length;
  }

  peek(offset = 0) {
    return this.chars[this.i + offset];
  }

  next() {
    return this.chars[this.i++];
  }

  match(text) {
    const parts = Array.from(text);
    for (let k = 0; k < parts.length; k++) if (this.chars[this.i + k] !== parts[k]) return false;
    this.i += parts.length;
    return true;
  }
}

/**
 * The JavaScript source and flags matching what Python's re.compile(pattern) matches.
 * Throws UnsupportedPattern for what cannot be translated faithfully.
 */
export function translate(pattern) {
  const reader = new Reader(pattern);
  const flags = { i: false, s: false, m: false, x: false, a: false };
  // Global inline flags, which Python 3.11 only accepts at the very start.
  while (reader.peek() === '(' && reader.peek(1) === '?' && /[aiLmsux]/.test(reader.peek(2) || '')) {
    const save = reader.i;
    reader.i += 2;
    let letters = '';
    while (/[aiLmsux]/.test(reader.peek() || '')) letters += reader.next();
    if (reader.peek() !== ')') {
      reader.i = save;
      break; // a scoped group such as (?i:...), handled (refused) below
    }
    reader.next();
    for (const f of letters) {
      if (f === 'L') throw new UnsupportedPattern('locale flag');
      if (f in flags) flags[f] = true;
    }
  }
  const groups = { count: 0 };
  const source = sequence(reader, flags, groups, 0);
  if (!reader.done) throw new UnsupportedPattern('unbalanced parenthesis');
  return { source, flags: 'u' + (flags.i ? 'i' : '') };
}

function skipVerbose(reader, flags) {
  if (!flags.x) return;
  for (;;) {
    const c = reader.peek();
    if (c === undefined) return;
    if (' \t\n\r\v\f'.includes(c)) {
      reader.next();
    } else if (c === '#') {
      while (!reader.done && reader.peek() !== '\n') reader.next();
    } else {
      return;
    }
  }
}

function sequence(reader, flags, groups, depth) {
  let out = '';
  for (;;) {
    skipVerbose(reader, flags);
    if (reader.done) return out;
    const c = reader.peek();
    if (c === ')') {
      if (depth === 0) throw new UnsupportedPattern('unbalanced parenthesis');
      return out;
    }
    if (c === '|') {
      reader.next();
      out += '|';
      continue;
    }
    out += atom(reader, flags, groups, depth);
    out += quantifier(reader, flags);
  }
}

function quantifier(reader, flags) {
  skipVerbose(reader, flags);
  const c = reader.peek();
  let q = '';
  if (c === '*' || c === '+' || c === '?') {
    reader.next();
    q = c;
  } else if (c === '{') {
    const save = reader.i;
    reader.next();
    if (reader.peek() === '}') {
      reader.i = save;
      return '';
    }
    let lo = '';
    let hi = '';
    while (/[0-9]/.test(reader.peek() || '')) lo += reader.next();
    let comma = false;
    if (reader.peek() === ',') {
      reader.next();
      comma = true;
      while (/[0-9]/.test(reader.peek() || '')) hi += reader.next();
    } else {
      hi = lo;
    }
    if (reader.peek() !== '}') {
      reader.i = save;
      return '';
    }
    reader.next();
    q = `{${lo ? Number(lo) : 0}${comma ? ',' + (hi ? Number(hi) : '') : ''}}`;
  } else {
    return '';
  }
  if (reader.peek() === '?') {
    reader.next();
    q += '?';
  } else if (reader.peek() === '+') {
    throw new UnsupportedPattern('possessive quantifier');
  }
  return q;
}

function atom(reader, flags, groups, depth) {
  const c = reader.next();
  if (c === '(') return group(reader, flags, groups, depth);
  if (c === '[') return charClass(reader, flags);
  if (c === '\\') return escape(reader, flags, false);
  if (c === '.') return flags.s ? '[\\s\\S]' : '[^\\n]';
  if (c === '^') return flags.m ? '(?<![^\\n])' : '^';
  if (c === '$') return flags.m ? '(?![^\\n])' : '(?=\\n?$)';
  if (c === '*' || c === '+' || c === '?') throw new UnsupportedPattern('nothing to repeat');
  if (c === '{') return literal('{');
  return literal(c);
}

function group(reader, flags, groups, depth) {
  if (reader.peek() !== '?') {
    groups.count++;
    return '(' + sequence(reader, flags, groups, depth + 1) + close(reader);
  }
  reader.next();
  if (reader.match(':')) return '(?:' + sequence(reader, flags, groups, depth + 1) + close(reader);
  if (reader.match('=')) return '(?=' + sequence(reader, flags, groups, depth + 1) + close(reader);
  if (reader.match('!')) return '(?!' + sequence(reader, flags, groups, depth + 1) + close(reader);
  if (reader.match('<=')) return '(?<=' + sequence(reader, flags, groups, depth + 1) + close(reader);
  if (reader.match('<!')) return '(?<!' + sequence(reader, flags, groups, depth + 1) + close(reader);
  if (reader.match('P<')) {
    let name = '';
    while (!reader.done && reader.peek() !== '>') name += reader.next();
    reader.next();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UnsupportedPattern('group name');
    groups.count++;
    return `(?<${name}>` + sequence(reader, flags, groups, depth + 1) + close(reader);
  }
  if (reader.match('P=')) {
    let name = '';
    while (!reader.done && reader.peek() !== ')') name += reader.next();
    reader.next();
    return `\\k<${name}>`;
  }
  if (reader.match('#')) {
    while (!reader.done && reader.peek() !== ')') reader.next();
    reader.next();
    return '';
  }
  throw new UnsupportedPattern('group kind');
}

function close(reader) {
  if (reader.next() !== ')') throw new UnsupportedPattern('missing )');
  return ')';
}

// Class bodies for \d \w \s under the pattern's flags (without the brackets).
function shorthand(letter, flags) {
  const ascii = flags.a;
  switch (letter) {
    case 'd':
      return { body: ascii ? '0-9' : '\\p{Nd}', negated: false };
    case 'D':
      return { body: ascii ? '0-9' : '\\p{Nd}', negated: true };
    case 'w':
      return { body: ascii ? ASCII_WORD : WORD, negated: false };
    case 'W':
      return { body: ascii ? ASCII_WORD : WORD, negated: true };
    case 's':
      return { body: ascii ? '\\t\\n\\v\\f\\r ' : PY_SPACE_CLASS, negated: false };
    case 'S':
      return { body: ascii ? '\\t\\n\\v\\f\\r ' : PY_SPACE_CLASS, negated: true };
    default:
      return null;
  }
}

const SIMPLE_ESCAPES = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\u0007' };

function hexDigits(reader, count) {
  let text = '';
  for (let k = 0; k < count; k++) {
    const c = reader.next();
    if (!/[0-9a-fA-F]/.test(c || '')) throw new UnsupportedPattern('bad escape');
    text += c;
  }
  return String.fromCodePoint(parseInt(text, 16));
}

// An escape's literal character, or null when it is not a literal (classes, anchors...).
function escapedChar(reader, c, inClass) {
  if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c];
  if (c === 'x') return hexDigits(reader, 2);
  if (c === 'u') return hexDigits(reader, 4);
  if (c === 'U') return hexDigits(reader, 8);
  if (c === 'b' && inClass) return '\b';
  if (c === '0' || (/[0-7]/.test(c) && inClass)) {
    let text = c;
    while (text.length < 3 && /[0-7]/.test(reader.peek() || '')) text += reader.next();
    return String.fromCodePoint(parseInt(text, 8));
  }
  if (/[0-9A-Za-z]/.test(c)) return null;
  return c;
}

function escape(reader, flags, inClass) {
  const c = reader.next();
  if (c === undefined) throw new UnsupportedPattern('trailing backslash');
  const short = shorthand(c, flags);
  if (short) {
    return short.negated ? `[^${short.body}]` : `[${short.body}]`;
  }
  if (c === 'A') return '^';
  if (c === 'Z') return '$';
  if (c === 'b' || c === 'B') {
    const w = flags.a ? ASCII_WORD : WORD;
    const boundary = `(?:(?<=[${w}])(?![${w}])|(?<![${w}])(?=[${w}]))`;
    return c === 'b' ? boundary : `(?!${boundary})`;
  }
  if (/[1-9]/.test(c)) {
    // A three-digit octal escape, else a group reference.
    if (/[0-7]/.test(c) && /[0-7]/.test(reader.peek() || '') && /[0-7]/.test(reader.peek(1) || '')) {
      const text = c + reader.next() + reader.next();
      return literal(String.fromCodePoint(parseInt(text, 8)));
    }
    let number = c;
    if (/[0-9]/.test(reader.peek() || '')) number += reader.next();
    return `(?:\\${number})`;
  }
  const ch = escapedChar(reader, c, inClass);
  if (ch === null) throw new UnsupportedPattern(`escape \\${c}`);
  return literal(ch);
}

function classItem(reader, flags) {
  const c = reader.next();
  if (c === undefined) throw new UnsupportedPattern('unterminated class');
  if (c !== '\\') return { char: c };
  const e = reader.next();
  if (e === undefined) throw new UnsupportedPattern('trailing backslash');
  const short = shorthand(e, flags);
  if (short) {
    if (!short.negated) return { body: short.body };
    if (e === 'D' && !flags.a) return { body: '\\P{Nd}' };
    throw new UnsupportedPattern(`\\${e} inside a class`);
  }
  const ch = escapedChar(reader, e, true);
  if (ch === null) throw new UnsupportedPattern(`escape \\${e}`);
  return { char: ch };
}

function charClass(reader, flags) {
  let negated = false;
  if (reader.peek() === '^') {
    reader.next();
    negated = true;
  }
  let body = '';
  let first = true;
  for (;;) {
    if (reader.done) throw new UnsupportedPattern('unterminated class');
    if (reader.peek() === ']' && !first) {
      reader.next();
      break;
    }
    first = false;
    const item = classItem(reader, flags);
    if (item.body !== undefined) {
      body += item.body;
      continue;
    }
    if (reader.peek() === '-' && reader.peek(1) !== ']' && reader.peek(1) !== undefined) {
      reader.next();
      const end = classItem(reader, flags);
      if (end.body !== undefined) throw new UnsupportedPattern('bad range');
      body += literal(item.char) + '-' + literal(end.char);
    } else {
      body += literal(item.char);
    }
  }
  return negated ? `[^${body}]` : `[${body}]`;
}

const cache = new Map();

/** A RegExp that searches as Python's pattern.search does; null when unsupported. */
export function searchRegExp(pattern) {
  const key = 's' + pattern;
  if (!cache.has(key)) cache.set(key, build(pattern, (s) => s));
  return cache.get(key);
}

/** A RegExp that tests as Python's pattern.fullmatch does; null when unsupported. */
export function fullmatchRegExp(pattern) {
  const key = 'f' + pattern;
  if (!cache.has(key)) cache.set(key, build(pattern, (s) => `^(?:${s})$`));
  return cache.get(key);
}

function build(pattern, wrap) {
  try {
    const { source, flags } = translate(pattern);
    return new RegExp(wrap(source), flags);
  } catch (err) {
    if (err instanceof UnsupportedPattern || err instanceof SyntaxError) return null;
    throw err;
  }
}
