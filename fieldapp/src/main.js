// The worker's field app: log in once, sync with /sync/<user>, fill forms offline.
// Views are chosen by the URL hash: #/ (home), #/form/<draft id>, #/inbox,
// #/sub/<submission id>, #/registers/<family|kindergarten>, #/reg/<entry id>
// (a family, a kindergarten or a child), #/cases, #/case/<case id>.
// Everything reads the local replica; the network is only for replication and
// the first log-in.

import { assessmentPrefill, FORM as ASSESSMENT, householdMembers, indicatorLabels } from './assessment.js';
import { localDate } from './children.js';
import { CompiledForm } from './form/validate.js';
import { definitionOf, latestForms } from './form/model.js';
import { initLanguage, language, local, setLanguage, t } from './i18n.js';
import { Store } from './store.js';
import { SyncController } from './sync.js';
import { clear, fill, formatTime, h } from './ui/dom.js';
import { answersList } from './ui/answersview.js';
import { FormView } from './ui/formview.js';
import { caseView, casesView, refusalBox } from './ui/caseviews.js';
import { registerEntryView, registersView } from './ui/registerviews.js';
import { registerType, TYPES } from './registers.js';

const SESSION = 'fieldsync.session';
const BASE = new URL('.', document.baseURI).pathname.replace(/app\/$/, ''); // the server's root

const app = {
  session: null,
  store: null,
  sync: null,
  areas: [],
  areaNames: new Map(),
  view: null,
};

function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION));
  } catch {
    return null;
  }
}

async function login(name, password) {
  const resp = await fetch(`${BASE}_session`, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ name, password, device: true }), // a device session: long, for the replica only
  });
  if (!resp.ok) throw Object.assign(new Error('login'), { status: resp.status });
  const body = await resp.json();
  const info = await (await fetch(`${BASE}sync/${encodeURIComponent(body.name)}`, { credentials: 'same-origin' })).json();
  const areas = (info.members || []).filter((m) => m !== 'global');
  const saved = { name: body.name, roles: body.roles, areas, at: new Date().toISOString() };
  localStorage.setItem(SESSION, JSON.stringify(saved));
  return saved;
}

async function logout() {
  if (app.sync) app.sync.destroy();
  try {
    await fetch(`${BASE}_session`, { method: 'DELETE', credentials: 'same-origin' });
  } catch {
    /* offline: the cookie expires by itself */
  }
  localStorage.removeItem(SESSION);
  app.session = null;
  app.store = null;
  app.sync = null;
  location.hash = '#/';
  route();
}

function start(saved) {
  app.session = saved;
  app.areas = saved.areas || [];
  app.store = new Store(saved.name);
  app.sync = new SyncController(app.store, `${location.origin}${BASE}sync/${encodeURIComponent(saved.name)}`);
  app.sync.addEventListener('change', () => renderStatus());
  app.sync.addEventListener('data', () => {
    if (app.view && app.view.onData) app.view.onData();
    renderStatus();
  });
  app.sync.start();
}

// --- the frame: header, language switch, sync status ---------------------------------

const root = document.getElementById('app');
const statusBox = h('section', { class: 'sync', id: 'sync-status' });
const main = h('main', {});

function header() {
  const nav = app.session
    ? h('nav', {},
      h('a', { href: '#/', class: navClass('home'), id: 'nav-home' }, t('home')),
      h('a', { href: '#/registers/family', class: navClass('registers'), id: 'nav-registers' }, t('registers')),
      h('a', { href: '#/cases', class: navClass('cases'), id: 'nav-cases' }, t('cases')),
      h('a', { href: '#/inbox', class: navClass('inbox'), id: 'nav-inbox' }, t('inbox'), h('span', { class: 'badge', id: 'inbox-count' })))
    : null;
  return h('header', {},
    h('div', { class: 'bar' },
      h('h1', {}, t('app_name')),
      h('button', { type: 'button', class: 'lang', id: 'lang', onclick: () => {
        setLanguage(language() === 'mn' ? 'en' : 'mn');
        document.documentElement.lang = language();
        route();
      } }, t('language'))),
    nav);
}

function navClass(name) {
  return app.viewName === name ? 'active' : '';
}

