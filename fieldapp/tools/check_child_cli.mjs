// Reads {"cases": [{"doc", "today"}]} as JSON on stdin and writes, for each case,
// the fields the app's child rule (src/children.js, checkChild) finds wrong: the
// Python tests compare these with sync/families.py's check_child on cases they
// generate at random.
import { checkChild } from '../src/children.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { cases } = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map((c) => checkChild(c.doc, c.today).map((p) => p.field))));
});
