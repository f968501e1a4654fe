/**
 * A Containerfile build's scratch in memory (fs/memory-scratch.ts, `scratch: 'memory'`): a private
 * tmpfs on the build's scratch directory while it runs, gone after; the same bytes as on disk; a
 * build that fills the tmpfs (a COPY that meets ENOSPC, a RUN whose command does) done again on
 * disk with a warning. Needs root (mount); the RUN cases need REPRO_DEBIAN_ROOTFS; skips otherwise
 * and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { buildContainerfile, type ContainerfileBuildOptions } from '../../src/pipeline/containerfile/build.js';
import { UnpackedStore } from '../../src/pipeline/containerfile/unpacked-store.js';
import { availableMemory, memoryScratchLimit, MIN_MEMORY_SCRATCH } from '../../src/fs/memory-scratch.js';
import { mountsBelow, unmountBelow } from '../../src/fs/mounts.js';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { GT_EPOCH, writeContext } from '../helpers/podman-contexts.js';

const root = process.getuid?.() === 0;
const debianTar = process.env['REPRO_DEBIAN_ROOTFS'] || undefined;
const whyRun = !root || !overlayAvailable() ? 'a scratch tmpfs and overlay mounts need root' : !debianTar ? 'REPRO_DEBIAN_ROOTFS is not set: .ci/run makes it with .ci/debian-rootfs.sh' : undefined;
const work = mkdtempSync(join(tmpdir(), 'cf-memory-'));

interface Mount { at: string; type: string; size: string }
/** The mounts below `dir` now (mount point, file system type, size= option). */
function mountsIn(dir: string): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const after = line.split(' - ')[1]?.split(' ');
    if (f[4] !== undefined && f[4].startsWith(dir + sep) && after?.[0] !== undefined) out.push({ at: f[4], type: after[0], size: after[2]?.split(',').find((o) => o.startsWith('size=')) ?? '' });
  }
  return out;
}
const tmpfs = (seen: Mount[]): Mount[] => seen.filter((m) => m.type === 'tmpfs');

test('the tmpfs limit: half of MemAvailable in whole MiB, none below 2 GiB available', () => {
  assert.equal(availableMemory('MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   16777216 kB\n'), 16 * 1024 ** 3);
  assert.equal(availableMemory('MemTotal: 1 kB\n'), undefined, 'an old kernel without MemAvailable: not known');
  assert.equal(memoryScratchLimit(16 * 1024 ** 3), 8 * 1024 ** 3);
  assert.equal(memoryScratchLimit(MIN_MEMORY_SCRATCH + 3 * 1024 ** 2 + 7), MIN_MEMORY_SCRATCH / 2 + 1024 ** 2, 'whole MiB, rounded down');
  assert.equal(memoryScratchLimit(MIN_MEMORY_SCRATCH - 1), undefined);
  assert.equal(memoryScratchLimit(undefined), undefined);
});

/** Builds `containerfile` with `opts`, noting the tmpfs mounts below `tmpDir` at each step; returns the digests, the mounts seen and the warnings. */
async function buildIn(name: string, containerfile: string, opts: Partial<ContainerfileBuildOptions>): Promise<{ digests: string; seen: Mount[]; warnings: string[] }> {
  const ctx = join(work, `${name}-ctx`);
  const tmp = join(work, `${name}-tmp`);
  mkdirSync(ctx, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(ctx, 'Containerfile'), containerfile);
  writeFileSync(join(ctx, 'big'), Buffer.alloc(3 * 1024 ** 2, 'repro-image '));
  const seen: Mount[] = [];
  const warnings: string[] = [];
  const r = await buildContainerfile({
    containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: `oci:${join(work, `${name}-out`)}:t`, compression: 'none', tmpDir: tmp,
    onStep: () => { seen.push(...mountsIn(tmp)); }, onWarning: (m) => warnings.push(m), onOutput: () => {}, ...opts,
  });
  assert.deepEqual(mountsBelow(tmp), [], `${name}: nothing left mounted`);
  return { digests: `${r.config.digest} ${r.layers.map((l) => l.diffId).join(' ')}`, seen, warnings };
}

