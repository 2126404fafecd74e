// The child register on the device: the server's rule for a child (every case
// of child_rules.json, answered by sync/families.py's check_child), a new child
// from what the worker typed, a family's children, a child's growth visits with
// the server's classes, and a growth visit started from a child.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { checkChild, childPrefill, childrenOf, childVisits, derivedId, growthRow, isDate, localDate, newChild } from '../src/children.js';
import { CompiledForm } from '../src/form/validate.js';
import { answerRows } from '../src/form/answers.js';
import { TEXTS } from '../src/i18n.js';

const rules = JSON.parse(readFileSync(new URL('./child_rules.json', import.meta.url), 'utf8'));
const growth = JSON.parse(readFileSync(new URL('../../schemas/forms/growth_visit.json', import.meta.url), 'utf8'));

const FAMILY = { _id: 'uvs-tes:fam:01J09C3Q9M79PND498QHR5HZS4', type: 'family', name: 'Доржийн Батбаяр', bag: '2-р баг' };
const ID = 'uvs-tes:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6';

test('the child rule gives the server\'s answer in every case of child_rules.json', () => {
  assert.ok(rules.cases.length >= 90, `${rules.cases.length} cases`);
  const differ = [];
  for (const c of rules.cases) {
    const fields = checkChild(c.doc, c.today).map((p) => p.field);
    if (JSON.stringify(fields) !== JSON.stringify(c.fields)) differ.push(`${c.what}: server ${JSON.stringify(c.fields)}, app ${JSON.stringify(fields)}`);
  }
  assert.deepEqual(differ, []);
  // Cases a JavaScript-minded rule gets wrong are among them, with the server's answer.
  const byWhat = Object.fromEntries(rules.cases.map((c) => [c.what, c.fields]));
  assert.deepEqual(byWhat['name: BOM (JS space, not Python)'], []);
  assert.deepEqual(byWhat['name: NEL (Python space, not JS)'], ['name']);
  assert.deepEqual(byWhat['name: 200 letters beyond U+FFFF (400 UTF-16 units)'], []);
  assert.deepEqual(byWhat['family: 150 characters beyond U+FFFF'], []);
});

test('each problem has a text in both languages, for the field the server names', () => {
  for (const c of rules.cases) {
    for (const [i, p] of checkChild(c.doc, c.today).entries()) {
      assert.ok(TEXTS.mn[`child_${p.key}`] && TEXTS.en[`child_${p.key}`], p.key);
      assert.equal(p.key === 'unknown_field', !['type', 'name', 'sex', 'dob', 'family'].includes(p.field));
      assert.ok(c.messages[i].mn && c.messages[i].en); // the server's refusal says it in both too
    }
  }
});

