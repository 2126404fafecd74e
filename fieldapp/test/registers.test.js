// Registers and a submission's labelled answers, on the bundled forms: which
// questions link a visit to a family or kindergarten, what a visit started from
// an entry answers, search, visit history, and answers under their labels.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { answerRows } from '../src/form/answers.js';
import { CompiledForm } from '../src/form/validate.js';
import { linkFields, linkType, prefill, registerType, search, visitsOf, visitSummary } from '../src/registers.js';

const load = (name) => JSON.parse(readFileSync(new URL(`../../schemas/forms/${name}.json`, import.meta.url), 'utf8'));
const household = load('household_visit');
const kindergarten = load('ger_kindergarten_visit');
const growth = load('growth_visit');

const FAMILY = 'uvs-tes:fam:01J09C3Q9M79PND498QHR5HZS4';
const families = [
  { _id: FAMILY, type: 'family', name: 'Доржийн Батбаяр', bag: '2-р баг' },
  { _id: 'uvs-tes:fam:01J72JR9YHSXTR7NZZMGAB8KGG', type: 'family', name: 'Гомбын Сарангэрэл', bag: '4-р баг' },
  { _id: 'uvs-tes:fam:01J72JR9YHSXTR7NZZMGAB8KGH', type: 'family', name: 'Батын Мөнхбат', bag: '2-р баг' },
];

test('the bundled forms link visits to register entries by appearance', () => {
  assert.deepEqual(linkFields(household, 'family'), ['family']);
  assert.deepEqual(linkFields(household, 'kindergarten'), []);
  assert.deepEqual(linkFields(kindergarten, 'kindergarten'), ['kindergarten']);
  assert.deepEqual(linkFields(growth, 'family'), ['family']);
  assert.deepEqual(linkFields(growth, 'child'), ['child_id']);
  assert.deepEqual(linkFields(household, 'child'), []);
  assert.equal(linkType({ type: 'text', appearance: 'register:family' }), 'family');
  assert.equal(linkType({ type: 'integer', appearance: 'register:family' }), null);
  assert.equal(linkType({ type: 'text', appearance: 'register:child' }), 'child');
  assert.equal(linkType({ type: 'text', appearance: 'register:person' }), null);
  assert.equal(linkType({ type: 'text', appearance: 'multiline' }), null);
  assert.equal(registerType(FAMILY), 'family');
  assert.equal(registerType('uvs-tes:kg:01J09C3Q9M79PND498QHR5HZS4'), 'kindergarten');
  assert.equal(registerType('uvs-tes:child:uvs-tes-child-0001'), 'child');
  assert.equal(registerType('uvs-tes:sub:01J09C3Q9M79PND498QHR5HZS4'), null);
});

test('a visit started from a family answers the link, and the server\'s rules accept it', () => {
  const data = prefill(household, families[0]);
  assert.deepEqual(data, { family: FAMILY });
  const problems = new CompiledForm(household).validate({ ...data, consent: 'no', visit_date: '2026-10-01' }, {}, 'en');
  assert.deepEqual(problems, []);
  assert.deepEqual(prefill(kindergarten, families[0]), {}); // a kindergarten visit has no family question
});

test('search folds case and matches every word in name or bag', () => {
  assert.deepEqual(search(families, '').map((f) => f.name), ['Батын Мөнхбат', 'Гомбын Сарангэрэл', 'Доржийн Батбаяр']);
  assert.deepEqual(search(families, 'дорж').map((f) => f._id), [FAMILY]);
  assert.deepEqual(search(families, '  2-р   баг ').map((f) => f.name), ['Батын Мөнхбат', 'Доржийн Батбаяр']);
  assert.deepEqual(search(families, 'бат 2-р').map((f) => f.name), ['Батын Мөнхбат', 'Доржийн Батбаяр']);
  assert.deepEqual(search(families, 'САРАН'), [families[1]]);
  assert.deepEqual(search(families, 'Улаанбаатар'), []);
});

test('the visit history is the submissions naming the entry, newest first', () => {
  const subs = [
    { _id: 'uvs-tes:sub:A', created_at: '2026-09-02T10:00:00+08:00', data: { family: FAMILY, consent: 'no' } },
    { _id: 'uvs-tes:sub:B', created_at: '2026-10-02T10:00:00+08:00', data: { family: FAMILY } },
    { _id: 'uvs-tes:sub:C', created_at: '2026-11-02T10:00:00+08:00', data: { family: families[1]._id } },
    { _id: 'uvs-tes:sub:D', created_at: '2026-12-02T10:00:00+08:00', data: { remarks: `not ${FAMILY}` } },
    { _id: 'uvs-tes:sub:E', created_at: '2026-12-03T10:00:00+08:00' },
  ];
  assert.deepEqual(visitsOf(FAMILY, subs).map((s) => s._id), ['uvs-tes:sub:B', 'uvs-tes:sub:A']);
  const summary = visitSummary(subs);
  assert.deepEqual(summary.get(FAMILY), { count: 2, last: '2026-10-02T10:00:00+08:00' });
  assert.equal(summary.get(families[1]._id).count, 1);
  assert.equal(summary.has(families[2]._id), false);
});

