// Meaning of the expression language: a port of schemas/evaluation.py's closures.
//
// A parsed expression is compiled once into nested closures, as on the server,
// and compiling refuses what the server refuses, in the same order and words
// (unknown functions, argument counts, regex() and count() misuse), so the first
// error a form author sees is the same on both. Values are strings, numbers and
// booleans; an unanswered question is ''.

import { ExpressionError, parse } from './parse.js';
import { searchRegExp } from './pyregex.js';
import {
  equals,
  pyLength,
  pySplit,
  pyStrip,
  toBool,
  toNumber,
  toString,
  toValue,
} from './values.js';

// 10.0 ** k as Python computes it (each the correctly rounded power, as the literal is).
const POWERS = {};
for (let k = -15; k <= 15; k++) POWERS[k] = Number(`1e${k}`);

function fnRound(value, digits = 0) {
  const number = toNumber(value);
  let places = toNumber(digits);
  if (!Number.isFinite(number) || !Number.isFinite(places)) {
    return Number.isNaN(places) ? NaN : number;
  }
  places = Math.trunc(Math.max(-15, Math.min(15, places))) + 0;
  const scale = POWERS[places];
  const scaled = number * scale + 0.5;
  if (!Number.isFinite(scaled)) return number;
  // XPath rounds halves up (towards +infinity).
  return (Math.floor(scaled) + 0) / scale;
}

function fnInt(value) {
  const number = toNumber(value);
  return Number.isFinite(number) ? Math.trunc(number) + 0 : number;
}

/** Today's date on this device, "YYYY-MM-DD" in local time (the server uses its own). */
export function localToday() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${String(now.getFullYear()).padStart(4, '0')}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

// name -> [fewest arguments, most (null: any), implementation(env-less values..., options)]
const FUNCTIONS = {
  selected: [2, 2, (values, choice) => pySplit(toString(values)).includes(pyStrip(toString(choice)))],
  'count-selected': [1, 1, (values) => pySplit(toString(values)).length],
  'string-length': [1, 1, (v) => pyLength(toString(v))],
  contains: [2, 2, (a, b) => toString(a).includes(toString(b))],
  'starts-with': [2, 2, (a, b) => toString(a).startsWith(toString(b))],
  concat: [1, null, (...parts) => parts.map(toString).join('')],
  string: [1, 1, toString],
  number: [1, 1, toNumber],
  boolean: [1, 1, toBool],
  int: [1, 1, fnInt],
  round: [1, 2, fnRound],
  not: [1, 1, (v) => !toBool(v)],
  true: [0, 0, () => true],
  false: [0, 0, () => false],
  today: [0, 0, null], // reads the environment's clock, see compileCall
  coalesce: [2, 2, (a, b) => (toString(a) !== '' ? a : b)],
};
const SPECIAL = { if: 3, regex: 2, count: 1 };
export const KNOWN_FUNCTIONS = [...Object.keys(FUNCTIONS), ...Object.keys(SPECIAL)].sort();

function checkArity(node, fewest, most) {
  const count = node.args.length;
  if (count < fewest || (most !== null && count > most)) {
    let wanted;
    if (fewest === most) wanted = String(fewest);
    else if (most === null) wanted = `${fewest} or more`;
    else wanted = `${fewest} to ${most}`;
    throw new ExpressionError(
      `${node.name}() takes ${wanted} argument${wanted !== '1' ? 's' : ''}, not ${count}`,
      node.pos,
    );
  }
}

