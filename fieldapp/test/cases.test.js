// Child protection cases on the device: the gate's rules (every case of
// case_rules.json, answered by sync/cases.py), the cases list with overdue
// follow-ups first, a follow-up recorded as the case's next revision, and the
// revocation tombstone recognised as the server makes it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { caseRows, checkCase, MODES, nextDue, overdue, recordFollowUp, RESPONSES, RISKS, SERVICE_TYPES, STATUSES, tombstoneRev, writeDenial } from '../src/cases.js';
import { TEXTS } from '../src/i18n.js';

const rules = JSON.parse(readFileSync(new URL('./case_rules.json', import.meta.url), 'utf8'));
const byWhat = Object.fromEntries(rules.cases.map((c) => [c.what, c]));
const CURRENT = byWhat['a follow-up done, by the team'].existing;

test('the case rules give the server\'s answer in every case of case_rules.json', () => {
  assert.ok(rules.cases.length >= 100, `${rules.cases.length} cases`);
  const differ = [];
  for (const c of rules.cases) {
    const problems = checkCase(c.doc, c.existing).map((p) => [p.field, p.key]);
    const denial = writeDenial(c.user, c.doc, c.existing);
    if (JSON.stringify(problems) !== JSON.stringify(c.problems) || denial !== c.denial) {
      differ.push(`${c.what}: server ${c.denial} ${JSON.stringify(c.problems)}, app ${denial} ${JSON.stringify(problems)}`);
    }
  }
  assert.deepEqual(differ, []);
  // Where JavaScript's own meanings would answer otherwise, the file has the server's answer.
  assert.deepEqual(byWhat['history: 1 kept as true (equal in Python)'].problems, []);
  assert.deepEqual(byWhat['a visit notes 4000 letters beyond U+FFFF'].problems, []);
  assert.deepEqual(byWhat['a visit done_on in Mongolian digits'].problems, [['data.follow_ups[2].done_on', 'date']]);
  assert.equal(byWhat['the author taken off the team'].denial, 'not_team');
});

test('every refusal has a text in both languages', () => {
  for (const c of rules.cases) {
    const keys = [...checkCase(c.doc, c.existing).map((p) => p.key), writeDenial(c.user, c.doc, c.existing)].filter(Boolean);
    for (const key of keys) assert.ok(TEXTS.mn[`case_${key}`] && TEXTS.en[`case_${key}`], key);
  }
});

test('every status, risk, service, answer, mode and history action the server writes has a name in both languages', () => {
  const keys = [...STATUSES.map((v) => `status_${v}`), ...RISKS.map((v) => `risk_${v}`), ...SERVICE_TYPES.map((v) => `service_${v}`),
    ...RESPONSES.map((v) => `response_${v}`), ...MODES.map((v) => `mode_${v}`),
    // server/web/cases.py action_names and the device's own follow-up
    ...['opened', 'status', 'risk', 'team', 'follow_ups', 'services', 'follow_up_done'].map((v) => `action_${v}`)];
  for (const key of keys) assert.ok(TEXTS.mn[key] && TEXTS.en[key], key);
});

test('a follow-up recorded on the device is what the gate accepts, as the case page writes it', () => {
  const made = recordFollowUp(CURRENT, { planned: 1, date: '2026-12-05', mode: 'visit', notes: ' Хүүхэдтэй уулзсан. ' },
    'bolormaa', '2026-12-05T15:00:00+08:00', '2026-12-06');
  assert.ok(made.doc, JSON.stringify(made.problems));
  // The same revision the server's own cases.changed made for the shared file's first case.
  assert.deepEqual(made.doc, byWhat['a follow-up done, by the team'].doc);
  assert.deepEqual(checkCase(made.doc, CURRENT), []);
  // A visit not planned is added as due and done that day; a next visit planned after it.
  const extra = recordFollowUp(CURRENT, { planned: '', date: '2026-12-01', mode: 'phone', notes: '', next: '2026-12-20' },
    'bolormaa', '2026-12-01T10:00:00+08:00', '2026-12-06').doc;
  assert.deepEqual(extra.data.follow_ups.slice(2), [
    { due: '2026-12-01', done_on: '2026-12-01', mode: 'phone', notes: '' },
    { due: '2026-12-20', done_on: null, mode: 'phone', notes: '' }]);
  assert.deepEqual(extra.data.history.at(-1), { at: '2026-12-01T10:00:00+08:00', by: 'bolormaa', action: 'follow_up_done' });
  assert.deepEqual(extra.data.history.slice(0, -1), CURRENT.data.history);
  assert.equal(extra._rev, CURRENT._rev);
});

