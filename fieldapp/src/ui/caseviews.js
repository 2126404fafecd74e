// The child protection cases a worker is on: the list (overdue follow-ups
// first) and a case's page, where a follow-up visit is recorded as the case's
// next revision, checked on the device by the write gate's own rules. A case
// lives only in the app's PouchDB replica: nothing of it goes into drafts,
// the URL (its id only) or the browser's other storage. A case the worker is
// taken off leaves with the next sync, and its page then says so.

import { caseRows, mayChange, MODES, overdue, recordFollowUp } from '../cases.js';
import { localDate } from '../children.js';
import { latestForms } from '../form/model.js';
import { language, local, t } from '../i18n.js';
import { isoNow } from '../ids.js';
import { fill, formatTime, h } from './dom.js';

const MESSAGE_MS = 4000; // how long a save's message stays on the case page

/** `ctx`: {store, areas, user, areaLabel(code)}. */
export async function casesView(ctx) {
  const el = h('div', {});
  const draw = async () => {
    const cases = await ctx.store.cases(ctx.areas);
    const outbox = await ctx.store.outbox();
    const rows = caseRows(cases, localDate());
    fill(el, h('section', { class: 'card', id: 'cases' },
      h('h2', {}, t('cases_title')),
      h('p', { class: 'muted small' }, t('cases_help')),
      rows.length ? h('ul', { class: 'list', id: 'case-list' }, rows.map((row) => h('li', {},
        h('a', { class: `item case-item${row.overdue ? ' overdue' : ''}`, href: `#/case/${encodeURIComponent(row.id)}`, dataset: { id: row.id } },
          h('span', {}, h('strong', { class: 'case-code' }, row.code), ' ',
            h('span', { class: `tag status ${row.status}` }, t(`status_${row.status}`)), ' ',
            h('span', { class: `tag risk ${row.risk}` }, `${t('risk_label')}: ${t(`risk_${row.risk}`)}`)),
          h('span', { class: 'muted small' },
            row.overdue ? h('strong', { class: 'overdue-mark' }, `⚠ ${t('overdue_n', { n: row.overdue })} · `) : null,
            row.next ? `${t('next_due')}: ${row.next}` : '',
            outbox[row.id] ? ` · ⏳ ${t('waiting')}` : '')))))
        : h('p', { class: 'muted', id: 'no-cases' }, t('no_cases'))));
  };
  await draw();
  return { el, onData: draw };
}

/** The referral form's labels of the concerns (its `concern` list), from the form on the device. */
async function concernLabels(store) {
  const form = latestForms(await store.forms()).find((doc) => doc.form === 'child_protection_referral');
  const list = (form && form.choices && form.choices.concern) || [];
  return new Map(list.map((c) => [c.name, local(c.label)]));
}

