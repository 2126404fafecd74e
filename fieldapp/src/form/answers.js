// A submission's answers as the worker reads them: each question's label in the
// chosen language (from the form version the submission was made with), choices
// by their labels, groups and repeat entries nested. Pure, so Node tests run it.

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** "lat, lon (±acc m)" for a geopoint answer (an object or ODK's "lat lon alt acc"). */
export function describePoint(value) {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return String(value);
  const accuracy = typeof value.accuracy === 'number' ? ` (±${value.accuracy} m)` : '';
  return `${value.lat}, ${value.lon}${accuracy}`;
}

/**
 * Rows for the answered questions of `data`, in the form's order:
 * `{name, label, text}`, `{name, label, image}` (an attachment name),
 * `{name, label, link}` (a register id), `{name, label, rows}` (a group) or
 * `{name, label, entries: [rows...]}` (a repeat). `local` picks a text in the
 * chosen language from a {lang: text} object; `area` (the submission's) makes
 * a `register:child` answer, the child's key, a link to <area>:child:<key>.
 * Answers the form does not know
 * (a newer version's, say) come last, under their keys, so nothing is hidden.
 */
export function answerRows(definition, data, local, { area } = {}) {
  const choices = definition.choices || {};
  const choiceLabel = (field, name) => {
    const choice = (choices[field.list_name] || []).find((c) => c.name === name);
    return choice ? local(choice.label) || name : String(name);
  };
  const walk = (fields, answers) => {
    const rows = [];
    const known = new Set();
    for (const field of fields) {
      known.add(field.name);
      const value = answers[field.name];
      if (field.type === 'note' || value === undefined || value === null) continue;
      const row = { name: field.name, label: local(field.label) || field.name };
      if (field.type === 'group' && isObject(value)) {
        row.rows = walk(field.fields || [], value);
        if (!row.rows.length) continue;
      } else if (field.type === 'repeat' && Array.isArray(value)) {
        row.entries = value.map((entry) => walk(field.fields || [], isObject(entry) ? entry : {}));
      } else if (field.type === 'select_one') {
        row.text = choiceLabel(field, value);
      } else if (field.type === 'select_multiple') {
        row.text = (Array.isArray(value) ? value : [value]).map((name) => choiceLabel(field, name)).join(', ');
      } else if (field.type === 'geopoint') {
        row.text = describePoint(value);
      } else if (field.type === 'image' && typeof value === 'string') {
        row.image = value;
      } else if (field.type === 'text' && /^register:/.test(field.appearance || '') && typeof value === 'string'
        && (field.appearance !== 'register:child' || area)) {
        row.link = field.appearance === 'register:child' ? `${area}:child:${value}` : value; // a child is named by its key
      } else {
        row.text = isObject(value) || Array.isArray(value) ? JSON.stringify(value) : String(value);
      }
      rows.push(row);
    }
    for (const [key, value] of Object.entries(answers)) {
      if (known.has(key) || value === undefined || value === null) continue;
      rows.push({ name: key, label: key, text: typeof value === 'string' ? value : JSON.stringify(value) });
    }
    return rows;
  };
  return walk(definition.fields || [], isObject(data) ? data : {});
}
