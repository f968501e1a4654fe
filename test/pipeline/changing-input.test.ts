/**
 * Issue 13, item 10: a directory input that changes between the scan and the layer write. A file
 * replaced by a FIFO used to hang the build forever; a file whose size changed, or that says size 0
 * and has content (procfs), was stored wrong. Each is now an error naming the file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orderEntries, tarBlocks } from '../../src/archive/tar-writer.js';
import { ReproError } from '../../src/model/errors.js';
import { readDirectory } from '../../src/sources/rootfs/directory.js';
import { runCli } from '../helpers/cli.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'changing-')); });
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** Scans a fresh tree holding `f`, lets `change` alter it, then writes the layer's tar. */
async function scanChangeWrite(content: string, change: (f: string) => void): Promise<void> {
  const root = join(work, `tree-${n++}`);
  mkdirSync(root);
  writeFileSync(join(root, 'f'), content);
  const tree = await readDirectory(root);
  change(join(root, 'f'));
  for (const _ of tarBlocks(orderEntries(tree.entries.values()), 'layer')) { /* consume */ }
}

const io = (re: RegExp) => (e: unknown): boolean => e instanceof ReproError && e.code === 'E_IO' && re.test(e.message);

test('item 10: a file replaced by a FIFO after the scan is an error, not a hang', { timeout: 20_000 }, async () => {
  await assert.rejects(scanChangeWrite('data', (f) => { rmSync(f); execFileSync('mkfifo', [f]); }),
    io(/layer: f: .*\/f is no longer a regular file \(it changed after it was scanned\)/));
  // An empty file too (it is opened all the same).
  await assert.rejects(scanChangeWrite('', (f) => { rmSync(f); execFileSync('mkfifo', [f]); }), io(/is no longer a regular file/));
});

test('item 10: a file whose size changed after the scan is an error naming it', async () => {
  await assert.rejects(scanChangeWrite('12345', (f) => appendFileSync(f, 'more')), io(/layer: f: .*\/f changed size after it was scanned \(5 bytes then, 9 now\)/));
  await assert.rejects(scanChangeWrite('12345', (f) => writeFileSync(f, '1')), io(/changed size after it was scanned \(5 bytes then, 1 now\)/));
  await assert.rejects(scanChangeWrite('', (f) => writeFileSync(f, 'now has content')), io(/changed size after it was scanned \(0 bytes then, 15 now\)/));
});

test('item 10: a file replaced by a symlink after the scan is not followed', async () => {
  const outside = join(work, 'outside');
  writeFileSync(outside, 'abcd');
  await assert.rejects(scanChangeWrite('wxyz', (f) => { rmSync(f); symlinkSync(outside, f); }), io(/became a symlink after it was scanned/));
});

test('item 10: a procfs file (size 0, with content) is an error naming it, not stored empty', () => {
  const r = runCli(['build', '--rootfs', '/proc/sys/kernel/random', '--output', `oci:${join(work, 'procfs')}:t`, '--source-date-epoch', '1']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr.trim(), /\/proc\/sys\/kernel\/random\/[a-z_]+ has content although its size is 0 \(a procfs or sysfs file, or it changed while reading\)$/);
});