test('dates are read as Python\'s date.fromisoformat reads them', () => {
  for (const ok of ['2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '2026-12-31']) assert.ok(isDate(ok), ok);
  for (const bad of ['2023-02-29', '1900-02-29', '0000-01-01', '2024-04-31', '2024-13-01', '2024-1-01', '٢٠٢٤-٠١-٠١', ' 2024-01-01', 20240101]) {
    assert.ok(!isDate(bad), String(bad));
  }
  assert.equal(localDate(new Date(2026, 0, 5, 23, 59)), '2026-01-05');
  assert.equal(localDate(new Date(987, 11, 31)), '0987-12-31');
});

test('a new child from what the worker typed: stored as the gate takes it, or the problems in the worker\'s words', () => {
  const made = newChild(FAMILY, { name: '  Батбаярын   Энхжин ', sex: 'f', dob: '2024-03-02' }, ID, 'bolormaa',
    '2026-12-06T10:00:00+08:00', '2026-12-06');
  assert.deepEqual(made, { doc: { _id: ID, type: 'child', name: 'Батбаярын Энхжин', sex: 'f', dob: '2024-03-02',
    family: FAMILY._id, bag: '2-р баг', author: 'bolormaa', created_at: '2026-12-06T10:00:00+08:00' } });
  assert.deepEqual(checkChild(made.doc, '2026-12-06'), []);
  assert.deepEqual(newChild(FAMILY, { name: ' ', sex: '', dob: '' }, ID, 'b', 'now', '2026-12-06'),
    { problems: { name: 'child_name', sex: 'child_sex', dob: 'child_dob' } });
  // Born today is fine, tomorrow is not; a date the calendar does not have is not.
  assert.ok(newChild(FAMILY, { name: 'Энхжин', sex: 'm', dob: '2026-12-06' }, ID, 'b', 'now', '2026-12-06').doc);
  assert.deepEqual(newChild(FAMILY, { name: 'Энхжин', sex: 'm', dob: '2026-12-07' }, ID, 'b', 'now', '2026-12-06').problems, { dob: 'child_dob' });
  assert.deepEqual(newChild(FAMILY, { name: 'Энхжин', sex: 'm', dob: '2023-02-29' }, ID, 'b', 'now', '2026-12-06').problems, { dob: 'child_dob' });
  // 200 characters is the server's limit, counted as Python counts them.
  assert.ok(newChild(FAMILY, { name: '𝐀'.repeat(200), sex: 'f', dob: '2024-01-01' }, ID, 'b', 'now', '2026-12-06').doc);
  assert.deepEqual(newChild(FAMILY, { name: 'Ө'.repeat(201), sex: 'f', dob: '2024-01-01' }, ID, 'b', 'now', '2026-12-06').problems, { name: 'child_name' });
  // A family of another area cannot take the child (the id's area decides).
  const other = newChild({ _id: 'uvs-naran:fam:X', name: 'x' }, { name: 'Энхжин', sex: 'f', dob: '2024-01-01' }, ID, 'b', 'now', '2026-12-06');
  assert.deepEqual(other.problems, { family: 'child_family' });
  const { doc } = newChild({ _id: FAMILY._id, name: 'x' }, { name: 'Энхжин', sex: 'f', dob: '2024-01-01' }, ID, 'b', 'now', '2026-12-06');
  assert.equal('bag' in doc, false); // no bag on the family, none on the child
});

const CHILDREN = [
  { _id: 'uvs-tes:child:B', type: 'child', name: 'Болд', sex: 'm', dob: '2023-05-01', family: FAMILY._id },
  { _id: 'uvs-tes:child:A', type: 'child', name: 'Ану', sex: 'f', dob: '2021-01-10', family: FAMILY._id },
  { _id: 'uvs-tes:child:C', type: 'child', name: 'Цэцэг', sex: 'f', dob: '2022-02-02', family: 'uvs-tes:fam:OTHER' },
  { _id: 'uvs-tes:child:D', type: 'family', name: 'not a child', family: FAMILY._id },
];

test('a family\'s children are the child documents naming it, oldest first', () => {
  assert.deepEqual(childrenOf(FAMILY._id, CHILDREN).map((c) => c._id), ['uvs-tes:child:A', 'uvs-tes:child:B']);
  assert.deepEqual(childrenOf('uvs-tes:fam:NONE', CHILDREN), []);
});

test('a child\'s growth visits name its key in child_id, in its own area, newest visit first', () => {
  const child = CHILDREN[0];
  const sub = (id, visit, created, data = {}) => ({ _id: id, form: 'growth_visit', created_at: created, data: { child_id: 'B', visit_date: visit, ...data } });
  const subs = [
    sub('uvs-tes:sub:1', '2026-09-01', '2026-09-01T10:00:00+08:00'),
    sub('uvs-tes:sub:2', '2026-11-01', '2026-11-01T10:00:00+08:00'),
    sub('uvs-tes:sub:3', '2026-10-01', '2026-12-01T10:00:00+08:00'), // written late: the visit date orders
    sub('uvs-naran:sub:4', '2026-12-01', '2026-12-01T10:00:00+08:00'), // another area's child B
    { _id: 'uvs-tes:sub:5', created_at: '2026-12-02', data: { child_id: 'uvs-tes:child:B' } }, // the id, not the key
    { _id: 'uvs-tes:sub:6', created_at: '2026-12-02', data: { family: FAMILY._id } },
  ];
  assert.deepEqual(childVisits(child, subs).map((s) => s._id), ['uvs-tes:sub:2', 'uvs-tes:sub:3', 'uvs-tes:sub:1']);
  assert.equal(derivedId('uvs-tes:sub:2'), 'uvs-tes:derived:2');
  assert.equal(derivedId('uvs-tes:child:B'), null);
});

test('a growth visit shows the server\'s classes only for the revision they were made from', () => {
  const sub = { _id: 'uvs-tes:sub:2', _rev: '2-b', data: { visit_date: '2026-11-01', weight_kg: 9.1, lenhei_cm: 80.5, position: 'l', oedema: 'no', muac_mm: 118 } };
  const derived = { _id: 'uvs-tes:derived:2', type: 'derived', about: sub._id, about_rev: '2-b',
    derived: { stunting: 'moderate', wasting: 'severe', underweight: 'severe', weight_for_length: 'none', muac_class: 'mam',
      acute_malnutrition: 'sam', referral_needed: true, zlen: -2.41, flen: 0, zwei: -3.2, fwei: 0, zwfl: -3.5, fwfl: 1, zbmi: -3.3 } };
  const row = growthRow(sub, derived);
  assert.deepEqual(row.classes.map((c) => `${c.name}=${c.value}`),
    ['stunting=moderate', 'wasting=severe', 'underweight=severe', 'weight_for_length=none', 'muac_class=mam', 'acute_malnutrition=sam']);
  assert.deepEqual(row.z, [{ name: 'zlen', value: -2.41 }, { name: 'zwei', value: -3.2 }]); // a flagged z-score is left out
  assert.equal(row.referral, true);
  assert.equal(row.weight_kg, 9.1);
  assert.equal(row.oedema, false);
  assert.equal(growthRow({ ...sub, _rev: '3-c' }, derived).classes, null); // an edit the server has not seen
  assert.equal(growthRow(sub, null).classes, null);
  assert.equal(growthRow(sub, { ...derived, derived: null, error: 'ValueError' }).classes, null);
  const unclassed = growthRow(sub, { ...derived, derived: { stunting: null, referral_needed: false } });
  assert.deepEqual(unclassed.classes, []);
});

test('the classes are named as the server names them (programmes/nutrition.py), in both languages', () => {
  for (const [name, texts] of Object.entries(rules.labels)) {
    assert.equal(TEXTS.mn[`class_${name}`], texts.mn, name);
    assert.equal(TEXTS.en[`class_${name}`], texts.en, name);
  }
  for (const [value, texts] of Object.entries(rules.value_labels)) {
    assert.equal(TEXTS.mn[`value_${value}`], texts.mn, value);
    assert.equal(TEXTS.en[`value_${value}`], texts.en, value);
  }
});

test('a growth visit started from a child answers the family, the child and what the register knows', () => {
  const child = { _id: 'uvs-tes:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6', type: 'child', name: 'Энхжин', sex: 'f', dob: '2024-03-02',
    family: FAMILY._id, bag: '2-р баг' };
  const data = childPrefill(growth, child);
  assert.deepEqual(data, { family: FAMILY._id, child_id: '01JDQ7Z3K8M2N4P6Q8R0S2T4V6', child_name: 'Энхжин', bag: '2-р баг',
    dob: '2024-03-02', sex: 'f' });
  // What is left is measured on the day; with it the form as the server checks it is satisfied.
  const full = { ...data, visit_date: '2026-11-01', dob_approximate: 'no', weight_kg: 12.1, position: 'h', lenhei_cm: 88.5, oedema: 'no', muac_mm: 150 };
  assert.deepEqual(new CompiledForm(growth).validate(full, {}, 'en'), []);
  // The visit links back: its answers name the child (as <area>:child:<key>) and the family.
  const rows = Object.fromEntries(answerRows(growth, full, (x) => x && x.en, { area: 'uvs-tes' }).map((r) => [r.name, r]));
  assert.equal(rows.child_id.link, child._id);
  assert.equal(rows.family.link, FAMILY._id);
  assert.equal(answerRows(growth, full, (x) => x && x.en)[1].text, '01JDQ7Z3K8M2N4P6Q8R0S2T4V6'); // without the area: the key as text
  // A visit of a form version without the child link still belongs to the child (child_id is the key).
  assert.deepEqual(childVisits(child, [{ _id: 'uvs-tes:sub:9', data: full }]).length, 1);
});
