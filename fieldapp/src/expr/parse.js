// Tokenizer and parser of the form expression language: a port of schemas/expressions.py.
//
// Same grammar, same limits, same error messages and positions, so that a form
// behaves on the device as the server says it does. Positions count code points
// (Python's string indexes), so the text is read as an array of code points.
// Nothing the form author wrote is ever evaluated as JavaScript.

import { isPySpace } from './values.js';

export const MAX_LENGTH = 2000;
export const MAX_DEPTH = 50;
export const MAX_NUMBER_LENGTH = 32;

export class ExpressionError extends Error {
  constructor(reason, position = 0) {
    super(`${reason} (col ${position + 1})`);
    this.name = 'ExpressionError';
    this.reason = reason;
    this.position = position;
  }
}

const WORD_OPERATORS = new Set(['and', 'or', 'div', 'mod']);
const SYMBOLS = ['!=', '<=', '>=', '=', '<', '>', '+', '-', '*', '(', ')', ','];
const HINTS = {
  '==': 'use = to compare',
  '&&': 'use and',
  '||': 'use or',
  '!': 'use != or not(...)',
  '/': 'use div to divide; paths such as /data/x are not supported, write ${x}',
  '[': 'predicates and paths are not supported',
  '@': 'attributes are not supported',
  '|': 'node-set unions are not supported',
  '..': 'parent paths are not supported, write ${name}',
};

const isDigit = (c) => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c) => c !== undefined && /^[A-Za-z_]$/.test(c);
const isNameChar = (c) => c !== undefined && /^[A-Za-z0-9_-]$/.test(c);

/** Python's repr() of a one-character string, as the server's messages quote it. */
export function pyCharRepr(c) {
  if (c === '\\') return "'\\\\'";
  if (c === '\t') return "'\\t'";
  if (c === '\n') return "'\\n'";
  if (c === '\r') return "'\\r'";
  if (c === "'") return '"\'"';
  const code = c.codePointAt(0);
  const printable =
    c === ' ' || !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(c);
  if (printable) return `'${c}'`;
  if (code < 0x100) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  if (code < 0x10000) return `'\\u${code.toString(16).padStart(4, '0')}'`;
  return `'\\U${code.toString(16).padStart(8, '0')}'`;
}

function matchName(chars, i) {
  if (!isNameStart(chars[i])) return i;
  let j = i + 1;
  while (isNameChar(chars[j])) j++;
  return j;
}

// [0-9]+(?:\.[0-9]*)?|\.[0-9]+ at i; returns the end, or i when there is none.
function matchNumber(chars, i) {
  let j = i;
  if (isDigit(chars[j])) {
    while (isDigit(chars[j])) j++;
    if (chars[j] === '.') {
      j++;
      while (isDigit(chars[j])) j++;
    }
    return j;
  }
  if (chars[j] === '.' && isDigit(chars[j + 1])) {
    j += 1;
    while (isDigit(chars[j])) j++;
    return j;
  }
  return i;
}

function startsWith(chars, i, text) {
  for (let k = 0; k < text.length; k++) if (chars[i + k] !== text[k]) return false;
  return true;
}

