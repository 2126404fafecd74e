// A family assessment started from a family's page: the family, the round, the
// last round's answers and the growth item from the growth records, each marked
// to check; the household members; a child and a family corrected.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { addDays, assessmentPrefill, growthMonitored, householdMembers, indicatorCodes, monthsOld, shiftMarks } from '../src/assessment.js';
import { checkChild, editChild } from '../src/children.js';
import { CompiledForm } from '../src/form/validate.js';
import { editEntry } from '../src/registers.js';

const form = JSON.parse(readFileSync(new URL('../../schemas/forms/family_assessment.json', import.meta.url), 'utf8'));
const defaults = JSON.parse(readFileSync(new URL('../src/fes_indicators.json', import.meta.url), 'utf8'));
const TODAY = '2026-12-06';
const FAMILY = { _id: 'uvs-tes:fam:F1', type: 'family', name: 'Доржийн Батбаяр', bag: '2-р баг', members: 5, author: 'bolormaa', created_at: '2026-01-01T00:00:00Z' };
const child = (key, dob, family = FAMILY._id) => ({ _id: `uvs-tes:child:${key}`, type: 'child', name: `Хүүхэд ${key}`, sex: 'f', dob, family });
const growth = (key, day) => ({ _id: `uvs-tes:sub:G${key}${day}`, type: 'submission', form: 'growth_visit', data: { child_id: key, visit_date: day } });
const assessment = (id, date, rows, family = FAMILY._id) => ({ _id: `uvs-tes:sub:${id}`, type: 'submission', form: 'family_assessment', created_at: `${date}T10:00:00+08:00`, data: { family_id: family, round: 'baseline', date, indicators: rows } });

test('months are counted as whole calendar months, and 90 days back is a date', () => {
  assert.equal(monthsOld('2021-12-07', TODAY), 59);
  assert.equal(monthsOld('2021-12-06', TODAY), 60);
  assert.equal(monthsOld('2026-11-07', TODAY), 0);
  assert.equal(addDays(TODAY, -90), '2026-09-07');
  assert.equal(addDays('2024-03-01', -1), '2024-02-29');
});

test('the growth item from the growth visits of the children of 0-59 months in the last 91 days', () => {
  const kids = [child('A', '2024-05-01'), child('B', '2021-12-06'), child('C', '2025-01-10')]; // B is 60 months: left out
  const visits = [growth('A', '2026-09-07'), growth('B', '2026-12-01'), growth('C', '2026-09-06')]; // the window: today and the 90 days before, the server's (sync/household.py)
  assert.deepEqual(growthMonitored(kids, visits, TODAY), { answer: 'no', evidence: 'card_seen', children: 2, measured: 1 });
  visits.push(growth('C', '2026-12-06'));
  assert.deepEqual(growthMonitored(kids, visits, TODAY), { answer: 'yes', evidence: 'card_seen', children: 2, measured: 2 });
  assert.deepEqual(growthMonitored([child('B', '2021-12-06')], visits, TODAY), { answer: 'na', children: 0, measured: 0 });
  // A visit after today (a phone's wrong clock) or of another area's child does not count.
  assert.equal(growthMonitored([child('A', '2024-05-01')], [growth('A', '2026-12-07')], TODAY).answer, 'no');
  assert.equal(growthMonitored([child('A', '2024-05-01')], [{ ...growth('A', '2026-12-01'), _id: 'uvs-naran:sub:X' }], TODAY).answer, 'no');
});

test('a first assessment: baseline, every indicator of the list, the growth item filled and marked', () => {
  const made = assessmentPrefill(form, FAMILY, { submissions: [], children: [child('A', '2024-05-01')], checklist: null, today: TODAY });
  assert.equal(made.data.family_id, FAMILY._id);
  assert.equal(made.data.round, 'baseline');
  assert.deepEqual(made.data.indicators.map((r) => r.indicator), defaults.map((i) => i.id));
  const g = made.data.indicators.findIndex((r) => r.indicator === 'growth_monitored');
  assert.deepEqual(made.data.indicators[g], { indicator: 'growth_monitored', answer: 'no', evidence: 'card_seen' });
  assert.deepEqual(made.marks, { [`indicators[${g}].answer`]: 'growth', [`indicators[${g}].evidence`]: 'growth' });
  // The admins' list on the device, when there is one, gives the rows and their order.
  assert.deepEqual(indicatorCodes({ items: [{ id: 'improved_water' }, { id: 'growth_monitored' }] }), ['improved_water', 'growth_monitored']);
});

