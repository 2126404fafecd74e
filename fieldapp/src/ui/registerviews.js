// The register pages: families and ger-kindergartens of the worker's areas,
// searched by name or bag, each with its visit history and a "new visit" that
// opens a form with the link to the entry already answered. A family's page
// lists its children (and registers a new one); a child's page its growth
// visits with the server's classes, and starts a new one. Everything is read
// from the local replica, so the register works offline like the forms.

import { latestForms, definitionOf } from '../form/model.js';
import { assessmentPrefill, FORM as ASSESSMENT } from '../assessment.js';
import { childPrefill, childrenOf, childVisits, derivedId, editChild, growthRow, localDate, newChild } from '../children.js';
import { local, t } from '../i18n.js';
import { docId, isoNow } from '../ids.js';
import { editEntry, LISTED, linkFields, newEntry, prefill, registerType, search, TYPES, visitsOf, visitSummary } from '../registers.js';
import { fill, formatTime, h } from './dom.js';

/** `ctx`: {store, areas, user, areaLabel(code), startDraft(formDoc, area, data)}. */
export async function registersView(ctx, type) {
  type = LISTED.includes(type) ? type : 'family';
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
  if (type === 'child') return childView(ctx, entry);
  const area = id.split(':')[0];
  // A form that also names a child (growth_visit) is started from the child's page, where both are known.
  const forms = latestForms(await ctx.store.forms())
    .filter((doc) => linkFields(definitionOf(doc), type).length && !linkFields(definitionOf(doc), 'child').length);
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
      forms.map((doc) => h('button', { type: 'button', class: 'primary new-visit', dataset: { form: doc.form }, onclick: async () => {
        if (doc.form !== ASSESSMENT) return ctx.startDraft(doc, area, prefill(definitionOf(doc), entry));
        // A family assessment starts from what the device knows of the family (assessment.js).
        const made = assessmentPrefill(definitionOf(doc), entry, {
          submissions: await ctx.store.areaSubmissions([area]), children: await ctx.store.registerEntries([area], 'child'),
          checklist: await ctx.store.get('global:checklist:fes_indicators'), today: localDate() });
        return ctx.startDraft(doc, area, made.data, { marks: made.marks, growth: made.growth });
      } }, `+ ${t('new_visit')}: ${local(doc.title)}`)),
      editEntryForm(ctx, type, entry)),
    type === 'family' ? await childrenCard(ctx, entry) : null,
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

/** Correct a family's or kindergarten's name, bag and count: the next revision of its document. */
function editEntryForm(ctx, type, entry) {
  const field = (name, label, value, attrs = {}) => {
    const error = h('p', { class: 'error', id: `edit-${name}-error` });
    const input = h('input', { id: `edit-${name}`, name, autocomplete: 'off', value: value ?? '', ...attrs });
    return { input, error, el: [h('label', { for: `edit-${name}` }, label), input, error] };
  };
  const countField = type === 'family' ? 'members' : 'children';
  const name = field('name', t(type === 'family' ? 'entry_family_name' : 'entry_kindergarten_name'), entry.name);
  const bag = field('bag', t('bag'), entry.bag);
  const count = field('count', t(countField), typeof entry[countField] === 'number' ? String(entry[countField]) : '', { inputmode: 'numeric' });
  const form = h('form', { class: 'entry-form', id: 'edit-entry-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const current = (await ctx.store.get(entry._id)) || entry;
    const made = editEntry(type, current, { name: name.input.value, bag: bag.input.value, count: count.input.value });
    for (const [key, f] of Object.entries({ name, bag, count })) f.error.textContent = made.problems && made.problems[key] ? t(made.problems[key]) : '';
    if (made.problems) return;
    await ctx.store.putRevision(made.doc);
    if (ctx.syncNow) ctx.syncNow();
    window.dispatchEvent(new HashChangeEvent('hashchange')); // drawn again from the replica
  } }, name.el, bag.el, count.el,
  h('button', { type: 'submit', class: 'primary', id: 'edit-save' }, t('save_changes')));
  return h('details', { id: 'edit-entry' }, h('summary', {}, `✎ ${t('correct_entry')}`), form);
}

function sexName(sex) {
  return sex === 'f' ? t('girl') : t('boy');
}

/** A family's children (the area's child documents naming it), and a form to register one. */
async function childrenCard(ctx, family) {
  const area = family._id.split(':')[0];
  const children = childrenOf(family._id, await ctx.store.registerEntries([area], 'child'));
  const subs = await ctx.store.areaSubmissions([area]);
  const outbox = await ctx.store.outbox();
  return h('section', { class: 'card', id: 'children' },
    h('h2', {}, t('family_children')),
    children.length ? h('ul', { class: 'list', id: 'child-list' }, children.map((child) => {
      const visits = childVisits(child, subs);
      const last = visits[0] && visits[0].data.visit_date;
      const about = [sexName(child.sex), `${t('born')} ${child.dob}`,
        visits.length ? `${t('visits_n', { n: visits.length })} · ${t('last_visit')} ${last}` : t('not_measured'),
        outbox[child._id] ? `⏳ ${t('waiting')}` : null];
      return h('li', {}, h('a', { class: 'item child-item', href: `#/reg/${encodeURIComponent(child._id)}`, dataset: { id: child._id } },
        h('strong', {}, child.name), h('span', { class: 'muted small' }, about.filter(Boolean).join(' · '))));
    })) : h('p', { class: 'muted', id: 'no-children' }, t('no_children')),
    addChildForm(ctx, family));
}

