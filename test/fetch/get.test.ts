/**
 * fetchBytes of file: URLs (a `file://` mirror): the file must be a regular one, of at most the
 * limit. A FIFO used to block the read for ever, /dev/zero to read until memory ran out, and a
 * file of any size was read whole.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchBytes } from '../../src/fetch/get.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fetch-get-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function refused(path: string, message: string): (e: Error & { code?: string; exitCode?: number }) => boolean {
  return (e) => {
    assert.equal(e.code, 'E_BAD_INPUT');
    assert.equal(e.exitCode, 2);
    assert.equal(e.message, `${path}: ${message}`);
    return true;
  };
}

test('fetchBytes file: a regular file within the limit is read; a missing optional one is undefined', async () => {
  const path = join(dir, 'Release');
  writeFileSync(path, 'Origin: Debian\n');
  assert.equal((await fetchBytes(pathToFileURL(path).href)).toString(), 'Origin: Debian\n');
  assert.equal(await fetchBytes(pathToFileURL(join(dir, 'missing')).href, { optional: true }), undefined);
});

test('fetchBytes file: a FIFO is refused at once, naming it (was: blocked for ever)', { timeout: 10000 }, async () => {
  const fifo = join(dir, 'InRelease');
  const r = spawnSync('mkfifo', [fifo]);
  assert.equal(r.status, 0, String(r.stderr));
  await assert.rejects(fetchBytes(pathToFileURL(fifo).href), refused(fifo, 'a FIFO, not a regular file'));
});

test('fetchBytes file: /dev/zero is refused, naming it (was: read until memory ran out)', { timeout: 10000 }, async () => {
  await assert.rejects(fetchBytes('file:///dev/zero'), refused('/dev/zero', 'a character device, not a regular file'));
});

test('fetchBytes file: a file past the limit is refused with its size (was: read whole, whatever its size)', async () => {
  const path = join(dir, 'Packages');
  writeFileSync(path, Buffer.alloc(300, 0x61));
  await assert.rejects(fetchBytes(pathToFileURL(path).href, { limit: 100 }), refused(path, '300 bytes, more than the 100 accepted'));
  assert.equal((await fetchBytes(pathToFileURL(path).href, { limit: 300 })).length, 300);
});
