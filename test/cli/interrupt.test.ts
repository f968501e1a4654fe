/**
 * Issue 13, item 7: interrupted runs leave nothing behind. Real CLI processes are stopped by
 * SIGINT/SIGTERM in the middle of their work (once a temporary file of theirs is seen), or by
 * SIGKILL, after which the next run removes what they left; a live run's scratch is never removed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLI, runCliAsync } from '../helpers/cli.js';
import { makeTar } from '../helpers/tar-maker.js';
import { currentOwner, ownerTag } from '../../src/fs/owner.js';

let work: string;
let big: string;
let small: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'interrupt-'));
  // Random bytes: compressing them takes a while, so a signal lands in the middle of the work.
  big = join(work, 'big.tar.gz');
  writeFileSync(big, gzipSync(makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/big.bin', data: randomBytes(48 << 20) }]), { level: 1 }));
  small = join(work, 'small.tar');
  writeFileSync(small, makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/small', data: 'small\n' }]));
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A fresh place: `tmp` is the runs' TMPDIR, `out` the directory the layouts go into. */
function place(): { tmp: string; out: string } {
  const base = join(work, `p${n++}`);
  const tmp = join(base, 'tmp');
  const out = join(base, 'out');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(out);
  return { tmp, out };
}

interface Run { child: ChildProcess; done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> }

function start(args: string[], tmp: string): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TMPDIR: tmp, SOURCE_DATE_EPOCH: '1700000000' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((ok) => {
    child.on('close', (status, signal) => ok({ status, signal, stdout, stderr }));
  });
  return { child, done };
}

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/** Polls `cond` until it holds (true) or the process has ended (false). */
async function until(run: Run, cond: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (cond()) return;
    if (run.child.exitCode !== null || run.child.signalCode !== null) assert.fail(`the run ended before ${what}: ${(await run.done).stderr}`);
    if (Date.now() - started > 120_000) assert.fail(`no ${what} after 120 s`);
    await sleep(5);
  }
}

const names = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
/** Every file under `dir`, recursively, relative. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...files(join(dir, e.name)).map((f) => `${e.name}/${f}`));
    else out.push(e.name);
  }
  return out;
}
/** A run's scratch holds a file of its work (not only its owner record). */
const scratchBusy = (tmp: string): boolean => names(tmp).some((r) => r.startsWith('repro-image-run-') && files(join(tmp, r)).some((f) => f !== 'owner.json' && statSync(join(tmp, r, f)).size > 0));
const hasTemp = (dir: string, prefix: string): boolean => names(dir).some((x) => x.startsWith(prefix) && x.includes('.tmp-'));

