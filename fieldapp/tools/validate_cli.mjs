// Reads {"today", "forms": {key: definition}, "cases": [{"form", "data", "attachments", "lang"}]}
// on stdin and writes each case's problems as the app finds them ([{field, message}]):
// tests/forms/test_app_validation.py compares them with the server's validator.
import { CompiledForm } from '../src/form/validate.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { today, forms, cases } = JSON.parse(input);
  const compiled = {};
  for (const [key, definition] of Object.entries(forms)) compiled[key] = new CompiledForm(definition);
  const out = cases.map((c) => compiled[c.form].validate(c.data, c.attachments || {}, c.lang, { today }));
  process.stdout.write(JSON.stringify(out));
});
