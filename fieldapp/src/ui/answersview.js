// A submission's answers labelled with its form version's questions, in the
// chosen language; photos shown from the replica, register links by name.

import { answerRows } from '../form/answers.js';
import { local } from '../i18n.js';
import { h } from './dom.js';

/**
 * `names`: register entry names by id; `photo(name)`: a Promise of the
 * attachment's Blob; `area`: the submission's (a child link names a key).
 */
export function answersList(definition, data, { names, photo, area }) {
  const list = (rows) => h('dl', { class: 'answers' }, rows.map((row) => [
    h('dt', { dataset: { name: row.name } }, row.label),
    h('dd', { dataset: { name: row.name } }, value(row))]));
  const value = (row) => {
    if (row.rows) return list(row.rows);
    if (row.entries) return h('ol', { class: 'entries' }, row.entries.map((rows) => h('li', {}, list(rows))));
    if (row.link) return h('a', { href: `#/reg/${encodeURIComponent(row.link)}` }, names.get(row.link) || row.link);
    if (row.image) {
      const img = h('img', { alt: row.label, class: 'answer-photo' });
      photo(row.image).then((blob) => {
        if (!blob) return;
        const url = URL.createObjectURL(blob);
        img.onload = () => URL.revokeObjectURL(url);
        img.src = url;
      });
      return img;
    }
    return row.text;
  };
  return list(answerRows(definition, data, local, { area }));
}
