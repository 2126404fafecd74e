// A family assessment started from a family's page begins with what the device
// already knows, so the worker checks answers instead of asking them again:
// the family, the round (baseline for a family with no assessment on the
// device, else follow-up), each indicator's answer and evidence from the
// family's previous assessment, and `growth_monitored` from the growth visits
// of the family's children of 0-59 months in the last 91 days. Every answer
// taken over is marked (`marks`, by question path, kept in the draft beside its
// answers, never sent) until the worker confirms or changes it.
// Pure functions, so Node tests run them.

import { childrenOf, childVisits, isDate } from './children.js';
import { linkFields } from './registers.js';
import DEFAULT_INDICATORS from './fes_indicators.json' with { type: 'json' };

export const FORM = 'family_assessment';
export const GROWTH_ITEM = 'growth_monitored';
export const GROWTH_DAYS = 91;

/** Completed calendar months from `dob` to `day` (both YYYY-MM-DD), as sync/demo_families.py counts them. */
export function monthsOld(dob, day) {
  const [by, bm, bd] = dob.split('-').map(Number);
  const [y, m, d] = day.split('-').map(Number);
  return (y - by) * 12 + m - bm - (d < bd ? 1 : 0);
}

/** `day` (YYYY-MM-DD) moved by `days`. */
export function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The family's family_assessment submissions on the device, newest first (date, then when written). */
export function familyAssessments(familyId, submissions) {
  return submissions
    .filter((sub) => sub && sub.form === FORM && sub.data && sub.data.family_id === familyId)
    .sort((a, b) => String(b.data.date || '').localeCompare(String(a.data.date || ''))
      || String(b.created_at || '').localeCompare(String(a.created_at || '')) || (a._id < b._id ? 1 : -1));
}

/**
 * `growth_monitored` from the growth records: `na` when the register has no
 * child of 0-59 months in the family, `yes` (growth card seen) when every one
 * of them has a growth visit dated in the last 91 days, else `no`; with the
 * children counted and measured, for the worker to check.
 */
export function growthMonitored(children, submissions, today) {
  const since = addDays(today, -(GROWTH_DAYS - 1)); // today and the 90 days before, as the server's report
  const young = children.filter((c) => isDate(c.dob) && c.dob <= today && monthsOld(c.dob, today) < 60);
  const measured = young.filter((child) => childVisits(child, submissions)
    .some((sub) => isDate(sub.data.visit_date) && sub.data.visit_date >= since && sub.data.visit_date <= today));
  if (!young.length) return { answer: 'na', children: 0, measured: 0 };
  const answer = measured.length === young.length ? 'yes' : 'no';
  return { answer, evidence: 'card_seen', children: young.length, measured: measured.length };
}

/** The indicator codes in the programme's order: the admins' list on the device, else fieldsync's defaults. */
export function indicatorCodes(checklist) {
  const items = checklist && Array.isArray(checklist.items) ? checklist.items : DEFAULT_INDICATORS;
  return items.map((item) => item && item.id).filter((id) => typeof id === 'string' && id);
}

/** The indicator list's labels by code (the admins' list, else the defaults). */
export function indicatorLabels(checklist) {
  const items = checklist && Array.isArray(checklist.items) ? checklist.items : DEFAULT_INDICATORS;
  return new Map(items.filter((item) => item && typeof item.id === 'string')
    .map((item) => [item.id, { mn: item.label_mn || item.id, en: item.label_en || item.id }]));
}

/**
 * The answers and marks a new family assessment of `family` starts with.
 * `submissions`: the area's; `children`: the area's child documents;
 * `checklist`: global:checklist:fes_indicators if on the device.
 */
export function assessmentPrefill(definition, family, { submissions, children, checklist, today }) {
  const data = {};
  const marks = {};
  for (const name of linkFields(definition, 'family')) data[name] = family._id;
  const names = new Set((definition.fields || []).map((f) => f.name));
  const previous = familyAssessments(family._id, submissions)[0] || null;
  if (names.has('round')) data.round = previous ? 'follow_up' : 'baseline';
  const repeat = (definition.fields || []).find((f) => f.name === 'indicators' && f.type === 'repeat');
  if (!repeat) return { data, marks };
  const before = new Map();
  for (const row of (previous && Array.isArray(previous.data.indicators) ? previous.data.indicators : [])) {
    if (row && typeof row.indicator === 'string' && !before.has(row.indicator)) before.set(row.indicator, row);
  }
  const growth = growthMonitored(childrenOf(family._id, children), submissions, today);
  data.indicators = indicatorCodes(checklist).map((code, i) => {
    const row = { indicator: code };
    const at = (name) => `indicators[${i}].${name}`;
    if (code === GROWTH_ITEM) {
      row.answer = growth.answer;
      marks[at('answer')] = 'growth';
      if (growth.evidence) {
        row.evidence = growth.evidence;
        marks[at('evidence')] = 'growth';
      }
      return row;
    }
    const last = before.get(code);
    if (last && typeof last.answer === 'string') {
      row.answer = last.answer;
      marks[at('answer')] = 'last_round';
      if (typeof last.evidence === 'string' && last.answer !== 'na') {
        row.evidence = last.evidence;
        marks[at('evidence')] = 'last_round';
      }
    }
    return row;
  });
  return { data, marks, growth, previous: previous ? previous._id : null };
}

/** The marks after repeat entry `removed` of the repeat at `repeatPath` was taken out (later ones move up). */
export function shiftMarks(marks, repeatPath, removed) {
  const out = {};
  const prefix = `${repeatPath}[`;
  for (const [path, source] of Object.entries(marks || {})) {
    if (!path.startsWith(prefix)) {
      out[path] = source;
      continue;
    }
    const close = path.indexOf(']', prefix.length);
    const n = Number(path.slice(prefix.length, close));
    if (n === removed) continue;
    out[n > removed ? `${prefix}${n - 1}${path.slice(close)}` : path] = source;
  }
  return out;
}

/** The family's members the register knows: its children, oldest first, with their age in months today. */
export function householdMembers(family, children, today) {
  return childrenOf(family._id, children).map((child) => ({
    id: child._id, name: child.name, sex: child.sex, dob: child.dob,
    months: isDate(child.dob) && child.dob <= today ? monthsOld(child.dob, today) : null,
  }));
}
