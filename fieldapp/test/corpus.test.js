// The shared expression corpus (schemas/expression_corpus.json, answered by the
// server's Python evaluator): the app's evaluator must give exactly the same
// result, condition and error for every case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ExpressionError, evaluate } from '../src/expr/compile.js';
import { toBool } from '../src/expr/values.js';

const corpus = JSON.parse(
  readFileSync(new URL('../../schemas/expression_corpus.json', import.meta.url), 'utf8'),
);

function decode(value) {
  if (value && typeof value === 'object' && Object.keys(value).length === 1 && 'number' in value) {
    return { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 }[value.number];
  }
  return value;
}

function same(actual, expected) {
  if (typeof expected === 'number') return typeof actual === 'number' && Object.is(actual, expected);
  return actual === expected;
}

function show(value) {
  return typeof value === 'number' && Object.is(value, -0) ? '-0' : JSON.stringify(value) ?? String(value);
}

test('the corpus holds at least 500 cases', () => {
  assert.ok(corpus.cases.length >= 500, `${corpus.cases.length} cases`);
});

test('every corpus case gives the server\'s answer', () => {
  const failures = [];
  for (const c of corpus.cases) {
    let actual;
    try {
      actual = { result: evaluate(c.expr, corpus.answers, c.current ?? undefined, { today: corpus.today }) };
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      actual = { error: { message: err.reason, position: err.position } };
    }
    if (c.error) {
      if (!actual.error || actual.error.message !== c.error.message || actual.error.position !== c.error.position) {
        failures.push(`${c.expr.slice(0, 80)}: expected error ${JSON.stringify(c.error)}, got ${JSON.stringify(actual)}`);
      }
      continue;
    }
    const expected = decode(c.result);
    if (actual.error) {
      failures.push(`${c.expr.slice(0, 80)} (. = ${JSON.stringify(c.current)}): expected ${show(expected)}, got error ${actual.error.message}`);
    } else if (!same(actual.result, expected)) {
      failures.push(`${c.expr.slice(0, 80)} (. = ${JSON.stringify(c.current)}): expected ${show(expected)}, got ${show(actual.result)}`);
    } else if (toBool(actual.result) !== c.condition) {
      failures.push(`${c.expr.slice(0, 80)}: condition expected ${c.condition}`);
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${corpus.cases.length} cases differ:\n${failures.join('\n')}`);
});