test('what the device refuses before the gate would', () => {
  const record = (typed, user = 'bolormaa', current = CURRENT) => recordFollowUp(current, typed, user, '2026-12-05T15:00:00+08:00', '2026-12-06').problems;
  assert.deepEqual(record({ planned: 1, date: '', mode: '' }), { date: 'case_date_required', mode: 'case_mode_required' });
  assert.deepEqual(record({ planned: 1, date: '2026-12-07', mode: 'visit' }), { date: 'case_date_future' });
  assert.deepEqual(record({ planned: 1, date: '2026-02-29', mode: 'visit' }), { date: 'case_date_required' });
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'sms' }), { mode: 'case_mode_required' });
  assert.deepEqual(record({ planned: 0, date: '2026-12-05', mode: 'visit' }), { planned: 'case_no_such_visit' }); // done already
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit', next: '2026-12-05' }), { next: 'case_next_bad' });
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit', notes: '𝐀'.repeat(4001) }), { notes: 'case_text' });
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit', notes: '𝐀'.repeat(4000) }), undefined);
  // The gate's own rules: a worker off the team, or a case whose stored revision the gate would refuse.
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit' }, 'tsetseg'), { gate: 'case_not_team' });
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit' }, 'bolormaa', { ...CURRENT, team: ['dulmaa'] }), { gate: 'case_not_team' });
  const broken = { ...CURRENT, data: { ...CURRENT.data, services: [{ type: 'shelter' }] } };
  assert.deepEqual(record({ planned: 1, date: '2026-12-05', mode: 'visit' }, 'bolormaa', broken), { gate: 'case_choice' });
  // CouchDB's fields the app read the case with do not go into the revision.
  const read = { ...CURRENT, _conflicts: ['3-x'], _deleted_conflicts: ['4-y'], _revisions: { start: 3, ids: ['a1b2c3'] } };
  const made = recordFollowUp(read, { planned: 1, date: '2026-12-05', mode: 'visit' }, 'bolormaa', 'now', '2026-12-06').doc;
  assert.deepEqual(Object.keys(made).filter((k) => k.startsWith('_')), ['_id', '_rev']);
});

test('the cases list: overdue first, then open by risk and next due; closed last', () => {
  const mk = (key, status, risk, visits) => ({ _id: `uvs-tes:case:${key}`, type: 'case', status, risk, data: { child_name: `CP-${key}`, follow_ups: visits } });
  const cases = [
    mk('A', 'open', 'low', [{ due: '2026-12-01', done_on: null }]),
    mk('B', 'open', 'high', [{ due: '2026-12-20', done_on: null }]),
    mk('C', 'closed', 'high', [{ due: '2026-11-01', done_on: null }]),
    mk('D', 'in_progress', 'medium', [{ due: '2026-10-01', done_on: '2026-10-01' }, { due: '2026-12-10', done_on: null }]),
    { _id: 'uvs-tes:case:E', type: 'case', status: 'open', risk: 'high', data: {} },
  ];
  const rows = caseRows(cases, '2026-12-06');
  assert.deepEqual(rows.map((r) => r.code), ['CP-A', 'CP-B', 'E', 'CP-D', 'CP-C']);
  assert.deepEqual(rows.map((r) => r.overdue), [1, 0, 0, 0, 0]);
  assert.equal(rows[3].next, '2026-12-10');
  assert.deepEqual(overdue(cases[2], '2026-12-06'), []); // a closed case has none
  assert.equal(nextDue(cases[4]), null);
});

test('the revocation tombstone is recognised by its revision, as sync/replica/revocation.py makes it', () => {
  // tombstone_rev("uvs-tes:case:01JDQ7Z3K8M2N4P6Q8R0S2T4V6", "3-a1b2c3") on the server.
  assert.equal(tombstoneRev('uvs-tes:case:01JDQ7Z3K8M2N4P6Q8R0S2T4V6', '3-a1b2c3'), rules.tombstone);
});
