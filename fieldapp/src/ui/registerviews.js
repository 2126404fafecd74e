// The register pages: families and ger-kindergartens of the worker's areas,
// searched by name or bag, each with its visit history and a "new visit" that
// opens a form with the link to the entry already answered. Everything is read
// from the local replica, so the register works offline like the forms.

import { latestForms, definitionOf } from '../form/model.js';
import { local, t } from '../i18n.js';
import { docId, isoNow } from '../ids.js';
import { linkFields, newEntry, prefill, registerType, search, TYPES, visitsOf, visitSummary } from '../registers.js';
import { fill, formatTime, h } from './dom.js';

/** `ctx`: {store, areas, user, areaLabel(code), startDraft(formDoc, area, data)}. */
export async function registersView(ctx, type) {
  type = TYPES[type] ? type : 'family';
  const entries = await ctx.store.registerEntries(ctx.areas, TYPES[type]);
  const summary = visitSummary(await ctx.store.areaSubmissions(ctx.areas));
  const list = h('ul', { class: 'list', id: 'register-list' });
  const found = h('p', { class: 'muted small', id: 'register-found' });
  const input = h('input', { type: 'search', id: 'register-search', placeholder: t('search_placeholder'),
    'aria-label': t('search'), autocomplete: 'off', value: ctx.query || '',
    oninput: () => {
      ctx.query = input.value;
      draw();
    } });
  const draw = () => {
    const shown = search(entries, input.value);
    found.textContent = t('entries_found', { n: shown.length });
    fill(list, shown.length ? shown.map((entry) => {
      const visits = summary.get(entry._id);
      const about = [entry.bag, ctx.areas.length > 1 ? ctx.areaLabel(entry._id.split(':')[0]) : null,
        visits ? `${t('visits_n', { n: visits.count })} · ${t('last_visit')} ${visits.last.slice(0, 10)}` : t('no_visits_short')];
      return h('li', {}, h('a', { class: 'item entry-item', href: `#/reg/${encodeURIComponent(entry._id)}`, dataset: { id: entry._id } },
        h('strong', {}, entry.name || entry._id),
        h('span', { class: 'muted small' }, about.filter(Boolean).join(' · '))));
    }) : h('li', { class: 'muted' }, t('no_entries')));
  };
  draw();
  const tab = (name) => h('a', { href: `#/registers/${name}`, class: `tab ${name === type ? 'active' : ''}`, id: `tab-${name}` },
    t(name === 'family' ? 'families' : 'kindergartens'));
  const el = h('div', {}, h('section', { class: 'card register' },
    h('h2', {}, t('registers')),
    h('div', { class: 'tabs' }, tab('family'), tab('kindergarten')),
    input, found, list),
  addForm(ctx, type));
  return { el };
}

/** A new family or kindergarten, stored on the device and synced like a submission. */
function addForm(ctx, type) {
  const area = h('select', { id: 'entry-area' }, ctx.areas.map((code) => h('option', { value: code }, ctx.areaLabel(code))));
  const field = (name, label, attrs = {}) => {
    const error = h('p', { class: 'error', id: `entry-${name}-error` });
    const input = h('input', { id: `entry-${name}`, name, autocomplete: 'off', ...attrs });
    return { input, error, el: [h('label', { for: `entry-${name}` }, label), input, error] };
  };
  const name = field('name', t(type === 'family' ? 'entry_family_name' : 'entry_kindergarten_name'), { required: true });
  const bag = field('bag', t('bag'));
  const count = field('count', t(type === 'family' ? 'members' : 'children'), { inputmode: 'numeric' });
  const form = h('form', { class: 'entry-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const where = ctx.areas.length > 1 ? area.value : ctx.areas[0];
    const made = newEntry(type, { name: name.input.value, bag: bag.input.value, count: count.input.value },
      docId(where, TYPES[type]), ctx.user, isoNow());
    for (const [key, f] of Object.entries({ name, bag, count })) f.error.textContent = made.problems && made.problems[key] ? t(made.problems[key]) : '';
    if (made.problems) return;
    await ctx.store.addEntry(made.doc);
    location.hash = `#/reg/${encodeURIComponent(made.doc._id)}`;
  } },
  ctx.areas.length > 1 ? h('label', { class: 'inline' }, `${t('area')}: `, area) : null,
  name.el, bag.el, count.el,
  h('button', { type: 'submit', class: 'primary', id: 'entry-save' }, t('save_entry')));
  return h('details', { class: 'card', id: 'add-entry' },
    h('summary', {}, `+ ${t(type === 'family' ? 'add_family' : 'add_kindergarten')}`), form);
}

export async function registerEntryView(ctx, id) {
  const entry = await ctx.store.get(id);
  const type = registerType(id);
  if (!entry || !type) return { el: h('p', { class: 'card' }, t('not_found')) };
  const area = id.split(':')[0];
  const forms = latestForms(await ctx.store.forms())
    .filter((doc) => linkFields(definitionOf(doc), type).length);
  const titles = new Map((await ctx.store.forms()).map((d) => [`${d.form}:${d.version}`, local(d.title)]));
  const visits = visitsOf(id, await ctx.store.areaSubmissions([area]));
  const outbox = await ctx.store.outbox();
  const facts = [
    entry.bag ? [t('bag'), entry.bag] : null,
    typeof entry.members === 'number' ? [t('members'), String(entry.members)] : null,
    typeof entry.children === 'number' ? [t('children'), String(entry.children)] : null,
    entry.location && typeof entry.location === 'object' ? [t('location'), `${entry.location.lat}, ${entry.location.lon}`] : null,
    entry.remarks ? [t('remarks'), entry.remarks] : null,
  ].filter(Boolean);
  const el = h('div', { class: 'register-entry' },
    h('section', { class: 'card' },
      h('p', { class: 'muted small' }, h('a', { href: `#/registers/${type}` }, `← ${t(type === 'family' ? 'families' : 'kindergartens')}`)),
      h('h2', { id: 'entry-name' }, entry.name || id),
      h('p', { class: 'muted small' }, `${t(type)} · ${ctx.areaLabel(area)}`),
      facts.length ? h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null,
      forms.map((doc) => h('button', { type: 'button', class: 'primary new-visit', dataset: { form: doc.form }, onclick: () =>
        ctx.startDraft(doc, area, prefill(definitionOf(doc), entry)) }, `+ ${t('new_visit')}: ${local(doc.title)}`))),
    h('section', { class: 'card' },
      h('h2', {}, t('visit_history')),
      visits.length ? h('ul', { class: 'list', id: 'visit-list' }, visits.map((sub) => h('li', {},
        h('a', { class: 'item', href: `#/sub/${encodeURIComponent(sub._id)}` },
          h('span', {}, titles.get(`${sub.form}:${sub.form_version}`) || sub.form,
            sub.author !== ctx.user ? h('span', { class: 'muted small' }, ` · ${sub.author}`) : null),
          h('span', { class: 'muted small' }, outbox[sub._id] ? `⏳ ${t('waiting')}` : formatTime(sub.created_at))))))
        : h('p', { class: 'muted', id: 'no-visits' }, t('no_visits'))));
  return { el };
}
