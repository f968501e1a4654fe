/**
 * The store of unpacked images where the cache cannot take the tree (a read-only file system, a
 * full one): the build writes the base into the stage's directory, as without the store, and
 * gives the same image. Needs root and overlay (the store is only used then); skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { UnpackedStore } from '../../src/pipeline/containerfile/unpacked-store.js';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { unmountBelow } from '../../src/fs/mounts.js';

const why = overlayAvailable() ? undefined : 'the store of unpacked images is used as root with overlay only';
const work = mkdtempSync(join(tmpdir(), 'cf-overlay-cache-'));
const SDE = 1700000000;

test('a cache that cannot be written: the base is written into the stage, the same image as without the store', async (t) => {
  if (why) return t.skip(why);
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'f'), 'base file\n');
  writeFileSync(join(ctx, 'g'), 'stage file\n');
  writeFileSync(join(ctx, 'Base'), 'FROM scratch\nCOPY f /etc/f\n');
  writeFileSync(join(ctx, 'Containerfile'), 'FROM base\nCOPY g /etc/g\n');
  await buildContainerfile({ containerfile: join(ctx, 'Base'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, 'base')}:t`, compression: 'none' });
  const cache = join(work, 'ro-cache');
  mkdirSync(cache);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', cache]).status !== 0) return t.skip('cannot mount a read-only tmpfs');
  const digests: string[] = [];
  for (const unpacked of [undefined, new UnpackedStore(cache, 'test')]) {
    const r = await buildContainerfile({
      containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, `out-${digests.length}`)}:t`,
      compression: 'none', baseImages: { base: `oci:${join(work, 'base')}:t` }, ...(unpacked ? { unpacked } : {}),
    });
    digests.push(`${r.config.digest} ${r.layers.map((l) => l.diffId).join(' ')}`);
  }
  assert.equal(digests[1], digests[0]);
});

test.after(() => {
  unmountBelow(work);
  rmSync(work, { recursive: true, force: true });
});
