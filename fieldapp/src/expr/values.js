// Values of the expression language, exactly as schemas/evaluation.py defines them.
//
// The server validates every submission with Python; the device must reach the
// same verdict while the worker types, or a form that looked fine on the phone
// is refused weeks later. So every conversion here mirrors a Python one, down to
// Python's own rules: its whitespace (str.isspace, wider than JavaScript's \s),
// its float repr (1e+16, 1000000000000000.0), lengths in code points, and
// datetime.fromisoformat of Python 3.11 for dates used as numbers.
// The shared corpus (schemas/expression_corpus.json) checks every case both ways.

// Python's str.isspace() characters (also what re's \s matches in str patterns).
export const PY_SPACE_CHARS =
  '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680' +
  '\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a' +
  '\u2028\u2029\u202f\u205f\u3000';
const SPACE_SET = new Set(PY_SPACE_CHARS);
// The same set as a regex class body (every character escaped).
export const PY_SPACE_CLASS = [...PY_SPACE_CHARS]
  .map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  .join('');

export function isPySpace(ch) {
  return SPACE_SET.has(ch);
}

/** str.split() with no argument: runs of whitespace separate, none at the ends. */
export function pySplit(text) {
  const out = [];
  let word = '';
  for (const ch of text) {
    if (SPACE_SET.has(ch)) {
      if (word) out.push(word);
      word = '';
    } else {
      word += ch;
    }
  }
  if (word) out.push(word);
  return out;
}

/** str.strip() with no argument. */
export function pyStrip(text) {
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  while (start < end && SPACE_SET.has(chars[start])) start++;
  while (end > start && SPACE_SET.has(chars[end - 1])) end--;
  return chars.slice(start, end).join('');
}

