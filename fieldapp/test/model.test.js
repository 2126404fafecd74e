// Pure parts of the app that need no browser: ids, answers from inputs, pruning
// hidden answers, photo sizes, the form list, and the app's texts in both languages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { docId, feedbackId, isoNow, parseDocId, reviewId, ulid, ULID_RE } from '../src/ids.js';
import { definitionOf, formatInput, imageNames, latestForms, parseInput, prune, withOffset } from '../src/form/model.js';
import { CompiledForm } from '../src/form/validate.js';
import { fitWithin, photoSettings } from '../src/photos.js';
import { TEXTS } from '../src/i18n.js';

const household = JSON.parse(readFileSync(new URL('../../schemas/forms/household_visit.json', import.meta.url), 'utf8'));

test('ulids are 26 Crockford characters, time-ordered, and unique', () => {
  const a = ulid(1_700_000_000_000);
  const b = ulid(1_700_000_000_001);
  assert.match(a, ULID_RE);
  assert.ok(a < b);
  assert.equal(ulid(0, new Uint8Array(10)), '0'.repeat(26));
  assert.equal(ulid(2 ** 48 - 1, new Uint8Array(10).fill(255)), '7' + 'Z'.repeat(25));
  const many = new Set(Array.from({ length: 1000 }, () => ulid()));
  assert.equal(many.size, 1000);
});

test('submission ids route to their area, and feedback and reviews share the key', () => {
  const id = docId('uvs-tes', 'sub', '01JDQ7Z3K8M2N4P6Q8R0S2T4V6');
  assert.equal(id, 'uvs-tes:sub:01JDQ7Z3K8M2N4P6Q8R0S2T4V6');
  assert.deepEqual(parseDocId(id), { area: 'uvs-tes', kind: 'sub', key: '01JDQ7Z3K8M2N4P6Q8R0S2T4V6' });
  assert.equal(feedbackId(id), 'uvs-tes:feedback:01JDQ7Z3K8M2N4P6Q8R0S2T4V6');
  assert.equal(reviewId(id), 'uvs-tes:review:01JDQ7Z3K8M2N4P6Q8R0S2T4V6');
  assert.throws(() => docId('Uvs Tes', 'sub'));
  assert.equal(parseDocId('no-colons'), null);
  assert.match(docId('ovr-kharkhorin', 'sub'), /^ovr-kharkhorin:sub:[0-9A-HJKMNP-TV-Z]{26}$/);
});

test('created_at is ISO 8601 with the device offset, which the server reads', () => {
  assert.match(isoNow(), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
  assert.match(withOffset('2026-05-10T14:30'), /^2026-05-10T14:30:00[+-]\d{2}:\d{2}$/);
});

test('typed numbers become JSON numbers; what is not a number stays for the validator to name', () => {
  const integer = { type: 'integer' };
  const decimal = { type: 'decimal' };
  assert.equal(parseInput(integer, '12'), 12);
  assert.equal(parseInput(integer, ' -3 '), -3);
  assert.equal(parseInput(integer, '12.5'), '12.5');
  assert.equal(parseInput(integer, ''), undefined);
  assert.equal(parseInput(decimal, '12,5'), 12.5);
  assert.equal(parseInput(decimal, '.5'), 0.5);
  assert.equal(parseInput(decimal, 'abc'), 'abc');
  assert.equal(parseInput({ type: 'text' }, ''), undefined);
  assert.equal(formatInput({ type: 'datetime' }, '2026-05-10T14:30:00+08:00'), '2026-05-10T14:30');
  const form = new CompiledForm(household);
  const errors = form.validate({ consent: 'yes', household_size: parseInput({ type: 'integer' }, '2.5') }, {}, 'en');
  assert.ok(errors.some((e) => e.field === 'household_size' && e.message.startsWith('Enter a whole number')));
});

test('prune drops the answers of hidden questions, as the server wants them empty', () => {
  const form = new CompiledForm(household);
  const typed = {
    consent: 'no', visit_date: '2026-05-01', bag: '2-р баг', head: { head_name: 'Бат' },
    members: [{ member_name: 'Дорж', member_age: 30, in_school: 'yes' }], remarks: '',
  };
  assert.deepEqual(prune(form, typed), { consent: 'no', visit_date: '2026-05-01' });
  typed.consent = 'yes';
  const kept = prune(form, typed);
  assert.equal(kept.bag, '2-р баг');
  assert.deepEqual(kept.members, [{ member_name: 'Дорж', member_age: 30 }]); // in_school: 2-18 only
  assert.equal('remarks' in kept, false);
  typed.members[0].member_age = 9;
  assert.equal(prune(form, typed).members[0].in_school, 'yes');
});

test('photos fit the form\'s longest side; settings stay within bounds', () => {
  assert.deepEqual(fitWithin(4000, 3000, 1280), { width: 1280, height: 960 });
  assert.deepEqual(fitWithin(3000, 4000, 1280), { width: 960, height: 1280 });
  assert.deepEqual(fitWithin(800, 600, 1280), { width: 800, height: 600 });
  assert.deepEqual(photoSettings({}), { maxSide: 1280, quality: 0.6 });
  assert.deepEqual(photoSettings({ photos: { max_side: 1600, quality: 0.6 } }), { maxSide: 1600, quality: 0.6 });
  assert.deepEqual(photoSettings({ photos: { max_side: 10, quality: 2 } }), { maxSide: 320, quality: 0.95 });
});

test('the form list shows the latest published version of each form', () => {
  const docs = [
    { _id: 'global:form:a:1', form: 'a', version: 1, status: 'published' },
    { _id: 'global:form:a:2', form: 'a', version: 2, status: 'published' },
    { _id: 'global:form:a:3', form: 'a', version: 3, status: 'draft' },
    { _id: 'global:form:b:1', form: 'b', version: 1, status: 'retired' },
  ];
  assert.deepEqual(latestForms(docs).map((d) => d._id), ['global:form:a:2']);
  const definition = definitionOf({ _id: 'x', _rev: '1-a', type: 'form', form: 'a', version: 1, fields: [], published_at: 'x' });
  assert.deepEqual(definition, { form: 'a', version: 1, fields: [], choices: {} });
});

test('image answers are found in groups and repeats', () => {
  const definition = {
    fields: [
      { name: 'p', type: 'image' },
      { name: 'g', type: 'group', fields: [{ name: 'q', type: 'image' }] },
      { name: 'r', type: 'repeat', fields: [{ name: 's', type: 'image' }] },
    ],
  };
  assert.deepEqual(imageNames(definition, { p: 'a.jpg', g: { q: 'b.jpg' }, r: [{ s: 'c.jpg' }, {}] }), ['a.jpg', 'b.jpg', 'c.jpg']);
});

test('every text of the app exists in Mongolian and English', () => {
  assert.deepEqual(Object.keys(TEXTS.mn).sort(), Object.keys(TEXTS.en).sort());
  for (const lang of ['mn', 'en']) for (const [key, text] of Object.entries(TEXTS[lang])) assert.ok(text, `${lang}.${key}`);
});
