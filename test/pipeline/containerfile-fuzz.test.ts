import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerfile, resolveContainerfile } from '../../src/pipeline/containerfile/index.js';
import { ReproError } from '../../src/model/errors.js';
import { rng } from '../helpers/rng.js';

// Token soup from the characters that matter to the parser: every outcome must be a result or a
// one-line ReproError naming the file, never another exception, and quickly.

const TOKENS = [
  'FROM ', 'from scratch', 'FROM a AS b', 'FROM b', 'ARG ', 'ENV ', 'LABEL ', 'RUN ', 'CMD ', 'ENTRYPOINT ', 'COPY ', 'ADD ',
  'WORKDIR ', 'USER ', 'EXPOSE ', 'VOLUME ', 'STOPSIGNAL ', 'ONBUILD ', '# escape=`', '# escape=\\', '#', '\\', '`', '\n', '\r\n',
  '\r', ' ', '\t', '\u00a0', '\ufeff', '"', "'", '$', '${', '}', ':-', ':+', ':?', '#', '%', '/', '//', '[', ']', ',', '=', 'a=b',
  'x', 'NAME', '$NAME', '--from=', '--from=0', '--chown=', '--chmod=755', '--platform=', '--network=none', '--mount=x', '--', '<<EOF',
  '["a"]', '[1]', '{', '\\u0000', 'é', '😀', '\u2028', '0', 'SIGTERM', '..', '.', 'http://x',
];

test('random Containerfiles parse or fail with a one-line ReproError', () => {
  const r = rng(14);
  let parsed = 0;
  let resolved = 0;
  const start = Date.now();
  for (let i = 0; i < 3000; i++) {
    const n = 1 + Math.floor(r() * 40);
    let text = r() < 0.7 ? 'FROM scratch\n' : '';
    for (let j = 0; j < n; j++) text += TOKENS[Math.floor(r() * TOKENS.length)]!;
    try {
      const p = parseContainerfile(text, 'fuzz');
      parsed++;
      resolveContainerfile(p, { baseImage: () => ({ env: ['PATH=/bin', 'NAME=v'] }), buildArgs: { NAME: 'cli' } });
      resolved++;
    } catch (e) {
      assert.ok(e instanceof ReproError, `case ${i}: ${JSON.stringify(text)}: ${String(e)}`);
      assert.match(e.message, /^fuzz(:\d+)?: /, `case ${i}: ${e.message}`);
      assert.ok(!/[\n\r\u2028\u2029]/.test(e.message), `case ${i}: ${JSON.stringify(e.message)}`);
    }
  }
  // the soup must exercise both outcomes, or the test proves nothing
  assert.ok(parsed > 300 && resolved > 100, `parsed ${parsed}, resolved ${resolved}`);
  assert.ok(Date.now() - start < 20_000);
});