/** The layout holds only valid content, and umoci and skopeo can read it. */
function assertCleanLayout(layout: string, tags: string[]): void {
  assert.deepEqual(names(layout), ['blobs', 'index.json', 'oci-layout'], `${layout} holds only the layout`);
  assert.deepEqual(names(join(layout, 'blobs')), ['sha256']);
  for (const b of names(join(layout, 'blobs', 'sha256'))) assert.match(b, /^[0-9a-f]{64}$/);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
  assert.deepEqual(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(), [...tags].sort());
  if (spawnSync('umoci', ['--version']).status === 0) {
    const gc = spawnSync('umoci', ['gc', '--layout', layout], { encoding: 'utf8' });
    assert.equal(gc.status, 0, `umoci gc: ${gc.stderr}`);
  }
  if (spawnSync('skopeo', ['--version']).status === 0) {
    for (const t of tags) {
      const r = spawnSync('skopeo', ['inspect', `oci:${layout}:${t}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, `skopeo inspect ${t}: ${r.stderr}`);
    }
  }
}

async function buildInto(layout: string, tag: string, tmp: string, input = small): Promise<void> {
  const r = await runCliAsync(['build', '--rootfs', input, '--output', `oci:${layout}:${tag}`], { env: { TMPDIR: tmp, SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(r.status, 0, r.stderr);
}

test('item 7: SIGINT while a build decompresses its input into TMPDIR: exit 130, TMPDIR empty, no new layout, nothing beside it', async () => {
  const { tmp, out } = place();
  const layout = join(out, 'image');
  const run = start(['build', '--rootfs', big, '--output', `oci:${layout}:t`], tmp);
  await until(run, () => scratchBusy(tmp), 'a file in the run\'s scratch directory');
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.equal(r.status, 130, r.stderr);
  assert.match(r.stderr, /^repro-image: interrupted by SIGINT; temporary files removed\n$/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(names(tmp), []);
  assert.deepEqual(names(out), [], 'no layout, no staging, no layer beside it');
});

test('item 7: SIGTERM while a build writes its layer beside a new layout: exit 143, nothing left', async () => {
  const { tmp, out } = place();
  const layout = join(out, 'image');
  const run = start(['build', '--rootfs', big, '--output', `oci:${layout}:t`], tmp);
  await until(run, () => hasTemp(out, '.image.tmp-'), 'the layer file beside the new layout');
  run.child.kill('SIGTERM');
  const r = await run.done;
  assert.equal(r.status, 143, r.stderr);
  assert.match(r.stderr, /interrupted by SIGTERM/);
  assert.deepEqual(names(tmp), []);
  assert.deepEqual(names(out), []);
});

test('item 7: SIGINT, SIGTERM and SIGHUP while a build writes into an existing layout: exit 130/143/129, the layout keeps only valid content (umoci gc, skopeo)', async () => {
  const { tmp, out } = place();
  const layout = join(out, 'image');
  await buildInto(layout, 'base', tmp);
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    const run = start(['build', '--rootfs', big, '--output', `oci:${layout}:${sig}`], tmp);
    // The layer is written inside the layout's root (never beside it, never in blobs/sha256).
    await until(run, () => hasTemp(layout, '.layer.tmp-'), 'the layer file in the layout');
    assert.deepEqual(names(out), ['image'], 'nothing beside the layout');
    run.child.kill(sig);
    const r = await run.done;
    assert.equal(r.status, code, r.stderr);
    assert.deepEqual(names(tmp), [], `TMPDIR after ${sig}`);
    assert.deepEqual(names(out), ['image']);
    assertCleanLayout(layout, ['base']);
  }
});

test('item 7: SIGINT and SIGTERM during a copy into an oci: layout and into an oci-archive: nothing left but valid content', async () => {
  const { tmp, out } = place();
  const src = join(out, 'src');
  await buildInto(src, 'big', tmp, big);
  const dst = join(out, 'dst');
  await buildInto(dst, 'base', tmp);
  let caught = 0;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    // Copying a blob is quick: try a few times until the signal lands while a temporary blob exists.
    for (let attempt = 0; attempt < 8; attempt++) {
      const run = start(['copy', `oci:${src}:big`, `oci:${dst}:${sig}${attempt}`], tmp);
      let seen = false;
      const started = Date.now();
      while (run.child.exitCode === null && Date.now() - started < 60_000) {
        if (hasTemp(dst, '.')) {
          seen = run.child.kill(sig);
          break;
        }
        await sleep(1);
      }
      const r = await run.done;
      if (seen && r.status === code) {
        caught++;
        assert.match(r.stderr, new RegExp(`interrupted by ${sig}`));
        break;
      }
      assert.equal(r.status, 0, r.stderr);
      // It finished first: the tag is written; take it out again so the layout stays comparable.
      const index = JSON.parse(readFileSync(join(dst, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
      index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'base');
      writeFileSync(join(dst, 'index.json'), JSON.stringify(index));
    }
    assert.deepEqual(names(tmp), []);
    assertCleanLayout(dst, ['base']);
  }
  assert.ok(caught >= 1, 'at least one copy was interrupted mid-blob');
  // An archive destination: its temporary name beside it is removed.
  const archive = join(out, 'image.tar');
  const run = start(['copy', `oci:${src}:big`, `oci-archive:${archive}:t`], tmp);
  await until(run, () => hasTemp(out, '.image.tar.tmp-'), 'the temporary archive');
  run.child.kill('SIGINT');
  assert.equal((await run.done).status, 130);
  assert.deepEqual(names(out), ['dst', 'src']);
  assert.deepEqual(names(tmp), []);
});

test('item 7: after SIGKILL the next run removes the stale leftovers of the dead one, and nothing of an owner it cannot judge', async () => {
  const { tmp, out } = place();
  const layout = join(out, 'image');
  await buildInto(layout, 'base', tmp);
  // Killed while its layer is in the layout and its scratch in TMPDIR.
  const a = start(['build', '--rootfs', big, '--output', `oci:${layout}:a`], tmp);
  await until(a, () => hasTemp(layout, '.layer.tmp-') && names(tmp).length > 0, 'the layer file and the run directory');
  a.child.kill('SIGKILL');
  assert.equal((await a.done).signal, 'SIGKILL');
  // Killed while it assembles a new layout beside the destination.
  const fresh = join(out, 'fresh');
  const b = start(['build', '--rootfs', big, '--output', `oci:${fresh}:b`], tmp);
  await until(b, () => hasTemp(out, '.fresh.tmp-'), 'the layer file beside the new layout');
  b.child.kill('SIGKILL');
  await b.done;
  assert.ok(hasTemp(layout, '.layer.tmp-') && hasTemp(out, '.fresh.tmp-') && names(tmp).some((x) => x.startsWith('repro-image-run-')), 'SIGKILL leaves its files');

  // Names of owners that cannot be judged from here (another boot, another pid namespace) stay.
  const me = currentOwner();
  const [pid, start_, , ns] = ownerTag().split('-');
  const otherBoot = `.layer.tmp-${pid}-${start_}-ffffffffffffffff-${ns}-0`;
  const otherNs = `.layer.tmp-${pid}-${start_}-${ownerTag().split('-')[2]}-1-0`;
  writeFileSync(join(layout, otherBoot), 'x');
  writeFileSync(join(layout, otherNs), 'x');
  const foreignRun = join(tmp, `repro-image-run-1-1-ffffffffffffffff-${ns}-abcdef`);
  mkdirSync(foreignRun);
  writeFileSync(join(foreignRun, 'owner.json'), JSON.stringify({ ...me, pid: 1, start: '1', host: 'elsewhere' }));

  await buildInto(layout, 'next', tmp);
  await buildInto(fresh, 'next', tmp);
  assert.deepEqual(names(tmp), [foreignRun.slice(tmp.length + 1)], 'the dead run\'s directory is gone, the foreign one kept');
  assert.deepEqual(names(layout).filter((x) => x.startsWith('.')), [otherNs, otherBoot].sort(), 'only the foreign temporaries are kept');
  rmSync(join(layout, otherBoot));
  rmSync(join(layout, otherNs));
  assertCleanLayout(layout, ['base', 'next']);
  assertCleanLayout(fresh, ['next']);
  assert.deepEqual(names(out), ['fresh', 'image']);
});

test('item 7: a live run\'s scratch and temporary files are not removed by a concurrent run', async () => {
  const { tmp, out } = place();
  const layout = join(out, 'image');
  await buildInto(layout, 'base', tmp);
  const a = start(['build', '--rootfs', big, '--output', `oci:${layout}:a`], tmp);
  await until(a, () => hasTemp(layout, '.layer.tmp-') && scratchBusy(tmp), 'the layer file and the run directory');
  a.child.kill('SIGSTOP'); // alive, but not moving: whatever it has made stays as it is
  try {
    const before = { tmp: names(tmp), layout: names(layout) };
    await buildInto(layout, 'b', tmp);
    for (const x of before.tmp) assert.ok(names(tmp).includes(x), `${x} of the live run kept`);
    for (const x of before.layout.filter((y) => y.includes('.tmp-'))) assert.ok(names(layout).includes(x), `${x} of the live run kept`);
  } finally {
    a.child.kill('SIGCONT');
  }
  const r = await a.done;
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(names(tmp), []);
  assertCleanLayout(layout, ['a', 'b', 'base']);
});
