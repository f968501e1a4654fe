/**
 * `base.remove` → whiteouts (src/pipeline/base.ts): a path under another removed path, or given
 * twice, gives no second whiteout (a `DIR/.wh.NAME` below a whited-out DIR made some runtimes
 * recreate DIR), and a path with `.` or `..` segments is refused (a base whose layers hold a `..`
 * member made `../.wh.NAME` a member of our layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlatEntry } from '../../src/image/flatten.js';
import { baseRemoveOf, removalWhiteouts, type BaseImage } from '../../src/pipeline/base.js';
import { ReproError } from '../../src/model/errors.js';

function baseWith(paths: string[]): BaseImage {
  const flat = new Map<string, FlatEntry>(paths.map((p) => [p, { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, layer: 1 } as FlatEntry]));
  return { lock: { ref: 'oci:/b:@sha256:' + '0'.repeat(64) }, flat } as unknown as BaseImage;
}

test('a path under another removed path, or given twice, is one whiteout: the outer one', () => {
  const base = baseWith(['etc', 'etc/passwd', 'etc/old.conf', 'usr', 'usr/share']);
  const remove = baseRemoveOf({ image: 'x', remove: ['/etc/passwd', '/etc', '/usr/share/', '/usr/share'] });
  const out = removalWhiteouts(base, remove, new Map(), 7);
  assert.deepEqual(out.map((e) => e.path), ['.wh.etc', 'usr/.wh.share']);
});

test("a removed path with '.' or '..' segments is refused, one line, even when the base has it", () => {
  for (const p of ['/../x', '/etc/../x', '/./etc', '/etc//x']) {
    const raw = p.replace(/^\/+/, '');
    const base = baseWith([raw]);
    assert.throws(() => removalWhiteouts(base, baseRemoveOf({ image: 'x', remove: [p] }), new Map(), 7), (e: unknown) => {
      assert.ok(e instanceof ReproError, String(e));
      assert.equal(e.code, 'E_SPEC');
      assert.match(e.message, /^base\.remove: /);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  }
});

test('base.remove paths are in byte order (code points): U+FF5E before U+1F600, which UTF-16 order puts first', () => {
  assert.deepEqual(baseRemoveOf({ image: 'x', remove: ['/\u{1F600}', '/\u{FF5E}', '/a'] }), ['a', '\u{FF5E}', '\u{1F600}']);
});