test('answers are shown under the form\'s labels, in the chosen language', () => {
  const data = {
    family: FAMILY, consent: 'yes', visit_date: '2026-10-01', location: { lat: 50.47, lon: 93.6, accuracy: 12 },
    head: { head_name: 'Доржийн Батбаяр', head_sex: 'male', head_age: 44 },
    members: [{ member_name: 'Батбаяр', member_relation: 'head', member_sex: 'male', member_age: 44 }],
    heating_fuel: ['dung', 'wood'], dwelling_photo: 'dwelling_photo-abc.jpg', extra_key: 'kept',
  };
  const mn = (texts) => texts && (texts.mn || texts.en);
  const en = (texts) => texts && (texts.en || texts.mn);
  const rows = answerRows(household, data, mn);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.equal(rows[0].name, 'family'); // in the form's order, the note left out
  assert.equal(byName.family.link, FAMILY);
  assert.equal(byName.consent.label, household.fields.find((f) => f.name === 'consent').label.mn);
  assert.equal(byName.consent.text, 'Тийм');
  assert.equal(byName.location.text, '50.47, 93.6 (±12 m)');
  assert.equal(byName.dwelling_photo.image, 'dwelling_photo-abc.jpg');
  assert.equal(byName.head.rows.find((r) => r.name === 'head_sex').text, 'Эрэгтэй');
  assert.equal(byName.members.entries.length, 1);
  assert.equal(byName.members.entries[0].find((r) => r.name === 'member_relation').text,
    household.choices[household.fields.find((f) => f.name === 'members').fields.find((f) => f.name === 'member_relation').list_name]
      .find((c) => c.name === 'head').label.mn);
  assert.deepEqual(rows.at(-1), { name: 'extra_key', label: 'extra_key', text: 'kept' });
  const english = Object.fromEntries(answerRows(household, data, en).map((r) => [r.name, r]));
  assert.equal(english.consent.label, 'Does the family agree to the visit?');
  assert.equal(english.consent.text, 'Yes');
  assert.equal(english.heating_fuel.text.split(', ').length, 2);
  assert.equal(english.head.rows.find((r) => r.name === 'head_age').text, '44');
});

test('every text the app asks for is in both catalogs, and the Mongolian is not the English', async () => {
  const { readdirSync } = await import('node:fs');
  const { TEXTS } = await import('../src/i18n.js');
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir));
      else if (entry.name.endsWith('.js')) files.push(new URL(entry.name, dir));
    }
  };
  walk(new URL('../src/', import.meta.url));
  const used = new Set();
  for (const file of files) {
    for (const call of readFileSync(file, 'utf8').matchAll(/\bt\(([^()`]*)\)/g)) {
      for (const word of call[1].matchAll(/'([a-z_]+)'/g)) used.add(word[1]); // t(a ? 'x' : 'y') asks for both
    }
  }
  for (const key of ['registers', 'families', 'kindergartens', 'visit_history', 'new_visit', 'answers']) assert.ok(used.has(key), key);
  for (const key of used) {
    assert.ok(TEXTS.mn[key], `mn.${key} is missing`);
    assert.ok(TEXTS.en[key], `en.${key} is missing`);
  }
  for (const key of Object.keys(TEXTS.en)) {
    if (key === 'photo_size') continue;
    assert.notEqual(TEXTS.mn[key], TEXTS.en[key], `mn.${key} is not translated`);
  }
});

test('a new register entry is checked before it is stored', async () => {
  const { newEntry } = await import('../src/registers.js');
  const id = 'uvs-tes:fam:01JDQ7Z3K8M2N4P6Q8R0S2T4V6';
  const made = newEntry('family', { name: '  Очирын   Болд ', bag: '3-р баг', count: '4' }, id, 'bolormaa', '2026-12-06T10:00:00+08:00');
  assert.deepEqual(made, { doc: { _id: id, type: 'family', name: 'Очирын Болд', bag: '3-р баг', members: 4,
    author: 'bolormaa', created_at: '2026-12-06T10:00:00+08:00' } });
  assert.deepEqual(newEntry('kindergarten', { name: '3-р гэр цэцэрлэг', count: '0' }, 'uvs-tes:kg:X', 'b', 'now').doc,
    { _id: 'uvs-tes:kg:X', type: 'kindergarten', name: '3-р гэр цэцэрлэг', children: 0, author: 'b', created_at: 'now' });
  assert.deepEqual(newEntry('family', { name: ' ', count: '4.5' }, id, 'b', 'now'),
    { problems: { name: 'entry_name_required', count: 'entry_count_bad' } });
  assert.deepEqual(newEntry('family', { name: 'Ө'.repeat(101), bag: 'x', count: '501' }, id, 'b', 'now').problems,
    { name: 'entry_name_long', count: 'entry_count_bad' });
  assert.equal(newEntry('family', { name: 'Ө'.repeat(100) }, id, 'b', 'now').doc.name.length, 100);
});

test('the scorecard forms link a cycle to a facility of the register by its id', () => {
  const FACILITY = 'uvs-tes:fac:01J09C3Q9M79PND498QHR5HZS4';
  for (const name of ['scorecard_cycle', 'scorecard_followup', 'scorecard_input_tracking']) {
    const form = load(name);
    assert.deepEqual(linkFields(form, 'facility'), ['facility'], name);
    assert.equal(form.fields.find((f) => f.name === 'facility').required, undefined, name); // optional
  }
  assert.equal(registerType(FACILITY), 'facility');
  const entry = { _id: FACILITY, type: 'facility', name: 'Тэс сумын ЭМТ', facility_type: 'health_centre' };
  assert.deepEqual(prefill(load('scorecard_cycle'), entry), { facility: FACILITY });
  const cycle = { _id: 'uvs-tes:sub:01JCYCLE', created_at: '2026-11-12', data: { facility: FACILITY, cycle_no: 2 } };
  assert.deepEqual(visitsOf(FACILITY, [cycle]).map((s) => s._id), ['uvs-tes:sub:01JCYCLE']);
});