export async function caseView(ctx, id) {
  const el = h('div', { class: 'case-page' });
  // What a save says ("saved, waiting to be sent") stays through the redraws a sync makes at once
  // (the saved case going up, the server's revision coming down): cleared by the first redraw, it
  // was at times never drawn, the save's own redraw finishing after the sync's.
  let message = null; // { text, until }
  // The follow-up form is kept while the case stays the same revision: a sync drawing the page
  // again (any document arriving) must not wipe what is being typed.
  let form = null;
  const editor = (doc) => {
    if (!form || form.rev !== doc._rev) {
      form = { rev: doc._rev, el: followUpForm(ctx, doc, (text) => {
        message = { text, until: Date.now() + MESSAGE_MS };
        return draw();
      }) };
    }
    return form.el;
  };
  const draw = async () => {
    const doc = await ctx.store.caseDoc(id);
    if (!doc) {
      fill(el, h('section', { class: 'card' }, h('p', { id: 'case-gone' }, t('case_gone')),
        h('p', {}, h('a', { href: '#/cases' }, `← ${t('cases')}`))));
      return;
    }
    const outbox = await ctx.store.outbox();
    const refusal = (await ctx.store.refused())[id];
    const concerns = await concernLabels(ctx.store);
    const data = doc.data && typeof doc.data === 'object' ? doc.data : {};
    const today = localDate();
    const late = new Set(overdue(doc, today));
    const visits = Array.isArray(data.follow_ups) ? data.follow_ups : [];
    const services = Array.isArray(data.services) ? data.services : [];
    const history = Array.isArray(data.history) ? data.history : [];
    fill(el,
      h('section', { class: 'card' },
        h('p', { class: 'muted small' }, h('a', { href: '#/cases' }, `← ${t('cases')}`)),
        h('h2', { id: 'case-code' }, data.child_name || id.split(':')[2]),
        h('p', { class: 'muted small' }, ctx.areaLabel(id.split(':')[0]), outbox[id] ? ` · ⏳ ${t('waiting')}` : ''),
        message && Date.now() < message.until ? h('p', { class: 'flash', role: 'status', id: 'case-message' }, message.text) : null,
        refusal ? refusalBox(ctx, id, refusal, draw) : null,
        h('dl', { class: 'facts' },
          h('dt', {}, t('status_label')), h('dd', { id: 'case-status' }, t(`status_${doc.status}`)),
          h('dt', {}, t('risk_label')), h('dd', { id: 'case-risk', class: `risk ${doc.risk}` }, t(`risk_${doc.risk}`)),
          h('dt', {}, t('case_team_label')), h('dd', { id: 'case-team' },
            [...new Set([doc.coordinator, ...(Array.isArray(doc.team) ? doc.team : [])])].filter(Boolean).join(', ')),
          h('dt', {}, t('concerns')), h('dd', { id: 'case-concerns' },
            (Array.isArray(data.concerns) ? data.concerns : []).map((c) => concerns.get(c) || c).join(', ')),
          data.narrative ? [h('dt', {}, t('notes')), h('dd', {}, data.narrative)] : null)),
      h('section', { class: 'card' },
        h('h2', {}, t('services')),
        services.length ? h('ul', { class: 'list', id: 'service-list' }, services.map((s) => {
          const response = s.response || 'pending';
          const pastDue = doc.status !== 'closed' && response === 'pending' && s.due_by && s.due_by < today;
          return h('li', { class: `service${pastDue ? ' overdue' : ''}` },
            h('strong', {}, t(`service_${s.type}`)), s.provider ? ` · ${s.provider}` : '',
            h('p', { class: 'muted small' }, [
              `${t(`response_${response}`)}`,
              s.referred_at ? `${formatDay(s.referred_at)}` : null,
              s.due_by ? `${t('due_by')} ${s.due_by}` : null,
            ].filter(Boolean).join(' · '), pastDue ? h('strong', { class: 'overdue-mark' }, ` ⚠ ${t('overdue')}`) : null));
        })) : h('p', { class: 'muted' }, t('no_services'))),
      h('section', { class: 'card' },
        h('h2', {}, t('follow_ups')),
        visits.length ? h('ul', { class: 'list', id: 'follow-up-list' }, visits.map((v, n) => h('li', {
          class: `follow-up${late.has(v) ? ' overdue' : ''}${v.done_on ? ' done' : ''}`, dataset: { n: String(n) } },
        h('strong', {}, `${t('due')} ${v.due}`), ' · ',
        v.done_on ? `${t('done_on')} ${v.done_on}` : t('not_done'), ' · ', t(`mode_${v.mode || 'visit'}`),
        late.has(v) ? h('strong', { class: 'overdue-mark' }, ` ⚠ ${t('overdue')}`) : null,
        v.notes ? h('p', { class: 'small' }, v.notes) : null)))
          : h('p', { class: 'muted' }, t('no_follow_ups')),
        mayChange(ctx.user, doc) ? editor(doc) : h('p', { class: 'muted small' }, t('read_only_case'))),
      h('section', { class: 'card' },
        h('h2', {}, t('history')),
        h('ol', { class: 'history', id: 'case-history' }, history.map((entry) => h('li', {},
          h('span', { class: 'muted small' }, `${formatTime(entry.at)} · ${entry.by || ''}`), ' ',
          t(`action_${entry.action}`),
          entry.status ? ` · ${t(`status_${entry.status}`)}` : '',
          entry.risk ? ` · ${t('risk_label')}: ${t(`risk_${entry.risk}`)}` : '',
          entry.note ? h('p', { class: 'small' }, entry.note) : null)))));
  };
  await draw();
  return { el, onData: draw };
}

