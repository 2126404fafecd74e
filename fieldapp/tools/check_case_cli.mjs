// Reads {"cases": [{"doc", "existing", "user"}]} as JSON on stdin and writes, for
// each case, what the app's case rules (src/cases.js) answer: the rule refusing
// the writer (writeDenial) and the [field, key] pairs checkCase finds. The Python
// tests compare these with sync/cases.py on revisions they generate at random.
import { checkCase, writeDenial } from '../src/cases.js';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { cases } = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map((c) => ({
    denial: writeDenial(c.user, c.doc, c.existing),
    problems: checkCase(c.doc, c.existing).map((p) => [p.field, p.key]),
  }))));
});
