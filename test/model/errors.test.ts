/**
 * A system error whose code has no words of ours (EINVAL, EMLINK…) falls back to Node's message,
 * which repeats the paths as they are: a name with a newline must still give one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReproError, ioError, systemError } from '../../src/model/errors.js';

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
