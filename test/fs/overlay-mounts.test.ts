/**
 * Overlay mounts of stage roots (fs/overlay.ts, fs/mounts.ts) where the file systems around them
 * are not the plain case:
 * - a scratch directory reached through a symlink (a TMPDIR that is one): mountinfo names the
 *   mount by its real path, and what is mounted below is still unmounted before the removal;
 * - a lower tree on a file system that gives no file handles (an overlay: ~/.cache on a container's
 *   root): the kernel silently mounts with index=off, where a hard link splits at its first write;
 *   such a mount is not used.
 * Needs root and overlay; skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, appendFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mountOverlay, overlayAvailable } from '../../src/fs/overlay.js';
import { mountsBelow, superOptions, unmountBelow } from '../../src/fs/mounts.js';
import { makeScratchDir, removeScratchDir } from '../../src/fs/scratch.js';

const why = overlayAvailable() ? undefined : 'overlay mounts need root and the overlay file system';
const work = realpathSync(mkdtempSync(join(tmpdir(), 'overlay-mounts-')));
const ROOT = { mode: 0o755, uid: 0, gid: 0 };

test('superOptions: the options after " - " of the last mount at a path', () => {
  const info = [
    '49 27 0:41 / /a/m rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w,redirect_dir=on,uuid=on',
    '50 49 0:42 / /a/m rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u2,workdir=/w2,redirect_dir=on,index=on',
    '51 27 0:43 / /a/m\\040x rw - tmpfs tmpfs rw,size=10k',
  ].join('\n');
  assert.deepEqual(superOptions('/a/m', info), ['rw', 'lowerdir=/l', 'upperdir=/u2', 'workdir=/w2', 'redirect_dir=on', 'index=on']);
  assert.deepEqual(superOptions('/a/m x', info), ['rw', 'size=10k']);
  assert.equal(superOptions('/a/n', info), undefined);
});

test('a scratch directory reached through a symlink: its overlay is unmounted before it is removed', async (t) => {
  if (why) return t.skip(why);
  const real = join(work, 'real-tmp');
  mkdirSync(real);
  const link = join(work, 'link-tmp');
  symlinkSync(real, link);
  const lower = join(work, 'lower1');
  mkdirSync(lower);
  writeFileSync(join(lower, 'f'), 'base\n');
  const dir = await makeScratchDir(link, 'repro-image-containerfile-');
  const root = join(dir, 'stage-0');
  mkdirSync(root);
  assert.ok(mountOverlay(root, { lower: [lower], upper: `${root}.upper`, work: `${root}.work` }, ROOT), 'mounted');
  assert.equal(mountsBelow(dir).length, 1, 'found below the name it was made by');
  await removeScratchDir(dir);
  assert.deepEqual(mountsBelow(real), [], 'nothing left mounted');
  assert.equal(existsSync(dir), false, 'and the directory removed');
  assert.equal(readFileSync(join(lower, 'f'), 'utf8'), 'base\n', 'the lower tree untouched');
});

test('a lower tree without file handles (on an overlay): no stage root on it, or one where a hard link stays whole', async (t) => {
  if (why) return t.skip(why);
  // The store's tree on an overlay (a container's root file system).
  const l0 = join(work, 'l0');
  mkdirSync(join(l0, 'd'), { recursive: true });
  writeFileSync(join(l0, 'd/x'), 'a\n');
  linkSync(join(l0, 'd/x'), join(l0, 'd/y'));
  const cacheFs = join(work, 'cache-fs');
  for (const d of [cacheFs, join(work, 'u0'), join(work, 'w0')]) mkdirSync(d);
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${l0},upperdir=${join(work, 'u0')},workdir=${join(work, 'w0')}`, cacheFs]);
  if (r.status !== 0) return t.skip('cannot mount the overlay standing for the cache file system');
  const root = join(work, 'stage');
  mkdirSync(root);
  const ok = mountOverlay(root, { lower: [cacheFs], upper: `${root}.upper`, work: `${root}.work` }, ROOT);
  if (ok) {
    appendFileSync(join(root, 'd/x'), 'b\n');
    assert.equal(readFileSync(join(root, 'd/y'), 'utf8'), 'a\nb\n', 'a file written through one name of a hard link changes the other, as in a plain directory');
  }
  assert.deepEqual(mountsBelow(root), ok ? [root] : [], 'a refused mount is not left mounted');
});

test.after(() => {
  unmountBelow(work);
  rmSync(work, { recursive: true, force: true });
});
