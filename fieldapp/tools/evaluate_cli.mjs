// Reads {"today", "cases": [{"expr", "values", "current"}]} as JSON on stdin and writes
// one answer per case ({"result"} with numbers JSON cannot hold encoded as in the
// corpus, or {"error": {"message", "position"}}): the Python tests compare these with
// the server's evaluator on cases they generate at random.
import { ExpressionError, evaluate } from '../src/expr/compile.js';

function encode(value) {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return { number: 'NaN' };
    if (!Number.isFinite(value)) return { number: value > 0 ? 'Infinity' : '-Infinity' };
    if (Object.is(value, -0)) return { number: '-0' };
  }
  return value;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const { today, cases } = JSON.parse(input);
  const answers = cases.map((c) => {
    try {
      return { result: encode(evaluate(c.expr, c.values || {}, c.current ?? undefined, { today })) };
    } catch (err) {
      if (!(err instanceof ExpressionError)) return { crash: String(err && err.stack) };
      return { error: { message: err.reason, position: err.position } };
    }
  });
  process.stdout.write(JSON.stringify(answers));
});