async function renderStatus() {
  if (!app.sync) return;
  const s = app.sync;
  const waiting = Object.keys(await app.store.outbox()).length;
  const online = navigator.onLine;
  const label = s.state === 'active' ? t('syncing') : online ? t('online') : t('offline');
  fill(statusBox,
    h('div', { class: 'sync-row' },
      h('span', { class: `dot ${online ? (s.state === 'error' ? 'warn' : 'on') : 'off'}` }),
      h('span', { id: 'sync-state' }, label),
      h('button', { type: 'button', id: 'sync-now', class: 'primary small', disabled: !online, onclick: () => s.start() }, t('sync'))),
    h('div', { class: 'sync-row small' },
      h('span', {}, `↑ ${s.pushed} ${t('sent_up')}`), h('span', {}, `↓ ${s.pulled} ${t('received_down')}`),
      h('span', {}, `${t('waiting')}: `, h('strong', { id: 'waiting-count' }, String(waiting)))),
    h('div', { class: 'sync-row small' }, `${t('last_sync')}: `, h('span', { id: 'last-sync' }, s.lastSync ? formatTime(s.lastSync) : t('never'))),
    s.needsLogin ? h('p', { class: 'warn-box' }, t('login_again'), ' ', h('button', { type: 'button', class: 'link', onclick: logout }, t('log_in'))) : null,
    s.state === 'error' && !s.needsLogin ? h('p', { class: 'small muted' }, t('sync_error')) : null,
  );
  const items = await app.store.inbox(app.areas);
  const open = items.filter(needsAction).length + Object.keys(await app.store.refused()).length;
  const badge = document.getElementById('inbox-count');
  if (badge) badge.textContent = open ? String(open) : '';
}

function needsAction(item) {
  return item.kind === 'feedback' ? item.doc.status === 'refused' : item.doc.status === 'has_issues' || item.doc.status === 'rejected';
}

// --- views ------------------------------------------------------------------------------

function loginView() {
  const error = h('p', { class: 'error', role: 'alert' });
  const name = h('input', { id: 'login-name', name: 'name', autocomplete: 'username', autocapitalize: 'none', required: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card login', onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = '';
    if (!navigator.onLine) {
      error.textContent = t('login_offline');
      return;
    }
    try {
      const saved = await login(name.value.trim(), password.value);
      password.value = '';
      start(saved);
      location.hash = '#/';
      route();
    } catch (err) {
      error.textContent = err.status === 401 || err.status === 403 ? t('login_failed') : t('login_offline');
    }
  } },
  h('h2', {}, t('login_title')),
  h('label', { for: 'login-name' }, t('user_name')), name,
  h('label', { for: 'login-password' }, t('password')), password,
  h('button', { type: 'submit', class: 'primary', id: 'login-submit' }, t('log_in')),
  error,
  h('p', { class: 'small muted' }, t('login_hint')));
  return { el: form };
}

function areaLabel(code) {
  const doc = app.areaNames.get(code);
  return doc ? local(doc.name) || code : code;
}

async function homeView() {
  const el = h('div', {});
  const draw = async () => {
    app.areaNames = await app.store.areaNames();
    const forms = latestForms(await app.store.forms());
    const drafts = await app.store.listDrafts();
    const sent = await app.store.submissions(app.areas);
    const outbox = await app.store.outbox();
    const titles = new Map((await app.store.forms()).map((d) => [`${d.form}:${d.version}`, local(d.title)]));
    const area = h('select', { id: 'area' }, app.areas.map((code) => h('option', { value: code }, areaLabel(code))));
    fill(el, 
      h('section', { class: 'card' },
        h('h2', {}, t('new_form')),
        app.areas.length > 1 ? h('label', { class: 'inline' }, `${t('area')}: `, area) : null,
        forms.length ? h('ul', { class: 'list', id: 'form-list' }, forms.map((doc) => h('li', {},
          h('button', { type: 'button', class: 'item', dataset: { form: doc.form }, onclick: () =>
            startDraft(doc, app.areas.length > 1 ? area.value : app.areas[0]) }, h('span', {}, local(doc.title)), h('span', { class: 'muted small' }, `v${doc.version}`)))))
          : h('p', { class: 'muted' }, t('no_forms'))),
      h('section', { class: 'card' },
        h('h2', {}, t('drafts')),
        drafts.length ? h('ul', { class: 'list', id: 'draft-list' }, drafts.map((d) => h('li', {},
          h('a', { class: 'item', href: `#/form/${encodeURIComponent(d._id)}` },
            h('span', {}, titles.get(`${d.form}:${d.form_version}`) || d.form, d.about ? ` (${t('resend')})` : ''),
            h('span', { class: 'muted small' }, formatTime(d.updated_at))))))
          : h('p', { class: 'muted' }, t('no_drafts'))),
      h('section', { class: 'card' },
        h('h2', {}, t('sent')),
        h('ul', { class: 'list', id: 'sent-list' }, sent.slice(0, 20).map((s) => h('li', {},
          h('a', { class: 'item', href: `#/sub/${encodeURIComponent(s._id)}` },
            h('span', {}, titles.get(`${s.form}:${s.form_version}`) || s.form),
            h('span', { class: 'muted small' }, outbox[s._id] ? `⏳ ${t('waiting')}` : formatTime(s.created_at))))))),
    );
  };
  await draw();
  return { el, onData: draw };
}