/** Split an expression into tokens, refusing anything the grammar lacks. */
export function tokenize(text) {
  if (typeof text !== 'string') throw new ExpressionError('an expression must be a string', 0);
  const chars = Array.from(text);
  const n = chars.length;
  if (n > MAX_LENGTH) {
    throw new ExpressionError(
      `expression is ${n} characters long; the limit is ${MAX_LENGTH}`,
      MAX_LENGTH,
    );
  }
  const tokens = [];
  let i = 0;
  while (i < n) {
    const c = chars[i];
    if (isPySpace(c)) {
      while (i < n && isPySpace(chars[i])) i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = chars.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated string: no closing ${c}`, i);
      tokens.push({ kind: 'str', value: chars.slice(i + 1, end).join(''), pos: i });
      i = end + 1;
      continue;
    }
    if (c === '$') {
      i = reference(chars, i, tokens);
      continue;
    }
    const numberEnd = matchNumber(chars, i);
    if (numberEnd > i) {
      const literal = chars.slice(i, numberEnd).join('');
      if (literal.length > MAX_NUMBER_LENGTH) {
        throw new ExpressionError(
          `number literal is ${literal.length} characters long; the limit is ${MAX_NUMBER_LENGTH}`,
          i,
        );
      }
      tokens.push({ kind: 'num', value: literal, pos: i });
      i = numberEnd;
      continue;
    }
    if (c === '.') {
      if (startsWith(chars, i, '..')) throw new ExpressionError("'..': " + HINTS['..'], i);
      tokens.push({ kind: 'dot', value: '.', pos: i });
      i += 1;
      continue;
    }
    const nameEnd = matchName(chars, i);
    if (nameEnd > i) {
      const word = chars.slice(i, nameEnd).join('');
      tokens.push({ kind: WORD_OPERATORS.has(word) ? 'op' : 'name', value: word, pos: i });
      i = nameEnd;
      continue;
    }
    for (const hint of ['==', '&&', '||', '..']) {
      if (startsWith(chars, i, hint)) {
        throw new ExpressionError(`'${hint}' is not allowed: ${HINTS[hint]}`, i);
      }
    }
    const symbol = SYMBOLS.find((s) => startsWith(chars, i, s));
    if (symbol === undefined) {
      const hint = HINTS[c];
      throw new ExpressionError(`unexpected character ${pyCharRepr(c)}` + (hint ? `: ${hint}` : ''), i);
    }
    tokens.push({ kind: 'op', value: symbol, pos: i });
    i += symbol.length;
  }
  tokens.push({ kind: 'end', value: '', pos: n });
  return tokens;
}

function reference(chars, i, tokens) {
  if (!startsWith(chars, i, '${')) {
    throw new ExpressionError("'$' must start a reference such as ${age}", i);
  }
  const close = chars.indexOf('}', i + 2);
  if (close < 0) throw new ExpressionError("unterminated reference: no closing '}'", i);
  const name = pyStripChars(chars.slice(i + 2, close));
  if (!(matchName(name, 0) === name.length && name.length > 0)) {
    throw new ExpressionError(`'${name.join('')}' is not a question name`, i);
  }
  tokens.push({ kind: 'ref', value: name.join(''), pos: i });
  return close + 1;
}

function pyStripChars(chars) {
  let start = 0;
  let end = chars.length;
  while (start < end && isPySpace(chars[start])) start++;
  while (end > start && isPySpace(chars[end - 1])) end--;
  return chars.slice(start, end);
}

// Binding strength of binary operators, loosest first.
const LEVEL = {
  or: 0, and: 1, '=': 2, '!=': 2, '<': 3, '<=': 3, '>': 3, '>=': 3,
  '+': 4, '-': 4, '*': 5, div: 5, mod: 5,
};

function combine(level, first, rest) {
  const pos = first.pos;
  if (level === 0) return { type: 'or', items: [first, ...rest.map((r) => r[1])], pos };
  if (level === 1) return { type: 'and', items: [first, ...rest.map((r) => r[1])], pos };
  return { type: 'chain', first, rest, pos };
}

function describe(token) {
  if (token.kind === 'end') return 'end of expression';
  if (token.kind === 'str') return `string '${token.value}'`;
  if (token.kind === 'ref') return '${' + token.value + '}';
  return `'${token.value}'`;
}

/**
 * Parse `text` into a tree of plain objects ({type: 'number'|'string'|'boolean'|'ref'|
 * 'current'|'call'|'negate'|'chain'|'and'|'or', ...}); throws ExpressionError.
 */
export function parse(text) {
  const parser = new Parser(tokenize(text));
  if (parser.peek().kind === 'end') throw new ExpressionError('the expression is empty', 0);
  const tree = parser.expression(0);
  const token = parser.peek();
  if (token.kind !== 'end') throw new ExpressionError(`unexpected ${describe(token)}`, token.pos);
  return tree;
}

/** Names of the questions an expression reads. */
export function references(tree) {
  const found = new Set();
  const stack = [tree];
  while (stack.length) {
    const node = stack.pop();
    if (node.type === 'ref') found.add(node.name);
    else if (node.type === 'call') stack.push(...node.args);
    else if (node.type === 'negate') stack.push(node.operand);
    else if (node.type === 'chain') stack.push(node.first, ...node.rest.map((r) => r[1]));
    else if (node.type === 'and' || node.type === 'or') stack.push(...node.items);
  }
  return found;
}

class Parser {
  constructor(tokens) {
    this.tokens = tokens;
    this.index = 0;
  }

  peek() {
    return this.tokens[this.index];
  }

  take() {
    const token = this.tokens[this.index];
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  expect(symbol) {
    const token = this.take();
    if (token.kind !== 'op' || token.value !== symbol) {
      throw new ExpressionError(`expected '${symbol}' but found ${describe(token)}`, token.pos);
    }
    return token;
  }

  expression(depth) {
    if (depth > MAX_DEPTH) {
      throw new ExpressionError(`nested more than ${MAX_DEPTH} levels deep`, this.peek().pos);
    }
    return this.binary(this.unary(depth), depth, 0);
  }

  level() {
    const token = this.tokens[this.index];
    if (token.kind !== 'op') return null;
    return Object.prototype.hasOwnProperty.call(LEVEL, token.value) ? LEVEL[token.value] : null;
  }

  binary(left, depth, lowest) {
    for (;;) {
      const level = this.level();
      if (level === null || level < lowest) return left;
      const rest = [];
      while (this.level() === level) {
        const operator = this.take().value;
        let right = this.unary(depth);
        const following = this.level();
        if (following !== null && following > level) right = this.binary(right, depth, level + 1);
        rest.push([operator, right]);
      }
      left = combine(level, left, rest);
    }
  }

  unary(depth) {
    const token = this.peek();
    if (token.kind === 'op' && token.value === '-') {
      this.take();
      if (depth + 1 > MAX_DEPTH) {
        throw new ExpressionError(`nested more than ${MAX_DEPTH} levels deep`, token.pos);
      }
      return { type: 'negate', operand: this.unary(depth + 1), pos: token.pos };
    }
    return this.primary(depth);
  }

  primary(depth) {
    const token = this.take();
    if (token.kind === 'num') return { type: 'number', value: Number(token.value), pos: token.pos };
    if (token.kind === 'str') return { type: 'string', value: token.value, pos: token.pos };
    if (token.kind === 'ref') return { type: 'ref', name: token.value, pos: token.pos };
    if (token.kind === 'dot') return { type: 'current', pos: token.pos };
    if (token.kind === 'op' && token.value === '(') {
      const inner = this.expression(depth + 1);
      this.expect(')');
      return inner;
    }
    if (token.kind === 'name') {
      if (this.peek().kind === 'op' && this.peek().value === '(') return this.call(token, depth);
      if (token.value === 'true' || token.value === 'false') {
        return { type: 'boolean', value: token.value === 'true', pos: token.pos };
      }
      throw new ExpressionError(
        `unknown name '${token.value}': refer to a question as \${${token.value}}`,
        token.pos,
      );
    }
    throw new ExpressionError(`expected a value but found ${describe(token)}`, token.pos);
  }

  call(name, depth) {
    this.expect('(');
    const args = [];
    if (!(this.peek().kind === 'op' && this.peek().value === ')')) {
      args.push(this.expression(depth + 1));
      while (this.peek().kind === 'op' && this.peek().value === ',') {
        this.take();
        args.push(this.expression(depth + 1));
      }
    }
    this.expect(')');
    return { type: 'call', name: name.value, args, pos: name.pos };
  }
}
