/**
 * The store of unpacked images where the cache cannot take the tree (a read-only file system, a
 * full one): the build writes the base into the stage's directory, as without the store, and
 * gives the same image. Needs root and overlay (the store is only used then); skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setAttributeSync } from 'fs-xattr';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { UnpackedStore } from '../../src/pipeline/containerfile/unpacked-store.js';
import { mountOnTree } from '../../src/pipeline/containerfile/overlay-root.js';
import { walkTree } from '../../src/pipeline/containerfile/tree.js';
import { adoptWalk } from '../../src/pipeline/containerfile/upper-walk.js';
import { xattrReader } from '../../src/sources/rootfs/xattrs.js';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { unmountBelow } from '../../src/fs/mounts.js';
import { ownerTag } from '../../src/fs/owner.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';

const why = overlayAvailable() ? undefined : 'the store of unpacked images is used as root with overlay only';
const work = mkdtempSync(join(tmpdir(), 'cf-overlay-cache-'));
const SDE = 1700000000;

/** A context directory `name` in the work dir with these files (Containerfiles among them). */
function context(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

test('a cache that cannot be written: the base is written into the stage, the same image as without the store', async (t) => {
  if (why) return t.skip(why);
  const ctx = context('ctx', { f: 'base file\n', g: 'stage file\n', Base: 'FROM scratch\nCOPY f /etc/f\n', Containerfile: 'FROM base\nCOPY g /etc/g\n' });
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

test('two runs filling the store at once: the tree one of them put (and mounts) is not removed by the other', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('applying layers as their owners needs root');
  const ctx = context('race-ctx', { f: 'base file\n', Containerfile: 'FROM scratch\nCOPY f /etc/f\n' });
  await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, 'race-base')}:t`, compression: 'none' });
  const image = await readImage(await openImage(parseImageRef(`oci:${join(work, 'race-base')}:t`, 'base')), 'base');
  // What killed runs left in the store (temporary names of a process that is gone): the first
  // run to miss sweeps them, which takes a while; the second fills meanwhile.
  const parent = join(work, 'race-cache/unpacked');
  mkdirSync(parent, { recursive: true });
  const dead = ownerTag().replace(/^[0-9]+/, '4194303');
  for (let i = 0; i < 3000; i++) mkdirSync(join(parent, `.stale.tmp-${dead}-${i}`));
  const slow = new UnpackedStore(join(work, 'race-cache'), 'test').get(image, 'slow');
  const quick = await new UnpackedStore(join(work, 'race-cache'), 'test').get(image, 'quick');
  // A mark of the tree the quick run put (inode numbers are reused: they cannot tell).
  const mark = join(quick.tree, '..', 'in-use');
  writeFileSync(mark, '');
  await slow;
  assert.ok(existsSync(mark), 'the tree the quick run put (and would mount) was not removed by the slow run');
  assert.deepEqual((await slow).tree, quick.tree);
});

test('what a killed run left half-filled in the store is removed by the next run, also where it finds its image there', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('applying layers as their owners needs root');
  const ctx = context('sweep-ctx', { f: 'base file\n', Containerfile: 'FROM scratch\nCOPY f /etc/f\n' });
  await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, 'sweep-base')}:t`, compression: 'none' });
  const cache = join(work, 'sweep-cache');
  const image = await readImage(await openImage(parseImageRef(`oci:${join(work, 'sweep-base')}:t`, 'base')), 'base');
  await new UnpackedStore(cache, 'test').get(image, 'fill');
  // A fill of a process that is gone, half done.
  const dead = ownerTag().replace(/^[0-9]+/, '4194303');
  const stale = join(cache, 'unpacked', `.stale.tmp-${dead}-7`);
  mkdirSync(join(stale, 'tree/usr'), { recursive: true });
  writeFileSync(join(stale, 'tree/usr/half'), 'half written\n');
  // The next run (a process of its own: the sweep is once per process) finds the image.
  const script = `
    import { UnpackedStore } from ${JSON.stringify(new URL('../../src/pipeline/containerfile/unpacked-store.js', import.meta.url).href)};
    import { readImage } from ${JSON.stringify(new URL('../../src/image/read.js', import.meta.url).href)};
    import { openImage } from ${JSON.stringify(new URL('../../src/transports/index.js', import.meta.url).href)};
    import { parseImageRef } from ${JSON.stringify(new URL('../../src/transports/reference.js', import.meta.url).href)};
    const image = await readImage(await openImage(parseImageRef(${JSON.stringify(`oci:${join(work, 'sweep-base')}:t`)}, 'base')), 'base');
    const found = await new UnpackedStore(${JSON.stringify(cache)}, 'test').find(image);
    console.log(found ? 'found' : 'missed');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'found');
  assert.ok(!existsSync(stale), 'the half-filled tree is gone');
});

test.after(() => {
  unmountBelow(work);
  rmSync(work, { recursive: true, force: true });
});

test('a base whose config claims the diff_ids of a stored image, with other layers: refused, not a layer that is not its diff_id', async (t) => {
  if (why) return t.skip(why);
  const ctx = context('claim-ctx', {
    a: 'honest\n', b: 'other bytes\n', A: 'FROM scratch\nCOPY a /etc/f\n', B: 'FROM scratch\nCOPY b /etc/f\n', Containerfile: 'FROM base\nLABEL x=y\n',
  });
  for (const n of ['A', 'B']) await buildContainerfile({ containerfile: join(ctx, n), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, `claim-${n}`)}:t`, compression: 'none' });
  // B's layers under A's config (A's diff_ids): a manifest of B's pointing at A's config blob.
  const blob = (dir: string, d: string): Buffer => readFileSync(join(dir, 'blobs/sha256', d.slice(7)));
  const [a, b] = ['A', 'B'].map((n) => join(work, `claim-${n}`)) as [string, string];
  const indexB = JSON.parse(readFileSync(join(b, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const manifestA = JSON.parse(blob(a, (JSON.parse(readFileSync(join(a, 'index.json'), 'utf8')) as typeof indexB).manifests[0]!.digest).toString()) as { config: { digest: string } };
  const manifestB = JSON.parse(blob(b, indexB.manifests[0]!.digest).toString()) as { config: unknown };
  writeFileSync(join(b, 'blobs/sha256', manifestA.config.digest.slice(7)), blob(a, manifestA.config.digest));
  const lying = Buffer.from(JSON.stringify({ ...manifestB, config: manifestA.config }));
  const lyingDigest = `sha256:${createHash('sha256').update(lying).digest('hex')}`;
  writeFileSync(join(b, 'blobs/sha256', lyingDigest.slice(7)), lying);
  writeFileSync(join(b, 'index.json'), JSON.stringify({ ...indexB, manifests: [{ ...indexB.manifests[0], digest: lyingDigest, size: lying.length }] }));
  const store = new UnpackedStore(join(work, 'claim-cache'), 'test');
  const build = (base: string, n: number): Promise<unknown> => buildContainerfile({
    containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, `claim-out-${n}`)}:t`,
    compression: 'none', baseImages: { base: `oci:${base}:t` }, unpacked: store,
  });
  await build(a, 0);
  await assert.rejects(build(b, 1), (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'E_DIGEST_MISMATCH'
    && /layer 1 .*: the layer is sha256:[0-9a-f]{64} \(\d+ bytes\) uncompressed, but the base image's config says sha256:/.test(e.message));
  assert.ok(!existsSync(join(work, 'claim-out-1')), 'no image written');
});

test('the store keeps a new tree\'s walk: the first step of a stage on it starts from it (the mount\'s own walk, checked), and gives the image a build without the store gives', async (t) => {
  if (why) return t.skip(why);
  // A base with what a walk records: hard links, attributes, a device, a fifo, symlinks, times.
  const tree = join(work, 'walk-tree');
  mkdirSync(join(tree, 'etc/deep'), { recursive: true });
  writeFileSync(join(tree, 'etc/a'), 'a\n');
  writeFileSync(join(tree, 'etc/deep/b'), 'b\n');
  spawnSync('ln', [join(tree, 'etc/a'), join(tree, 'etc/a-link')]);
  spawnSync('ln', ['-s', 'deep/b', join(tree, 'etc/sym')]);
  spawnSync('mknod', [join(tree, 'etc/null'), 'c', '1', '3']);
  spawnSync('mkfifo', [join(tree, 'etc/fifo')]);
  setAttributeSync(join(tree, 'etc/deep/b'), 'user.note', 'kept');
  spawnSync('touch', ['-h', '-d', '2001-02-03T04:05:06.5Z', join(tree, 'etc/deep/b'), join(tree, 'etc/sym'), join(tree, 'etc')]);
  const ctx = context('walk-ctx', { g: 'stage file\n', Base: 'FROM scratch\nADD root.tar /\n', Containerfile: 'FROM base\nCOPY g /etc/g\nCOPY g /etc/deep/g2\n' });
  assert.equal(spawnSync('tar', ['--xattrs', '--xattrs-include=user.*', '-C', tree, '-cf', join(ctx, 'root.tar'), 'etc']).status, 0);
  await buildContainerfile({ containerfile: join(ctx, 'Base'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, 'walk-base')}:t`, compression: 'none' });
  const image = await readImage(await openImage(parseImageRef(`oci:${join(work, 'walk-base')}:t`, 'base')), 'base');
  const x = await xattrReader(work, '');
  const store = new UnpackedStore(join(work, 'walk-cache'), 'test');
  const put = await store.get(image, 'base', x);
  const mount = (n: number, dir = work): { root: string; adopted: ReturnType<typeof adoptWalk> } => {
    const o = mountOnTree(join(dir, `walk-mount-${n}`), put.tree);
    assert.ok(o, 'mounted');
    const stored = put.walk(o.root);
    assert.ok(stored, 'the store has the walk');
    return { root: o.root, adopted: adoptWalk(stored, o) };
  };
  const first = mount(0);
  assert.ok(first.adopted, 'taken');
  assert.deepEqual(first.adopted, walkTree(first.root, x), 'the stored walk is the mount\'s full walk (hard links keyed on its device)');
  assert.ok(first.adopted!.some((n) => n.inode !== undefined) && first.adopted!.some((n) => n.xattrs?.has('user.note')), 'hard links and attributes kept');
  // The upper directory on another file system than the tree (a scratch tmpfs, a store on disk):
  // the overlay shows other inode keys, which the adopted walk takes from the mount.
  const other = join(work, 'walk-other-fs');
  mkdirSync(other);
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', other]).status, 0);
  const across = mount(2, other);
  assert.ok(across.adopted, 'taken across file systems');
  assert.deepEqual(across.adopted, walkTree(across.root, x), 'the stored walk is the full walk of a mount whose upper directory is on another file system');
  // The image: the same with the store (the walk taken) as without it (the base applied, walked).
  const digests: string[] = [];
  for (const unpacked of [undefined, store]) {
    const r = await buildContainerfile({
      containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(work, `walk-out-${digests.length}`)}:t`,
      compression: 'none', baseImages: { base: `oci:${join(work, 'walk-base')}:t` }, ...(unpacked ? { unpacked } : {}),
    });
    digests.push(`${r.config.digest} ${r.layers.map((l) => l.diffId).join(' ')}`);
  }
  assert.equal(digests[1], digests[0]);
  // A tree changed by hand at the top (the store is trusted, but checked where that is cheap): not taken.
  const walkFile = join(put.tree, '..', 'walk.json');
  const saved = readFileSync(walkFile, 'utf8');
  const rows = JSON.parse(saved) as unknown[][];
  rows[0]![6] = (rows[0]![6] as number) + 1;
  writeFileSync(walkFile, JSON.stringify(rows));
  assert.equal(mount(1).adopted, undefined, 'a top-level node that differs from the mount: not taken');
  // Not one this store writes: no walk.
  writeFileSync(walkFile, '[["etc"]]');
  assert.equal(put.walk(join(work, 'x')), undefined);
  writeFileSync(walkFile, 'not json');
  assert.equal(put.walk(join(work, 'x')), undefined);
  writeFileSync(walkFile, saved);
});
