/**
 * A system error whose code has no words of ours (EINVAL, EMLINK…) falls back to Node's message,
 * which repeats the paths as they are: a name with a newline must still give one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReproError, escapeName, escapeNameJson, ioError, systemError } from '../../src/model/errors.js';

test('systemError and ioError: a code outside the table is one line too (EINVAL from renaming a directory into itself)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'errors-'));
  try {
    const odd = join(dir, 'a\nb');
    mkdirSync(odd);
    let caught: unknown;
    try {
      renameSync(odd, join(odd, 'c'));
    } catch (e) {
      caught = e;
    }
    assert.equal((caught as NodeJS.ErrnoException).code, 'EINVAL');
    const sys = systemError(caught);
    assert.ok(sys instanceof ReproError);
    assert.doesNotMatch(sys.message, /\n/, sys.message);
    assert.match(sys.message, /^rename .*\/a\\u000ab -> .*\/a\\u000ab\/c: EINVAL: invalid argument, rename '.*\/a\\u000ab' -> '.*\/a\\u000ab\/c'$/);
    assert.doesNotMatch(ioError(caught, 'cannot move it').message, /\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('escapeName: no two names look alike (composed and decomposed, a literal \\u in a name, astral characters, invisible characters)', () => {
  const names = [
    'etc/caf\u00e9', // composed
    'etc/cafe\u0301', // decomposed
    'etc/cafe\\u0301', // a backslash, a u and four digits: looked like the decomposed one
    'etc/cafe\\u005cu0301',
    'e\u0301/\u{1F600}', // an astral character in a name not in NFC: was \u1f600
    'e\u0301/\u1F60' + '0', // U+1F60 and a 0: was \u1f600 too
    'etc/passwd',
    'etc/pass\u200bwd', // a zero-width space
    'etc/pass\u202ewd', // a right-to-left override
    'etc/caf\u00e9\ufe0f', // a variation selector
    'a\nb',
    'a\\u000ab',
  ];
  const shown = names.map(escapeName);
  assert.equal(new Set(shown).size, names.length, shown.join('\n'));
  assert.equal(escapeName('etc/cafe\u0301'), 'etc/cafe\\u0301');
  assert.equal(escapeName('etc/cafe\\u0301'), 'etc/cafe\\u005cu0301');
  assert.equal(escapeName('e\u0301/\u{1F600}'), 'e\\u0301/\\ud83d\\ude00');
  assert.equal(escapeName('etc/pass\u200bwd'), 'etc/pass\\u200bwd');
  // Names with nothing to hide are as they are: composed letters, a backslash not before a u.
  assert.equal(escapeName('etc/caf\u00e9 \u{1F600}'), 'etc/caf\u00e9 \u{1F600}');
  assert.equal(escapeName('etc/systemd/system/dev-disk-by\\x2duuid.swap'), 'etc/systemd/system/dev-disk-by\\x2duuid.swap');
  // For JSON text: still JSON, and the same string once parsed.
  const json = JSON.stringify({ 'link-target': 'cafe\u0301 \u{1F600} \u200b \\u0301' });
  assert.deepEqual(JSON.parse(escapeNameJson(json)), JSON.parse(json));
  assert.ok(/^[\x20-\x7e]*$/.test(escapeNameJson(json)), escapeNameJson(json));
});