/** The write gate refused a change of this case the device sent (the server keeps no feedback for a case). */
export function refusalBox(ctx, id, refusal, after) {
  return h('div', { class: 'refusal case-refusal', id: 'case-refusal' },
    h('p', {}, h('strong', {}, t('case_refused')), ` (${formatTime(refusal.at)})`),
    h('p', { class: 'reason' }, (refusal.messages && (refusal.messages[language()] || refusal.messages.en)) || refusal.reason),
    h('p', { class: 'small' }, t('case_refused_help')),
    h('button', { type: 'button', class: 'secondary small', id: 'case-refusal-dismiss', onclick: async () => {
      await ctx.store.dismissRefusal(id);
      await after();
    } }, t('dismiss')));
}

function formatDay(value) {
  return String(value).slice(0, 10);
}

/** Record a follow-up visit: a planned one done, or one not planned; optionally the next one. */
function followUpForm(ctx, doc, done) {
  const errors = {};
  const error = (name) => (errors[name] = h('p', { class: 'error', id: `fu-${name}-error` }));
  const visits = (doc.data && Array.isArray(doc.data.follow_ups) ? doc.data.follow_ups : []);
  const open = visits.map((v, n) => [v, n]).filter(([v]) => v && typeof v === 'object' && !v.done_on);
  const planned = h('select', { id: 'fu-planned' },
    open.map(([v, n]) => h('option', { value: String(n) }, `${t('due')} ${v.due} · ${t(`mode_${v.mode || 'visit'}`)}`)),
    h('option', { value: '' }, t('unplanned_visit')));
  const date = h('input', { id: 'fu-date', type: 'date', max: localDate() });
  const modes = MODES.map((mode) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'fu-mode', value: mode, id: `fu-mode-${mode}` }), ` ${t(`mode_${mode}`)}`));
  const notes = h('textarea', { id: 'fu-notes', rows: 3 });
  const next = h('input', { id: 'fu-next', type: 'date' });
  const form = h('form', { class: 'entry-form', id: 'follow-up-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const mode = modes.map((label) => label.querySelector('input')).find((input) => input.checked);
    const made = recordFollowUp(doc, { planned: planned.value, date: date.value, mode: mode ? mode.value : '',
      notes: notes.value, next: next.value }, ctx.user, isoNow(), localDate());
    for (const [key, box] of Object.entries(errors)) box.textContent = made.problems && made.problems[key] ? t(made.problems[key]) : '';
    if (made.problems) return;
    try {
      await ctx.store.putRevision(made.doc);
    } catch (err) {
      if (err.status !== 409) throw err;
      errors.gate.textContent = t('case_conflict'); // the case changed under the form (a sync): draw it again
      setTimeout(() => done(null), 1500);
      return;
    }
    await done(t('follow_up_saved'));
    if (ctx.syncNow) ctx.syncNow();
  } },
  open.length ? [h('label', { for: 'fu-planned' }, t('which_visit')), planned, error('planned')] : error('planned'),
  h('label', { for: 'fu-date' }, t('visit_date')), date, error('date'),
  h('fieldset', { class: 'choices', id: 'fu-mode' }, h('legend', {}, t('visit_mode')), modes), error('mode'),
  h('label', { for: 'fu-notes' }, t('notes')), notes, error('notes'),
  h('label', { for: 'fu-next' }, t('next_visit')), next, error('next'),
  error('gate'),
  h('button', { type: 'submit', class: 'primary', id: 'fu-save' }, t('save_follow_up')));
  if (!open.length) planned.value = '';
  return h('details', { id: 'record-follow-up', open: false }, h('summary', {}, `+ ${t('record_follow_up')}`), form);
}