/** A new draft of `formDoc` in `area` (answers `data` already given; `extra.marks`: pre-filled ones to check), opened. */
async function startDraft(formDoc, area, data = {}, extra = {}) {
  const draft = app.store.newDraft(formDoc, area, { ...extra, data });
  await app.store.saveDraft(draft, new Map());
  location.hash = `#/form/${encodeURIComponent(draft._id)}`;
}

/** What the register and case views need of the app. */
function registerContext() {
  return { store: app.store, areas: app.areas, user: app.session.name, areaLabel, startDraft,
    syncNow: () => {
      renderStatus(); // one more waiting
      if (app.sync && navigator.onLine) app.sync.start();
    },
    get query() { return app.registerQuery; }, set query(q) { app.registerQuery = q; } };
}

/** Register entries of the draft's area by type, for the form's link questions. */
async function registerChoices(area) {
  const out = new Map();
  for (const [type, kind] of Object.entries(TYPES)) out.set(type, await app.store.registerEntries([area], kind));
  return out;
}

async function formView(draftId) {
  const draft = await app.store.getDraft(draftId);
  if (!draft) return { el: h('p', { class: 'card' }, t('not_found')) };
  const formDoc = await app.store.form(draft.form, draft.form_version);
  if (!formDoc) return { el: h('p', { class: 'card' }, t('form_unavailable')) };
  const definition = definitionOf(formDoc);
  const compiled = new CompiledForm(definition);
  const photos = await app.store.draftPhotos(draft);
  const saved = h('span', { class: 'muted small', id: 'draft-saved' });
  let saving = Promise.resolve();
  const checklist = draft.form === ASSESSMENT ? await app.store.get('global:checklist:fes_indicators') : null;
  const household = h('div', {}, draft.form === ASSESSMENT ? await householdCard(draft) : null);
  const view = new FormView({
    compiled, definition, draft, photos, registers: await registerChoices(draft.area),
    markText: (source) => (source === 'growth' ? growthText(draft.growth) : t('from_last_round')),
    indicatorLabels: draft.form === ASSESSMENT ? indicatorLabels(checklist) : null,
    // A family assessment begun without its family (from the home page) is pre-filled once the family is chosen,
    // as long as no indicator has been answered yet.
    onAnswer: draft.form === ASSESSMENT ? async (name, value) => {
      if (name !== 'family_id') return;
      const family = typeof value === 'string' ? await app.store.get(value) : null;
      fill(household, family ? await householdCard(draft) : null);
      const answered = Array.isArray(draft.data.indicators) && draft.data.indicators.some((row) => row && row.answer);
      if (!family || answered) return;
      const made = assessmentPrefill(definition, family, {
        submissions: await app.store.areaSubmissions([draft.area]), children: await app.store.registerEntries([draft.area], 'child'),
        checklist, today: localDate() });
      Object.assign(draft.data, made.data);
      draft.marks = made.marks;
      draft.growth = made.growth;
      view.render();
      view.save();
    } : null,
    onSave: () => {
      saving = saving.then(() => app.store.saveDraft(draft, photos)).then(() => {
        saved.textContent = `${t('draft_saved')} ${formatTime(new Date().toISOString())}`;
      });
      return saving;
    },
  });
  const summary = h('p', { class: 'error', id: 'send-problems', role: 'alert' });
  const feedback = draft.about ? await app.store.feedbackOf(draft.about) : null;
  const el = h('div', { class: 'form' },
    h('div', { class: 'card form-head' },
      h('h2', {}, local(definition.title)),
      h('p', { class: 'muted small' }, `${areaLabel(draft.area)} · ${t('version')} ${draft.form_version}`),
      feedback && feedback.status === 'refused' ? reasons(feedback) : null),
    household,
    view.root,
    h('div', { class: 'actions' },
      summary,
      h('button', { type: 'button', class: 'primary', id: 'send', onclick: async () => {
        const problems = view.revealAll();
        if (problems.length) {
          summary.textContent = t('fix_errors', { n: problems.length });
          return;
        }
        const unchecked = view.unconfirmed();
        if (unchecked.length) {
          summary.textContent = t('unconfirmed', { n: unchecked.length });
          unchecked[0].el.scrollIntoView({ block: 'center' });
          return;
        }
        await view.save();
        await saving;
        const { data } = view.check();
        await app.store.send(draft, data, photos);
        app.flash = t('queued');
        location.hash = '#/';
        if (app.sync && navigator.onLine) app.sync.start();
      } }, draft.about ? t('resend') : t('send')),
      saved),
    h('div', { class: 'card draft-actions' },
      h('button', { type: 'button', class: 'secondary', id: 'save-draft', onclick: () => view.save() }, t('save_draft')),
      h('button', { type: 'button', class: 'link danger', onclick: async () => {
        if (!window.confirm(t('confirm_delete'))) return;
        await saving;
        await app.store.deleteDraft(draft);
        location.hash = '#/';
      } }, t('delete_draft'))));
  return { el, leave: () => (view.saveTimer ? view.save().then(() => saving) : saving) };
}

