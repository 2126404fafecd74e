// A form rendered from its definition: every field type, labels, hints and
// messages in the chosen language, skip logic and checks run as the worker types
// (with the same rules and words as the server), drafts saved as they go.
//
// Inputs are built once; a change updates the answers, then `refresh` shows or
// hides questions and their messages without rebuilding what the worker is
// typing into. Adding or removing a repeat entry rebuilds the form.

import { formatInput, imageNames, parseInput, prune } from '../form/model.js';
import { local, t, language } from '../i18n.js';
import { ulid } from '../ids.js';
import { shiftMarks } from '../assessment.js';
import { linkType, linkValue } from '../registers.js';
import { photoSettings, resizePhoto } from '../photos.js';
import { h, clear } from './dom.js';

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class FormView {
  /**
   * `draft` ({data, ...}) and `photos` (Map name -> Blob) are edited in place;
   * `onSave` is called (debounced) after each change.
   */
  constructor({ compiled, definition, draft, photos, onSave, registers = new Map(), markText = null, indicatorLabels = null, onAnswer = null }) {
    this.compiled = compiled;
    this.definition = definition;
    this.draft = draft;
    this.photos = photos;
    this.onSave = onSave;
    this.registers = registers; // register entries by type ('family': [...]) for link questions
    // Answers pre-filled from what the device knew (draft.marks: source by question path), shown
    // marked until the worker confirms or changes each; markText(source) says where each came from.
    this.markText = markText;
    this.onAnswer = onAnswer; // called with (name, value) when a top-level question is answered
    this.indicatorLabels = indicatorLabels; // an indicator code's label, under the code (family_assessment)
    this.choices = definition.choices || {};
    this.touched = new Set();
    this.showAll = false;
    this.nodes = [];
    this.saveTimer = null;
    this.root = h('div', { class: 'form-body' });
    this.render();
  }

  render() {
    const scroll = window.scrollY;
    clear(this.root);
    this.nodes = [];
    this.fields(this.definition.fields, this.root, [], []);
    this.refresh();
    window.scrollTo(0, scroll);
  }

  /** The answers object at `keys` (group names and repeat indexes), created on the way. */
  container(keys) {
    let node = this.draft.data;
    for (const key of keys) {
      if (typeof key === 'number') {
        node = node[key];
      } else {
        if (!isObject(node[key]) && !Array.isArray(node[key])) node[key] = {};
        node = node[key];
      }
    }
    return node;
  }

  /** The frames skip rules read: the data, then each repeat entry on the way to keys. */
  frames(keys) {
    const frames = [this.draft.data];
    let node = this.draft.data;
    for (let i = 0; i < keys.length; i++) {
      node = node && node[keys[i]];
      if (typeof keys[i] === 'number') frames.push(node || {});
    }
    return frames;
  }

  path(keys, name) {
    let out = '';
    for (const key of keys) out += typeof key === 'number' ? `[${key}].` : `${key}.`;
    out = out.replace(/\.\[/g, '[');
    return out + name;
  }

  fields(fields, parent, keys) {
    for (const field of fields) parent.append(this.field(field, keys));
  }

  field(field, keys) {
    const path = this.path(keys, field.name);
    const label = local(field.label);
    const hint = local(field.hint);
    const errors = h('div', { class: 'errors', role: 'alert' });
    const wrapper = h('div', { class: `q q-${field.type}`, dataset: { name: field.name, path } });
    this.nodes.push({ el: wrapper, field, keys, path, errors });
    if (field.type === 'group') {
      const box = h('fieldset', { class: 'group' }, label ? h('legend', {}, label) : null, hint ? h('p', { class: 'hint' }, hint) : null);
      this.fields(field.fields, box, [...keys, field.name]);
      wrapper.append(box, errors);
      return wrapper;
    }
    if (field.type === 'repeat') {
      wrapper.append(this.repeat(field, keys, label, hint), errors);
      return wrapper;
    }
    const id = `f-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const title = h('label', { class: 'label', for: id }, label, field.required ? h('span', { class: 'req', title: t('required_mark') }, ' *') : null);
    wrapper.append(title);
    if (hint) wrapper.append(h('p', { class: 'hint' }, hint));
    if (field.type !== 'note') wrapper.append(this.input(field, keys, id, path));
    const value = this.container(keys)[field.name];
    if (this.indicatorLabels && field.name === 'indicator' && typeof value === 'string' && this.indicatorLabels.get(value)) {
      wrapper.append(h('p', { class: 'hint indicator-label' }, local(this.indicatorLabels.get(value))));
    }
    const node = this.nodes[this.nodes.length - 1];
    if (this.draft.marks && this.draft.marks[path]) {
      node.mark = h('p', { class: 'prefilled', dataset: { source: this.draft.marks[path] } },
        h('span', {}, this.markText ? this.markText(this.draft.marks[path]) : this.draft.marks[path]), ' ',
        h('button', { type: 'button', class: 'secondary small confirm', onclick: () => this.confirm(path) }, `✓ ${t('confirm')}`));
      wrapper.append(node.mark);
      wrapper.classList.add('is-prefilled');
    }
    wrapper.append(errors);
    return wrapper;
  }

  repeat(field, keys, label, hint) {
    const box = h('fieldset', { class: 'repeat' }, h('legend', {}, label || field.name), hint ? h('p', { class: 'hint' }, hint) : null);
    const answers = this.container(keys);
    if (!Array.isArray(answers[field.name])) answers[field.name] = [];
    const entries = answers[field.name];
    entries.forEach((entry, i) => {
      const entryKeys = [...keys, field.name, i];
      const card = h('div', { class: 'entry' },
        h('div', { class: 'entry-head' },
          h('strong', {}, `${label || field.name} ${i + 1}`),
          h('button', { type: 'button', class: 'link danger', onclick: () => this.removeEntry(entries, i, this.path(keys, field.name)) }, t('remove_entry'))));
      this.fields(field.fields, card, entryKeys);
      box.append(card);
    });
    const full = field.max_count !== undefined && entries.length >= field.max_count;
    box.append(h('button', { type: 'button', class: 'secondary add-entry', disabled: full, onclick: () => this.addEntry(entries) }, `+ ${t('add_entry')}: ${label || field.name}`));
    return box;
  }

  addEntry(entries) {
    entries.push({});
    this.changed();
    this.render();
  }

  removeEntry(entries, i, repeatPath) {
    entries.splice(i, 1);
    if (this.draft.marks) this.draft.marks = shiftMarks(this.draft.marks, repeatPath, i);
    this.changed();
    this.render();
  }

  set(keys, name, value, path) {
    const answers = this.container(keys);
    if (value === undefined) delete answers[name];
    else answers[name] = value;
    if (this.draft.marks && this.draft.marks[path]) delete this.draft.marks[path]; // changed: the worker's own answer now
    this.touched.add(path);
    this.changed();
    this.refresh();
    if (this.onAnswer && keys.length === 0) this.onAnswer(name, value);
  }

  input(field, keys, id, path) {
    const value = this.container(keys)[field.name];
    if (linkType(field)) return this.registerLink(field, keys, id, path, value);
    switch (field.type) {
      case 'select_one':
        return this.selectOne(field, keys, id, path, value);
      case 'select_multiple':
        return this.selectMultiple(field, keys, id, path, value);
      case 'geopoint':
        return this.geopoint(field, keys, id, path, value);
      case 'image':
        return this.image(field, keys, id, path, value);
      default: {
        const types = { integer: 'text', decimal: 'text', date: 'date', datetime: 'datetime-local', text: 'text' };
        const modes = { integer: 'numeric', decimal: 'decimal' };
        const long = field.type === 'text' && (field.max_length === undefined || field.max_length > 200) && field.appearance === 'multiline';
        const attrs = {
          id, name: path, type: types[field.type] || 'text', inputmode: modes[field.type],
          value: formatInput(field, value), autocomplete: 'off',
          oninput: (event) => this.set(keys, field.name, parseInput(field, event.target.value), path),
          onblur: () => { this.touched.add(path); this.refresh(); },
        };
        if (field.type === 'text' && field.max_length) attrs.maxlength = String(field.max_length + 50);
        return long ? h('textarea', { ...attrs, type: undefined, rows: 3 }, formatInput(field, value)) : h('input', attrs);
      }
    }
  }

  /**
   * A link to a register entry, chosen by name among the area's entries: the
   * answer is its id (a child's: its key, see registers.js linkValue).
   */
  registerLink(field, keys, id, path, value) {
    const type = linkType(field);
    const entries = [...(this.registers.get(type) || [])]
      .sort((a, b) => String(a.name || '').localeCompare(String(b.name || ''), 'mn'));
    const known = entries.some((entry) => linkValue(entry) === value);
    const about = (entry) => (type === 'child' ? entry.dob : entry.bag);
    return h('select', { id, name: path, class: 'register-link', onchange: (e) => this.set(keys, field.name, e.target.value || undefined, path) },
      h('option', { value: '' }, t('choose')),
      value && !known ? h('option', { value, selected: true }, value) : null,
      entries.map((entry) => h('option', { value: linkValue(entry), selected: linkValue(entry) === value },
        about(entry) ? `${entry.name} · ${about(entry)}` : entry.name || entry._id)));
  }

  choicesOf(field) {
    return this.choices[field.list_name] || [];
  }

  selectOne(field, keys, id, path, value) {
    const choices = this.choicesOf(field);
    if (choices.length > 8 || field.appearance === 'minimal') {
      return h('select', { id, name: path, onchange: (e) => this.set(keys, field.name, e.target.value || undefined, path) },
        h('option', { value: '' }, t('choose')),
        choices.map((c) => h('option', { value: c.name, selected: c.name === value }, local(c.label))));
    }
    return h('div', { class: 'choices', id, role: 'radiogroup' }, choices.map((c) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: path, value: c.name, checked: c.name === value,
        onchange: () => this.set(keys, field.name, c.name, path) }),
      h('span', {}, local(c.label)))));
  }

  selectMultiple(field, keys, id, path, value) {
    const choices = this.choicesOf(field);
    const picked = new Set(Array.isArray(value) ? value : []);
    return h('div', { class: 'choices', id }, choices.map((c) => h('label', { class: 'choice' },
      h('input', { type: 'checkbox', name: path, value: c.name, checked: picked.has(c.name),
        onchange: (e) => {
          if (e.target.checked) picked.add(c.name); else picked.delete(c.name);
          const ordered = choices.map((x) => x.name).filter((n) => picked.has(n));
          this.set(keys, field.name, ordered.length ? ordered : undefined, path);
        } }),
      h('span', {}, local(c.label)))));
  }

  geopoint(field, keys, id, path, value) {
    const shown = h('span', { class: 'geo-value' }, describePoint(value));
    const status = h('span', { class: 'geo-status' });
    const button = h('button', { type: 'button', id, class: 'secondary', onclick: () => {
      if (!navigator.geolocation) {
        status.textContent = t('location_failed', { reason: 'no GPS' });
        return;
      }
      status.textContent = t('locating');
      navigator.geolocation.getCurrentPosition((pos) => {
        const c = pos.coords;
        const point = { lat: round6(c.latitude), lon: round6(c.longitude) };
        if (typeof c.altitude === 'number') point.alt = Math.round(c.altitude * 10) / 10;
        if (typeof c.accuracy === 'number') point.accuracy = Math.round(c.accuracy * 10) / 10;
        status.textContent = '';
        shown.textContent = describePoint(point);
        this.set(keys, field.name, point, path);
      }, (err) => {
        status.textContent = t('location_failed', { reason: err.message || err.code });
      }, { enableHighAccuracy: true, timeout: 30000, maximumAge: 60000 });
    } }, t('record_location'));
    return h('div', { class: 'geo' }, button, shown, status);
  }

  image(field, keys, id, path, value) {
    const box = h('div', { class: 'photo' });
    const show = () => {
      clear(box);
      const name = this.container(keys)[field.name];
      const blob = typeof name === 'string' ? this.photos.get(name) : null;
      const input = h('input', { type: 'file', id, accept: 'image/*', capture: 'environment', class: 'file',
        onchange: async (e) => {
          const file = e.target.files && e.target.files[0];
          if (!file) return;
          const resized = await resizePhoto(file, photoSettings(this.definition));
          const photoName = `${field.name}-${ulid().slice(-10).toLowerCase()}.jpg`;
          const old = this.container(keys)[field.name];
          if (typeof old === 'string') this.photos.delete(old);
          this.photos.set(photoName, resized);
          this.set(keys, field.name, photoName, path);
          show();
        } });
      box.append(h('label', { class: 'button secondary', for: id }, t('take_photo')), input);
      if (blob) {
        const url = URL.createObjectURL(blob);
        box.append(h('figure', {}, h('img', { src: url, alt: local(field.label), onload: () => URL.revokeObjectURL(url) }),
          h('figcaption', {}, t('photo_size', { kb: Math.round(blob.size / 1024) }), ' ',
            h('button', { type: 'button', class: 'link danger', onclick: () => {
              this.photos.delete(name);
              this.set(keys, field.name, undefined, path);
              show();
            } }, t('remove_photo')))));
      }
    };
    void value;
    show();
    return box;
  }

  changed() {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), 400);
  }

  async save() {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    // Photos no answer names any more are dropped with the draft.
    const names = new Set(imageNames(this.definition, this.draft.data));
    for (const name of [...this.photos.keys()]) if (!names.has(name)) this.photos.delete(name);
    await this.onSave();
  }

  /** The answers to send and what the server would say about them. */
  check() {
    const data = prune(this.compiled, this.draft.data);
    const attachments = {};
    for (const [name, blob] of this.photos) attachments[name] = { content_type: blob.type || 'image/jpeg' };
    return { data, problems: this.compiled.validate(data, attachments, language()) };
  }

  refresh() {
    const { problems } = this.check();
    const byPath = new Map();
    for (const p of problems) {
      if (!byPath.has(p.field)) byPath.set(p.field, []);
      byPath.get(p.field).push(p.message);
    }
    for (const node of this.nodes) {
      const visible = this.compiled.isRelevant(node.field.name, this.frames(node.keys));
      node.el.hidden = !visible;
      const messages = visible && (this.showAll || this.touched.has(node.path)) ? byPath.get(node.path) || [] : [];
      clear(node.errors);
      for (const message of messages) node.errors.append(h('p', {}, message));
      node.el.classList.toggle('invalid', messages.length > 0);
      if (node.mark) {
        const marked = Boolean(this.draft.marks && this.draft.marks[node.path]);
        node.mark.hidden = !marked;
        node.el.classList.toggle('is-prefilled', marked);
      }
    }
    this.problems = problems;
    return problems;
  }

  /** A pre-filled answer the worker has checked: no longer marked. */
  confirm(path) {
    if (this.draft.marks) delete this.draft.marks[path];
    this.changed();
    this.refresh();
  }

  /** The pre-filled answers still to check, among the questions shown. */
  unconfirmed() {
    return this.nodes.filter((n) => n.mark && !n.el.hidden && this.draft.marks && this.draft.marks[n.path]);
  }

  /** Show every problem (after the worker pressed Send); scrolls to the first. */
  revealAll() {
    this.showAll = true;
    const problems = this.refresh();
    const first = this.nodes.find((n) => n.el.classList.contains('invalid'));
    if (first) first.el.scrollIntoView({ block: 'center' });
    return problems;
  }
}

function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

function describePoint(value) {
  if (!isObject(value)) return '';
  const accuracy = typeof value.accuracy === 'number' ? ` (±${value.accuracy} m)` : '';
  return `${value.lat}, ${value.lon}${accuracy}`;
}
