/** The `verify --list` file format (parseVerifyList): pure, every rule and its error line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVerifyList } from '../../src/verify/list.js';

test('SPEC REF a line: spaces or tabs, comments, blank lines and CRLF skipped; relative specs against the list\'s folder', () => {
  const text = '# header\r\n\r\napps/web.yaml   docker://reg.example/web:1\r\n\t/abs/api.yml\toci:/srv/api:2  \n  # indented comment\n';
  assert.deepEqual(parseVerifyList(text, '/lists/nightly.list'), [
    { line: 3, spec: 'apps/web.yaml', specPath: '/lists/apps/web.yaml', against: 'docker://reg.example/web:1' },
    { line: 4, spec: '/abs/api.yml', specPath: '/abs/api.yml', against: 'oci:/srv/api:2' },
  ]);
});

test('a bad line is a usage error (exit 2) naming the file and line', () => {
  const bad = (text: string, re: RegExp): void => {
    assert.throws(() => parseVerifyList(text, 'l.list'), (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 2);
      assert.match(e.message, re);
      return true;
    });
  };
  bad('a.yaml oci:x\nb.yaml\n', /^l\.list:2: expected "SPEC REF" \(two fields separated by spaces\), got 1 field: "b\.yaml"$/);
  bad('a.yaml oci:x extra\n', /^l\.list:1: .*got 3 fields/);
  bad('# c\nimage.json oci:x\n', /^l\.list:2: the first field is a spec \(a \.yaml file\), got "image\.json"$/);
  bad('a.yaml disk:pub.raw\n', /^l\.list:1: disk:pub\.raw: a list verifies images/);
  bad('a.yaml nonsense:ref\n', /^l\.list:1: REF "nonsense:ref"/);
  bad('# only comments\n\n', /^l\.list: lists no image/);
});