function growthText(growth) {
  if (!growth || !growth.children) return t('from_growth_none');
  return t('from_growth', { measured: growth.measured, children: growth.children });
}

/** The family's members the register knows (its children), above a family assessment. */
async function householdCard(draft) {
  const familyId = draft.data && draft.data.family_id;
  const family = typeof familyId === 'string' ? await app.store.get(familyId) : null;
  if (!family) return null;
  const members = householdMembers(family, await app.store.registerEntries([draft.area], 'child'), localDate());
  return h('section', { class: 'card', id: 'household' },
    h('h3', {}, t('household')),
    h('p', {}, h('strong', {}, family.name || family._id), typeof family.members === 'number' ? ` · ${t('members')}: ${family.members}` : ''),
    members.length ? h('ul', { class: 'list', id: 'household-list' }, members.map((m) => h('li', { dataset: { id: m.id } },
      `${m.name} · ${m.sex === 'f' ? t('girl') : t('boy')} · ${t('born')} ${m.dob}`,
      m.months !== null ? ` · ${t('months_old', { n: m.months })}` : '')))
      : h('p', { class: 'muted' }, t('no_household')));
}

function reasons(feedback) {
  const lang = language();
  return h('div', { class: 'refusal' },
    h('p', {}, h('strong', {}, t('refused')), ': ', t('refused_help')),
    h('ul', {}, (feedback.reasons || []).map((r) => h('li', {},
      r.field ? h('code', {}, r.field) : null, r.field ? ' — ' : null,
      (r.messages && (r.messages[lang] || r.messages.en)) || r.message))));
}

async function inboxView() {
  const el = h('div', {});
  const draw = async () => {
    const items = await app.store.inbox(app.areas);
    const titles = new Map((await app.store.forms()).map((d) => [`${d.form}:${d.version}`, local(d.title)]));
    // Cases' refusals, which the device kept itself (the server writes no feedback about a case).
    const refusals = await Promise.all(Object.entries(await app.store.refused()).map(async ([id, refusal]) => {
      const shown = await app.store.caseDoc(id);
      const code = (shown && shown.data && shown.data.child_name) || id.split(':')[2];
      return h('li', { class: 'msg refused case-refused', dataset: { kind: 'case', about: id } },
        h('div', { class: 'msg-head' }, h('strong', {}, `${t('cases')}: ${code}`), h('span', { class: 'tag refused' }, t('refused'))),
        refusalBox(registerContext(), id, refusal, draw),
        shown ? h('a', { class: 'button secondary small', href: `#/case/${encodeURIComponent(id)}` }, t('cases')) : null);
    }));
    fill(el, h('section', { class: 'card' }, h('h2', {}, t('inbox')),
      items.length || refusals.length ? h('ul', { class: 'inbox', id: 'inbox-list' }, refusals, await Promise.all(items.map(async (item) => {
        const sub = await app.store.get(item.about);
        // A refused register entry (a child the server's date finds born tomorrow, say): named, not fixable here.
        const entry = registerType(item.about);
        const title = entry ? `${t(entry)}: ${(sub && sub.name) || item.about}`
          : sub ? titles.get(`${sub.form}:${sub.form_version}`) || sub.form : item.about;
        if (item.kind === 'feedback') {
          const status = item.doc.status;
          return h('li', { class: `msg ${status}`, dataset: { kind: 'feedback', about: item.about } },
            h('div', { class: 'msg-head' }, h('strong', {}, title), h('span', { class: `tag ${status}` }, t(status) || status)),
            status === 'refused' ? reasons(item.doc) : null,
            item.doc.note ? h('p', {}, item.doc.note) : null,
            status === 'refused' && sub && !entry ? fixButton(item.about) : null);
        }
        const state = item.doc.status || 'received';
        return h('li', { class: `msg review ${state}`, dataset: { kind: 'review', about: item.about } },
          h('div', { class: 'msg-head' }, h('strong', {}, title), h('span', { class: `tag ${state}` }, `${t('review')}: ${t(`state_${state}`)}`)),
          comments(item.doc),
          state === 'has_issues' && sub ? fixButton(item.about) : null);
      }))) : h('p', { class: 'muted' }, t('inbox_empty'))));
  };
  await draw();
  return { el, onData: draw };
}