test('a build with its scratch in memory: a tmpfs while it runs, the same bytes as on disk, nothing left after', async (t) => {
  if (!root) return t.skip('mounting a tmpfs needs root');
  const file = 'FROM scratch\nCOPY big /big\nCOPY big /again/big\n';
  const disk = await buildIn('plain-disk', file, { scratch: 'disk' });
  assert.deepEqual(tmpfs(disk.seen), [], 'on disk: no tmpfs');
  const memory = await buildIn('plain-memory', file, { scratch: 'memory' });
  assert.equal(memory.digests, disk.digests);
  assert.ok(tmpfs(memory.seen).length > 0, 'a tmpfs was mounted below the temp dir');
  assert.equal(new Set(tmpfs(memory.seen).map((s) => s.at)).size, 1, 'one tmpfs, on the build\'s scratch directory');
  assert.deepEqual(memory.warnings, []);
});

test('a COPY that fills the scratch tmpfs: the build is done again on disk, with a warning, and gives the same bytes', async (t) => {
  if (!root) return t.skip('mounting a tmpfs needs root');
  const file = 'FROM scratch\nCOPY big /big\n';
  const disk = await buildIn('full-copy-disk', file, { scratch: 'disk' });
  const memory = await buildIn('full-copy-memory', file, { scratch: 'memory', memoryScratchLimit: 1024 ** 2 });
  assert.ok(tmpfs(memory.seen).some((s) => s.size === 'size=1024k'), `a tmpfs of 1 MiB was mounted (${JSON.stringify(memory.seen)})`);
  assert.equal(memory.warnings.length, 1, memory.warnings.join('\n'));
  assert.match(memory.warnings[0]!, /^the scratch directory in memory \(a tmpfs of 1\.0 MiB\) filled up \(.*no space left on device.*\): building again on disk$/i);
  assert.equal(memory.digests, disk.digests);
});

test('a RUN whose command fills the scratch tmpfs (it reports ENOSPC in its output only): done again on disk, the same bytes; FROM an image in the unpacked store', async (t) => {
  if (whyRun) return t.skip(whyRun);
  const baseCtx = join(work, 'base-ctx');
  writeContext('debian-base', baseCtx, debianTar);
  const base = `oci:${join(work, 'base')}:t`;
  await buildContainerfile({ containerfile: join(baseCtx, 'Containerfile'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: base, compression: 'none' });
  const file = 'FROM base AS one\nRUN head -c 4000000 /dev/zero > /zeros && echo done > /done\nFROM scratch\nCOPY --from=one /zeros /done /\n';
  const unpacked = new UnpackedStore(join(work, 'cache'), 'test');
  const disk = await buildIn('full-run-disk', file, { scratch: 'disk', baseImages: { base }, unpacked });
  const memory = await buildIn('full-run-memory', file, { scratch: 'memory', memoryScratchLimit: 3 * 1024 ** 2, baseImages: { base }, unpacked });
  assert.equal(memory.warnings.length, 1, memory.warnings.join('\n'));
  assert.match(memory.warnings[0]!, /^the scratch directory in memory \(a tmpfs of 3\.0 MiB\) filled up \(.*RUN.*\): building again on disk$/);
  assert.equal(memory.digests, disk.digests);
  // And one that fits: the same bytes again, no warning.
  const roomy = await buildIn('roomy-run-memory', file, { scratch: 'memory', baseImages: { base }, unpacked });
  assert.deepEqual(roomy.warnings, []);
  const [scratch] = new Set(tmpfs(roomy.seen).map((m) => m.at));
  assert.ok(scratch !== undefined, 'a tmpfs');
  assert.ok(roomy.seen.some((m) => m.type === 'overlay' && m.at === join(scratch, 'stage-0')), `the stage root an overlay on it, over the stored tree (${JSON.stringify(roomy.seen)})`);
  assert.equal(roomy.digests, disk.digests);
});

test.after(() => {
  unmountBelow(work);
  rmSync(work, { recursive: true, force: true });
});