/** A new child of the family, checked by the server's rule on the device, stored and synced like a family. */
function addChildForm(ctx, family) {
  const errors = {};
  const error = (name) => (errors[name] = h('p', { class: 'error', id: `child-${name}-error` }));
  const name = h('input', { id: 'child-name', name: 'name', autocomplete: 'off', required: true });
  const sexes = ['f', 'm'].map((value) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'child-sex', value, id: `child-sex-${value}` }), ` ${sexName(value)}`));
  const dob = h('input', { id: 'child-dob', name: 'dob', type: 'date', max: localDate() });
  const form = h('form', { class: 'entry-form', id: 'child-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const sex = sexes.map((label) => label.querySelector('input')).find((input) => input.checked);
    const made = newChild(family, { name: name.value, sex: sex ? sex.value : '', dob: dob.value },
      docId(family._id.split(':')[0], 'child'), ctx.user, isoNow(), localDate());
    for (const [key, el] of Object.entries(errors)) el.textContent = made.problems && made.problems[key] ? t(made.problems[key]) : '';
    // A problem of a field the form does not show (it cannot happen from here) still says why.
    const other = made.problems ? Object.keys(made.problems).filter((key) => !(key in errors)) : [];
    errors.other.textContent = other.map((key) => t(made.problems[key])).join(' ');
    if (made.problems) return;
    await ctx.store.addEntry(made.doc);
    location.hash = `#/reg/${encodeURIComponent(made.doc._id)}`;
  } },
  h('label', { for: 'child-name' }, t('child_name_label')), name, error('name'),
  h('fieldset', { class: 'choices', id: 'child-sex' }, h('legend', {}, t('sex')), sexes), error('sex'),
  h('label', { for: 'child-dob' }, t('dob')), dob, error('dob'),
  error('other'),
  h('button', { type: 'submit', class: 'primary', id: 'child-save' }, t('save_child')));
  return h('details', { id: 'add-child' }, h('summary', {}, `+ ${t('add_child')}`), form);
}

/**
 * Correct a child (name, sex, birth date, bag, family): the next revision of
 * its document, checked on the device by the server's own rule before it is
 * stored, and synced through the gate like a new child.
 */
function editChildForm(ctx, child, families) {
  const errors = {};
  const error = (name) => (errors[name] = h('p', { class: 'error', id: `edit-child-${name}-error` }));
  const name = h('input', { id: 'edit-child-name', autocomplete: 'off', value: child.name || '' });
  const sexes = ['f', 'm'].map((value) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'edit-child-sex', value, id: `edit-child-sex-${value}`, checked: child.sex === value }), ` ${sexName(value)}`));
  const dob = h('input', { id: 'edit-child-dob', type: 'date', max: localDate(), value: child.dob || '' });
  const bag = h('input', { id: 'edit-child-bag', autocomplete: 'off', value: child.bag || '' });
  const family = h('select', { id: 'edit-child-family' },
    [...families].sort((a, b) => String(a.name || '').localeCompare(String(b.name || ''), 'mn')).map((f) =>
      h('option', { value: f._id, selected: f._id === child.family }, f.bag ? `${f.name} · ${f.bag}` : f.name || f._id)),
    families.some((f) => f._id === child.family) ? null : h('option', { value: child.family || '', selected: true }, child.family || t('choose')));
  const form = h('form', { class: 'entry-form', id: 'edit-child-form', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const sex = sexes.map((label) => label.querySelector('input')).find((input) => input.checked);
    const current = (await ctx.store.get(child._id)) || child;
    const made = editChild(current, { name: name.value, sex: sex ? sex.value : '', dob: dob.value, bag: bag.value, family: family.value }, localDate());
    for (const [key, el] of Object.entries(errors)) el.textContent = made.problems && made.problems[key] ? t(made.problems[key]) : '';
    const other = made.problems ? Object.keys(made.problems).filter((key) => !(key in errors)) : [];
    errors.other.textContent = other.map((key) => t(made.problems[key])).join(' ');
    if (made.problems) return;
    await ctx.store.putRevision(made.doc);
    if (ctx.syncNow) ctx.syncNow();
    window.dispatchEvent(new HashChangeEvent('hashchange')); // drawn again from the replica
  } },
  h('label', { for: 'edit-child-name' }, t('child_name_label')), name, error('name'),
  h('fieldset', { class: 'choices' }, h('legend', {}, t('sex')), sexes), error('sex'),
  h('label', { for: 'edit-child-dob' }, t('dob')), dob, error('dob'),
  h('label', { for: 'edit-child-bag' }, t('bag')), bag, error('bag'),
  h('label', { for: 'edit-child-family' }, t('family')), family, error('family'),
  error('other'),
  h('button', { type: 'submit', class: 'primary', id: 'edit-child-save' }, t('save_changes')));
  return h('details', { id: 'edit-child' }, h('summary', {}, `✎ ${t('correct_child')}`), form);
}