function comments(review) {
  const list = review.comments || [];
  if (!list.length) return null;
  return h('ul', { class: 'comments' }, list.map((c) => h('li', {},
    h('span', { class: 'muted small' }, `${c.by} · ${formatTime(c.at)}`), h('p', {}, c.text))));
}

function fixButton(subId) {
  return h('button', { type: 'button', class: 'primary small fix', onclick: async () => {
    const draft = await app.store.draftFromSubmission(subId);
    location.hash = `#/form/${encodeURIComponent(draft._id)}`;
  } }, t('resend'));
}

async function submissionView(subId) {
  const sub = await app.store.get(subId);
  if (!sub) return { el: h('p', { class: 'card' }, t('not_found')) };
  const review = await app.store.reviewOf(subId);
  const feedback = await app.store.feedbackOf(subId);
  const formDoc = await app.store.form(sub.form, sub.form_version);
  const area = subId.split(':')[0];
  const names = new Map();
  for (const kind of Object.values(TYPES)) {
    for (const entry of await app.store.registerEntries([area], kind)) names.set(entry._id, entry.name || entry._id);
  }
  const answers = formDoc
    ? answersList(definitionOf(formDoc), sub.data, { names, area, photo: (name) => app.store.attachment(subId, name) })
    : [h('p', { class: 'muted small' }, t('form_unavailable')), h('pre', { class: 'data' }, JSON.stringify(sub.data, null, 1))];
  return { el: h('div', { class: 'card submission' },
    h('h2', {}, formDoc ? local(formDoc.title) : sub.form),
    h('p', { class: 'muted small' }, `${t('version')} ${sub.form_version}`),
    h('p', { class: 'muted small' }, `${areaLabel(subId.split(':')[0])} · ${formatTime(sub.created_at)}`),
    feedback && feedback.status === 'refused' ? [reasons(feedback), fixButton(subId)] : null,
    review ? [h('p', {}, `${t('review')}: ${t(`state_${review.status || 'received'}`)}`), comments(review),
      review.status === 'has_issues' ? fixButton(subId) : null] : null,
    h('h3', {}, t('answers')),
    answers) };
}

// --- routing ---------------------------------------------------------------------------

let routing = 0;

async function route() {
  const turn = ++routing;
  if (app.view && app.view.leave) await app.view.leave();
  document.documentElement.lang = language();
  const hash = location.hash || '#/';
  if (!app.session) {
    app.viewName = 'login';
    app.view = loginView();
  } else if (hash.startsWith('#/form/')) {
    app.viewName = 'form';
    app.view = await formView(decodeURIComponent(hash.slice(7)));
  } else if (hash.startsWith('#/inbox')) {
    app.viewName = 'inbox';
    app.view = await inboxView();
  } else if (hash.startsWith('#/registers')) {
    app.viewName = 'registers';
    app.view = await registersView(registerContext(), decodeURIComponent(hash.slice(12)));
  } else if (hash.startsWith('#/reg/')) {
    app.viewName = 'registers';
    app.view = await registerEntryView(registerContext(), decodeURIComponent(hash.slice(6)));
  } else if (hash.startsWith('#/cases')) {
    app.viewName = 'cases';
    app.view = await casesView(registerContext());
  } else if (hash.startsWith('#/case/')) {
    app.viewName = 'cases';
    app.view = await caseView(registerContext(), decodeURIComponent(hash.slice(7)));
  } else if (hash.startsWith('#/sub/')) {
    app.viewName = 'sub';
    app.view = await submissionView(decodeURIComponent(hash.slice(6)));
  } else {
    app.viewName = 'home';
    app.view = await homeView();
  }
  if (turn !== routing) return; // a newer navigation won
  const flash = app.flash ? h('p', { class: 'flash', role: 'status' }, app.flash) : null;
  app.flash = null;
  fill(root, header(), app.session ? statusBox : null, flash, main);
  fill(main, app.view.el);
  if (app.lastHash !== hash) window.scrollTo(0, 0); // a language switch keeps the place
  app.lastHash = hash;
  renderStatus();
}

initLanguage();
const saved = session();
if (saved) start(saved);
window.addEventListener('hashchange', route);
route();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {
    /* the app still works online without it */
  });
}