test('a follow-up: the newest assessment\'s answers taken over, each marked, and the result is a valid submission once dated', () => {
  const older = assessment('OLD', '2026-01-10', [{ indicator: 'improved_water', answer: 'no', evidence: 'observed' }]);
  const newer = assessment('NEW', '2026-06-10', [
    { indicator: 'improved_water', answer: 'yes', evidence: 'observed' },
    { indicator: 'ecd_attendance', answer: 'na' },
    { indicator: 'growth_monitored', answer: 'yes', evidence: 'reported' },
    { indicator: 'retired_item', answer: 'yes', evidence: 'reported' }]);
  const other = assessment('OTHER', '2026-11-01', [{ indicator: 'improved_water', answer: 'no', evidence: 'observed' }], 'uvs-tes:fam:F2');
  const kids = [child('A', '2024-05-01')];
  const made = assessmentPrefill(form, FAMILY, { submissions: [older, other, newer, growth('A', '2026-11-20')], children: kids, checklist: null, today: TODAY });
  assert.equal(made.data.round, 'follow_up');
  assert.equal(made.previous, 'uvs-tes:sub:NEW');
  const at = (code) => made.data.indicators.findIndex((r) => r.indicator === code);
  assert.deepEqual(made.data.indicators[at('improved_water')], { indicator: 'improved_water', answer: 'yes', evidence: 'observed' });
  assert.deepEqual(made.data.indicators[at('ecd_attendance')], { indicator: 'ecd_attendance', answer: 'na' });
  assert.deepEqual(made.data.indicators[at('growth_monitored')], { indicator: 'growth_monitored', answer: 'yes', evidence: 'card_seen' }); // the records, not last round
  assert.deepEqual(made.data.indicators[at('home_garden')], { indicator: 'home_garden' }); // not answered last round: to ask
  assert.equal(at('retired_item'), -1);
  assert.equal(made.marks[`indicators[${at('improved_water')}].answer`], 'last_round');
  assert.equal(made.marks[`indicators[${at('improved_water')}].evidence`], 'last_round');
  assert.equal(made.marks[`indicators[${at('ecd_attendance')}].evidence`], undefined);
  assert.equal(made.marks[`indicators[${at('growth_monitored')}].answer`], 'growth');
  // Answered in full and dated, the pre-filled data is what the server's form accepts.
  const data = { ...made.data, date: TODAY, present: ['mother'],
    indicators: made.data.indicators.map((r) => (r.answer ? r : { ...r, answer: 'na' })) };
  const problems = new CompiledForm(form).validate(data, {}, 'en');
  assert.deepEqual(problems, []);
});

test('marks follow their repeat entries when one is taken out', () => {
  const marks = { 'indicators[0].answer': 'last_round', 'indicators[1].answer': 'growth', 'indicators[2].evidence': 'last_round', round: 'x' };
  assert.deepEqual(shiftMarks(marks, 'indicators', 1), { 'indicators[0].answer': 'last_round', 'indicators[1].evidence': 'last_round', round: 'x' });
});

test('the household members are the family\'s children from the register, with their age', () => {
  const members = householdMembers(FAMILY, [child('B', '2020-02-01'), child('A', '2024-05-01'), child('X', '2024-01-01', 'uvs-tes:fam:F2')], TODAY);
  assert.deepEqual(members.map((m) => [m.id, m.months]), [['uvs-tes:child:B', 82], ['uvs-tes:child:A', 31]]);
});

test('a child corrected is the next revision of its document, checked by the server\'s rule', () => {
  const stored = { ...child('A', '2024-05-01'), _rev: '1-abc', bag: '2-р баг', author: 'bolormaa', created_at: '2026-01-01T00:00:00Z', _revisions: { start: 1, ids: ['abc'] } };
  const made = editChild(stored, { name: '  Батын   Энхжин ', sex: 'm', dob: '2024-05-02', bag: '', family: 'uvs-tes:fam:F2' }, TODAY);
  assert.deepEqual(made.doc, { _id: 'uvs-tes:child:A', _rev: '1-abc', type: 'child', name: 'Батын Энхжин', sex: 'm', dob: '2024-05-02',
    family: 'uvs-tes:fam:F2', author: 'bolormaa', created_at: '2026-01-01T00:00:00Z' });
  assert.deepEqual(checkChild(made.doc, TODAY), []);
  assert.deepEqual(editChild(stored, { name: ' ', sex: '', dob: '2026-12-07', family: 'uvs-naran:fam:F9' }, TODAY).problems,
    { name: 'child_name', sex: 'child_sex', dob: 'child_dob', family: 'child_family' });
});

test('a family corrected keeps what the form does not show', () => {
  const stored = { ...FAMILY, _rev: '2-x', location: { lat: 50, lon: 93 } };
  const made = editEntry('family', stored, { name: ' Доржийн  Батбаяр ', bag: '', count: '6' });
  assert.deepEqual(made.doc, { _id: FAMILY._id, _rev: '2-x', type: 'family', name: 'Доржийн Батбаяр', members: 6,
    author: 'bolormaa', created_at: FAMILY.created_at, location: { lat: 50, lon: 93 } });
  assert.deepEqual(editEntry('family', stored, { name: '', bag: '', count: '600' }).problems, { name: 'entry_name_required', count: 'entry_count_bad' });
  assert.equal('children' in editEntry('kindergarten', { ...stored, type: 'kindergarten', children: 20 }, { name: 'Гэр цэцэрлэг', count: '' }).doc, false);
});