/** A child: its register facts, its growth visits newest first with the server's classes, and a new visit. */
async function childView(ctx, first) {
  const el = h('div', { class: 'register-entry child' });
  // Drawn again when a sync brings something: the server's values of a visit just sent arrive after it.
  // The correction form is made once: a sync drawing the page again must not wipe what is being typed.
  const editor = editChildForm(ctx, first, await ctx.store.registerEntries([first._id.split(':')[0]], 'fam'));
  const draw = async () => fill(el, ...await childParts(ctx, (await ctx.store.get(first._id)) || first, editor));
  await draw();
  return { el, onData: draw };
}

async function childParts(ctx, child, editor) {
  const area = child._id.split(':')[0];
  const family = typeof child.family === 'string' ? await ctx.store.get(child.family) : null;
  const forms = latestForms(await ctx.store.forms())
    .filter((doc) => linkFields(definitionOf(doc), 'child').length);
  const titles = new Map((await ctx.store.forms()).map((d) => [`${d.form}:${d.version}`, local(d.title)]));
  const visits = childVisits(child, await ctx.store.areaSubmissions([area]));
  const outbox = await ctx.store.outbox();
  const rows = [];
  for (const sub of visits) rows.push(growthRow(sub, await ctx.store.get(derivedId(sub._id))));
  const number = (value, unit) => (typeof value === 'number' ? `${value} ${t(unit)}` : null);
  return [
    h('section', { class: 'card' },
      h('p', { class: 'muted small' }, family
        ? h('a', { href: `#/reg/${encodeURIComponent(family._id)}`, id: 'child-family' }, `← ${family.name || family._id}`)
        : h('a', { href: '#/registers/family' }, `← ${t('families')}`)),
      h('h2', { id: 'entry-name' }, child.name || child._id),
      h('p', { class: 'muted small' }, `${t('child')} · ${ctx.areaLabel(area)}${outbox[child._id] ? ` · ⏳ ${t('waiting')}` : ''}`),
      h('dl', { class: 'facts' },
        h('dt', {}, t('sex')), h('dd', { id: 'child-sex-value' }, sexName(child.sex)),
        h('dt', {}, t('dob')), h('dd', { id: 'child-dob-value' }, child.dob || ''),
        child.bag ? [h('dt', {}, t('bag')), h('dd', {}, child.bag)] : null),
      forms.map((doc) => h('button', { type: 'button', class: 'primary new-visit', dataset: { form: doc.form }, onclick: () =>
        ctx.startDraft(doc, area, childPrefill(definitionOf(doc), child)) }, `+ ${t('new_visit')}: ${local(doc.title)}`)),
      editor),
    h('section', { class: 'card' },
      h('h2', {}, t('growth_visits')),
      rows.length ? h('ul', { class: 'list growth', id: 'growth-list' }, rows.map((row, i) => {
        const sub = visits[i];
        const measured = [
          number(row.weight_kg, 'kg') && `${t('weight')} ${number(row.weight_kg, 'kg')}`,
          number(row.lenhei_cm, 'cm') && `${t('lenhei')} ${number(row.lenhei_cm, 'cm')}${row.position ? ` (${(row.position === 'l' ? t('lying') : t('standing'))})` : ''}`,
          number(row.muac_mm, 'mm') && `${t('muac')} ${number(row.muac_mm, 'mm')}`,
          row.oedema ? t('oedema') : null,
        ].filter(Boolean).join(' · ');
        return h('li', { class: 'growth-visit', dataset: { id: row.id } },
          h('a', { class: 'item', href: `#/sub/${encodeURIComponent(row.id)}` },
            h('strong', {}, row.date, sub.author !== ctx.user ? h('span', { class: 'muted small' }, ` · ${sub.author}`) : null),
            h('span', { class: 'muted small' }, outbox[row.id] ? `⏳ ${t('waiting')}` : titles.get(`${sub.form}:${sub.form_version}`) || sub.form)),
          h('p', { class: 'measures' }, measured),
          row.classes ? [
            row.referral ? h('p', { class: 'warn-box referral' }, t('class_referral_needed')) : null,
            h('ul', { class: 'classes' }, row.classes.map((c) => h('li', { class: `class ${c.value}`, dataset: { name: c.name, value: c.value } },
              `${t(`class_${c.name}`)}: ${t(`value_${c.value}`)}`))),
            row.z.length ? h('p', { class: 'muted small z' }, row.z.map((z) => `${t(`z_${z.name}`)} z ${z.value.toFixed(2)}`).join(' · ')) : null,
          ] : h('p', { class: 'muted small derived-pending' }, t('derived_pending')));
      })) : h('p', { class: 'muted', id: 'no-growth-visits' }, t('no_growth_visits')))];
}