/** len() of a Python str: code points, not UTF-16 units. */
export function pyLength(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

// --- conversions ----------------------------------------------------------------

const GEO_KEYS = ['lat', 'lon', 'alt', 'accuracy'];

function isNumber(raw) {
  return typeof raw === 'number';
}

/** The expression value of a JSON answer, whatever its shape (to_value). */
export function toValue(raw) {
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (raw === null || raw === undefined) return '';
  if (typeof raw === 'number') return raw;
  if (Array.isArray(raw)) return raw.filter((item) => typeof item === 'string').join(' ');
  if (typeof raw === 'object') {
    const parts = [];
    for (const key of GEO_KEYS) {
      if (Object.prototype.hasOwnProperty.call(raw, key) && isNumber(raw[key])) {
        parts.push(toString(toValue(raw[key])));
      }
    }
    return parts.join(' ');
  }
  return '';
}

const NUMERIC = new RegExp(
  `^[${PY_SPACE_CLASS}]*(-?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+))[${PY_SPACE_CLASS}]*$`,
);
const DATE_LIKE = new RegExp(
  `^[${PY_SPACE_CLASS}]*([0-9]{4}-[0-9]{2}-[0-9]{2})(T[0-9:.]+(?:Z|[+-][0-9:]+)?)?[${PY_SPACE_CLASS}]*$`,
);

/** XPath number(): numbers as they are, dates as days since 1970, else NaN (to_number). */
export function toNumber(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') return textNumber(value);
  return toNumber(toValue(value));
}

function textNumber(text) {
  const match = NUMERIC.exec(text);
  if (match) return Number(match[1]);
  return dateNumber(text);
}

// Days from 1970-01-01 to a proleptic Gregorian date (as date.toordinal() differences).
function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year, month) {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** [year, month, day] of "YYYY-MM-DD", or null when date.fromisoformat refuses it. */
export function isoDate(text) {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return [year, month, day];
}

const DIGIT = /[0-9]/;

// CPython 3.11's parse_hh_mm_ss_ff (Modules/_datetimemodule.c), which the server's
// datetime.fromisoformat runs; `end` bounds the component, while reads past it see
// the rest of the string (or '\0' at its end), as the C code does.
function parseHhMmSsFf(s, start, end) {
  const at = (i) => (i < s.length ? s[i] : '\0');
  const vals = [0, 0, 0];
  let micro = 0;
  let p = start;
  let hasSeparator = true;
  const digits = (count) => {
    let value = 0;
    for (let k = 0; k < count; k++) {
      const c = at(p);
      if (!DIGIT.test(c)) return null;
      value = value * 10 + Number(c);
      p++;
    }
    return value;
  };
  let fraction = true;
  for (let i = 0; i < 3; i++) {
    const value = digits(2);
    if (value === null) return { rv: -3 };
    vals[i] = value;
    const c = at(p);
    p++;
    if (i === 0) hasSeparator = c === ':';
    if (p >= end) return { rv: c !== '\0' ? 1 : 0, vals, micro };
    if (hasSeparator && c === ':') continue;
    if (c === '.' || c === ',') break;
    if (!hasSeparator) {
      p--;
    } else {
      return { rv: -4 };
    }
  }
  if (fraction) {
    const remains = end - p;
    const toParse = remains >= 6 ? 6 : remains;
    const value = digits(toParse);
    if (value === null) return { rv: -3 };
    micro = toParse < 6 ? value * [100000, 10000, 1000, 100, 10][toParse - 1] : value;
    while (DIGIT.test(at(p))) p++;
  }
  return { rv: at(p) !== '\0' ? 1 : 0, vals, micro };
}

// [hour, minute, second, microsecond, offset in µs or null], or null where Python raises.
function parseIsoTime(s, start) {
  let tz = start;
  while (tz < s.length && !'Z+-'.includes(s[tz])) tz++;
  const time = parseHhMmSsFf(s, start, tz);
  if (time.rv < 0) return null;
  const [hour, minute, second] = time.vals;
  if (tz === s.length) {
    if (time.rv === 1) return null;
    return [hour, minute, second, time.micro, null];
  }
  if (s[tz] === 'Z') {
    return tz + 1 === s.length ? [hour, minute, second, time.micro, 0] : null;
  }
  const sign = s[tz] === '-' ? -1 : 1;
  const zone = parseHhMmSsFf(s, tz + 1, s.length);
  if (zone.rv !== 0) return null;
  const [zh, zm, zs] = zone.vals;
  const offset = sign * ((zh * 3600 + zm * 60 + zs) * 1e6 + zone.micro);
  if (Math.abs(offset) >= 86400e6) return null; // timezone() wants strictly less than a day
  return [hour, minute, second, time.micro, offset];
}

/**
 * Days since 1970-01-01 of an ISO date or date-time string, NaN otherwise (date_number).
 * Times without an offset count as UTC.
 */
export function dateNumber(text) {
  if (pyLength(text) >= 64) return NaN;
  const match = DATE_LIKE.exec(text);
  if (!match) return NaN;
  const ymd = isoDate(match[1]);
  if (ymd === null) return NaN;
  const days = daysFromCivil(...ymd);
  if (match[2] === undefined) return days;
  const stripped = pyStrip(text);
  const time = parseIsoTime(stripped, 11);
  if (time === null) return NaN;
  const [hour, minute, second, micro, offset] = time;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  const total =
    BigInt(days) * 86400000000n +
    BigInt((hour * 3600 + minute * 60 + second) * 1e6 + micro) -
    BigInt(offset || 0);
  return ratioToDouble(total, 1000000n) / 86400;
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

/** a / b for integers, rounded once to the nearest double (Python's int / int). */
export function ratioToDouble(a, b) {
  if (a === 0n) return 0;
  const negative = a < 0n;
  let n = negative ? -a : a;
  let d = b;
  const shift = 55 - (bitLength(n) - bitLength(d));
  if (shift >= 0) n <<= BigInt(shift);
  else d <<= BigInt(-shift);
  let q = n / d;
  const sticky = n % d !== 0n;
  const extra = bitLength(q) - 53;
  const low = q & ((1n << BigInt(extra)) - 1n);
  q >>= BigInt(extra);
  const half = 1n << BigInt(extra - 1);
  if (low > half || (low === half && (sticky || (q & 1n) === 1n))) q += 1n;
  const result = Number(q) * 2 ** (extra - shift);
  return negative ? -result : result;
}

/** repr() of a finite, non-integral-or-huge Python float. */
function floatRepr(value) {
  const [mantissa, exponentText] = value.toExponential().split('e');
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const exponent = Number(exponentText);
  let out;
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.length > 1 ? '.' + digits.slice(1) : '';
    const sign = exponent < 0 ? '-' : '+';
    out = digits[0] + rest + 'e' + sign + String(Math.abs(exponent)).padStart(2, '0');
  } else if (exponent >= 0) {
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1) || '0';
    out = whole + '.' + fraction;
  } else {
    out = '0.' + '0'.repeat(-exponent - 1) + digits;
  }
  return negative ? '-' + out : out;
}

/** XPath string() as the server writes it (to_string). */
export function toString(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value === 0 ? 0 : value);
    return floatRepr(value);
  }
  return toString(toValue(value));
}

/** XPath boolean() (to_bool). */
export function toBool(value) {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value !== '';
  return toBool(toValue(value));
}

/** `=` (equals): booleans if either side is one, else numbers if either is, else text. */
export function equals(a, b) {
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return toBool(a) === toBool(b);
  if (typeof a === 'number' || typeof b === 'number') return toNumber(a) === toNumber(b);
  return toString(a) === toString(b);
}
