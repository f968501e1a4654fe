/**
 * Issue 13, item 7: the run's scratch (fs/scratch.ts) and owned temporary names: which names a
 * later run removes (dead owners of this boot and pid namespace only) and what a signal removes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempNameFor } from '../../src/fs/atomic.js';
import { currentOwner, ownerTag } from '../../src/fs/owner.js';
import { TEMP_NAME, makeScratchDir, releasePartial, removeScratchNow, removeStaleTemps, runScratchDir } from '../../src/fs/scratch.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'scratch-')); });
after(() => rmSync(work, { recursive: true, force: true }));

/** The owner tag of a process that has ended (its pid is gone). */
function deadTag(): string {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const [, , boot, ns] = ownerTag().split('-');
  return `${r.stdout}-12345-${boot}-${ns}`;
}

test('item 7: temporary names carry their owner; only dead owners\' of this boot and pid namespace are removed, and with `only` just that name\'s', async () => {
  const dir = join(work, 'temps');
  mkdirSync(dir);
  const mine = tempNameFor(join(dir, 'image'));
  releasePartial(mine);
  const dead = deadTag();
  const [pid, start, boot, ns] = ownerTag().split('-');
  const names = {
    mine: mine.slice(dir.length + 1),
    deadImage: `.image.tmp-${dead}-3`,
    deadImageTomb: `.image.tmp-${dead}-4-removing`,
    deadOther: `.other.tmp-${dead}-0`,
    otherBoot: `.image.tmp-${pid}1-${start}-0123456789abcdef-${ns}-0`,
    otherNs: `.image.tmp-${pid}1-${start}-${boot}-7-0`,
    legacy: '.image.tmp-999999-0',
    unrelated: 'image.tmp-keep',
  };
  assert.match(names.mine, TEMP_NAME);
  assert.equal(TEMP_NAME.exec(names.mine)![1], 'image');
  assert.doesNotMatch(names.legacy, TEMP_NAME);
  for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
  mkdirSync(join(dir, `.image.tmp-${dead}-9`)); // a staging directory, with content
  writeFileSync(join(dir, `.image.tmp-${dead}-9`, 'index.json'), '{}');

  assert.deepEqual((await removeStaleTemps(dir, 'image')).sort(), [names.deadImage, names.deadImageTomb, `.image.tmp-${dead}-9`].sort());
  assert.ok(existsSync(join(dir, names.deadOther)), 'another name is not this writer\'s to remove');
  assert.deepEqual(await removeStaleTemps(dir), [names.deadOther]);
  assert.deepEqual(readdirSync(dir).sort(), [names.mine, names.otherBoot, names.otherNs, names.legacy, names.unrelated].sort());
});

test('item 7: the run\'s scratch directory records its owner, holds the task directories, and a later run removes it only when its owner is dead', async () => {
  const base = join(work, 'tmp');
  mkdirSync(base);
  const run = await runScratchDir(base);
  assert.match(run.slice(base.length + 1), new RegExp(`^repro-image-run-${ownerTag()}-[A-Za-z0-9]{6}$`));
  assert.deepEqual(JSON.parse(readFileSync(join(run, 'owner.json'), 'utf8')), currentOwner());
  const task = await makeScratchDir(base, 'task-');
  assert.equal(task.slice(0, run.length + 1), `${run}/`, 'a task directory is inside the run directory');
  const nested = await makeScratchDir(task, 'inner-');
  assert.equal(nested.slice(0, task.length + 1), `${task}/`, 'a base inside the run directory is used as it is');

  // A dead run's directory, with and without its owner record; one of another host.
  const dead = deadTag();
  const [deadPid] = dead.split('-');
  mkdirSync(join(base, `repro-image-run-${dead}-aaaaaa`));
  writeFileSync(join(base, `repro-image-run-${dead}-aaaaaa`, 'owner.json'), JSON.stringify({ ...currentOwner(), pid: Number(deadPid), start: '12345' }));
  mkdirSync(join(base, `repro-image-run-${dead}-bbbbbb`));
  mkdirSync(join(base, `repro-image-run-${dead}-cccccc`));
  writeFileSync(join(base, `repro-image-run-${dead}-cccccc`, 'owner.json'), JSON.stringify({ ...currentOwner(), pid: Number(deadPid), start: '12345', host: 'elsewhere' }));
  const { removeStaleRunDirs } = await import('../../src/fs/scratch.js');
  assert.deepEqual((await removeStaleRunDirs(base)).sort(), [`repro-image-run-${dead}-aaaaaa`, `repro-image-run-${dead}-bbbbbb`]);
  assert.ok(existsSync(run), 'a live run\'s directory is kept');

  // What a signal handler removes: the run directory and registered partial outputs.
  const partial = tempNameFor(join(work, 'out.tar'));
  writeFileSync(partial, 'partial');
  const renamed = tempNameFor(join(work, 'done.tar'));
  writeFileSync(renamed, 'whole');
  releasePartial(renamed);
  removeScratchNow(50);
  assert.ok(!existsSync(run) && !existsSync(partial));
  assert.ok(existsSync(renamed), 'a released name is kept');
  assert.deepEqual(readdirSync(base), [`repro-image-run-${dead}-cccccc`]);
});