function has(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** Evaluation environments carry the answers (through the resolver) and `today`. */
export function compileTree(node, resolver) {
  switch (node.type) {
    case 'number':
    case 'string':
    case 'boolean': {
      const constant = node.value;
      return () => constant;
    }
    case 'ref': {
      const read = resolver.value(node.name, node.pos);
      return (env) => toValue(read(env));
    }
    case 'current': {
      const read = resolver.current(node.pos);
      return (env) => toValue(read(env));
    }
    case 'negate': {
      const operand = compileTree(node.operand, resolver);
      return (env) => -toNumber(operand(env));
    }
    case 'and': {
      const items = node.items.map((item) => compileCondition(item, resolver));
      return (env) => items.every((item) => item(env));
    }
    case 'or': {
      const items = node.items.map((item) => compileCondition(item, resolver));
      return (env) => items.some((item) => item(env));
    }
    case 'chain':
      return compileChain(node, resolver);
    case 'call':
      return compileCall(node, resolver);
    default:
      throw new ExpressionError(`cannot compile ${node.type}`, node.pos || 0);
  }
}

function compileCondition(node, resolver) {
  const inner = compileTree(node, resolver);
  return (env) => toBool(inner(env));
}

const ARITHMETIC = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  div: (a, b) => a / b, // IEEE division is the server's: 1 div 0 = Infinity, 0 div 0 = NaN
  mod: (a, b) => a % b, // C's fmod, as math.fmod (NaN where Python raises)
};
const RELATIONS = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function compileChain(node, resolver) {
  const first = compileTree(node.first, resolver);
  const steps = node.rest.map(([op, operand]) => [op, compileTree(operand, resolver)]);
  const kind = steps[0][0];
  if (has(ARITHMETIC, kind)) {
    const arithmetic = steps.map(([op, operand]) => [ARITHMETIC[op], operand]);
    return (env) => {
      let result = toNumber(first(env));
      for (const [apply, operand] of arithmetic) result = apply(result, toNumber(operand(env)));
      return result;
    };
  }
  if (has(RELATIONS, kind)) {
    const relations = steps.map(([op, operand]) => [RELATIONS[op], operand]);
    return (env) => {
      let result = first(env);
      for (const [relation, operand] of relations) {
        result = relation(toNumber(result), toNumber(operand(env)));
      }
      return result;
    };
  }
  return (env) => {
    let result = first(env);
    for (const [op, operand] of steps) {
      const same = equals(result, operand(env));
      result = op === '=' ? same : !same;
    }
    return result;
  };
}

function compileCall(node, resolver) {
  if (has(SPECIAL, node.name)) {
    checkArity(node, SPECIAL[node.name], SPECIAL[node.name]);
    if (node.name === 'if') {
      const [condition, then, otherwise] = node.args.map((arg) => compileTree(arg, resolver));
      return (env) => (toBool(condition(env)) ? then(env) : otherwise(env));
    }
    if (node.name === 'regex') return compileRegex(node, resolver);
    return compileCount(node, resolver);
  }
  if (!has(FUNCTIONS, node.name)) {
    throw new ExpressionError(
      `unknown function ${node.name}(); known functions: ${KNOWN_FUNCTIONS.join(', ')}`,
      node.pos,
    );
  }
  const [fewest, most, implementation] = FUNCTIONS[node.name];
  checkArity(node, fewest, most);
  if (node.name === 'today') return (env) => (env && env.today) || localToday();
  const args = node.args.map((arg) => compileTree(arg, resolver));
  return (env) => implementation(...args.map((arg) => arg(env)));
}

function compileRegex(node, resolver) {
  const pattern = node.args[1];
  if (pattern.type !== 'string') {
    throw new ExpressionError("regex() needs its pattern as a 'quoted string'", node.pos);
  }
  const compiled = searchRegExp(pattern.value);
  const read = compileTree(node.args[0], resolver);
  if (compiled === null) {
    // A pattern JavaScript cannot express faithfully: the server decides.
    resolver.deferred = true;
    return () => true;
  }
  return (env) => compiled.test(toString(read(env)));
}

function compileCount(node, resolver) {
  const target = node.args[0];
  if (target.type !== 'ref') {
    throw new ExpressionError('count() takes a repeat, as in count(${children})', node.pos);
  }
  const entries = resolver.repeat(target.name, target.pos);
  return (env) => {
    const value = entries(env);
    return Array.isArray(value) ? value.length : 0;
  };
}

/** Reads every name from one flat object of answers; for tests and previews. */
export class FlatResolver {
  value(name) {
    return (env) => (has(env.values, name) ? env.values[name] : undefined);
  }

  repeat(name) {
    return (env) => (has(env.values, name) ? env.values[name] : undefined);
  }

  current() {
    return (env) => env.current;
  }
}

/** Parse and compile `text` against `resolver`; the result maps an environment to a value. */
export function compileExpression(text, resolver) {
  return compileTree(parse(text), resolver);
}

/**
 * Evaluate `text` with `${name}` read from `values` and `.` bound to `current`
 * (answers as they appear in submission JSON); `today` fixes today() ("YYYY-MM-DD").
 */
export function evaluate(text, values = {}, current = undefined, { today } = {}) {
  const run = compileExpression(text, new FlatResolver());
  return run({ values: values || {}, current, today });
}

export { ExpressionError };
