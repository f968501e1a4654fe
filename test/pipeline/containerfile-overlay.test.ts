/**
 * Stage roots on an overlay over the store of unpacked images (unpacked-store.ts, overlay-root.ts):
 * - the hard cases of a root that is an overlay give the bytes a plain directory gives: a file
 *   written through the second name of a hard link whose first name the upper directory never
 *   holds, a directory of the base renamed (its files stay below in the lower tree), a chmod of a
 *   base file, a FROM of a stage whose base is in the store, files moved out of a stage on its
 *   last read;
 * - the store: filled once and read after, a record that does not match is replaced, a base whose
 *   layers are not its config's diff_ids is refused and leaves nothing;
 * - a run killed while its overlay is mounted: the next run unmounts it and removes the directory,
 *   and the stored tree is untouched.
 * Needs root, overlay and REPRO_DEBIAN_ROOTFS (a shell for RUN); skips otherwise and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { UnpackedStore, unpackedKey } from '../../src/pipeline/containerfile/unpacked-store.js';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { mountsBelow, unmountBelow } from '../../src/fs/mounts.js';
import { removeStaleRunDirs } from '../../src/fs/scratch.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { ReproError } from '../../src/model/errors.js';
import { CLI, runCli } from '../helpers/cli.js';
import { GT_EPOCH, writeContext } from '../helpers/podman-contexts.js';

const debianTar = process.env['REPRO_DEBIAN_ROOTFS'] || undefined;
const why = !overlayAvailable() ? 'overlay mounts need root and the overlay file system'
  : !debianTar ? 'REPRO_DEBIAN_ROOTFS is not set: .ci/run makes it with .ci/debian-rootfs.sh' : undefined;
const work = mkdtempSync(join(tmpdir(), 'cf-overlay-'));
mkdirSync(join(work, 'tmp'));
let base: string | undefined;

async function debianBase(): Promise<string> {
  if (base) return base;
  const ctx = join(work, 'base-ctx');
  writeContext('debian-base', ctx, debianTar);
  const out = join(work, 'base');
  await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: `oci:${out}:t`, compression: 'none' });
  return (base = `oci:${out}:t`);
}

/** A build context in the work dir holding only a Containerfile with `text`; its path. */
function context(name: string, text: string): string {
  const ctx = join(work, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Containerfile'), text);
  return ctx;
}

const HARD = [
  'FROM base AS one',
  // perlthanks is the second name of perlbug (the first in walk order): the upper directory gets
  // perlthanks only. /etc/apt is a directory of the base: renamed, its files stay in the lower tree.
  "RUN echo '# appended' >> /usr/bin/perlthanks && mv /etc/apt /etc/apt-moved && chmod 0700 /usr/bin/perl && rm /etc/issue",
  'FROM base AS two',
  'RUN echo two > /two && ln /usr/bin/zstd /usr/bin/zstd-link',
  'FROM two AS three',
  'RUN cat /two > /three && echo more >> /usr/bin/zstd-link',
  'FROM scratch',
  'COPY --from=one /usr/bin /etc /from-one/',
  'COPY --from=three /three /usr/bin/zstd /usr/bin/zstd-link /copied/',
  '',
].join('\n');

test('an overlay root gives the bytes of a plain directory: hard links written through a second name, renamed base directories, FROM a stage, moves on the last read', async (t) => {
  if (why) return t.skip(why);
  const from = await debianBase();
  const ctx = context('hard', HARD);
  const store = new UnpackedStore(join(work, 'cache'), 'test');
  const digests: string[] = [];
  for (const unpacked of [undefined, store]) {
    const r = await buildContainerfile({
      containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: `oci:${join(work, `hard-${digests.length}`)}:t`,
      compression: 'none', baseImages: { base: from }, tmpDir: join(work, 'tmp'), ...(unpacked ? { unpacked } : {}),
    });
    digests.push(`${r.config.digest} ${r.layers.map((l) => l.diffId).join(' ')}`);
  }
  assert.equal(digests[1], digests[0], 'the same config and layers as plain directories');
  assert.equal(readdirSync(join(work, 'cache/unpacked')).length, 1, 'one tree for the one base, nothing temporary left');
  assert.deepEqual(mountsBelow(join(work, 'tmp')), [], 'nothing left mounted');
});

test('a base with a character device 0/0 (a whiteout to an overlay, which hides it) is not mounted from the store: RUN sees the device, as without the store', async (t) => {
  if (why) return t.skip(why);
  const from = await debianBase();
  const ctx = context('wh', 'FROM base\nRUN if test -c /etc/zero; then echo device; else echo none; fi > /seen\n');
  mkdirSync(join(ctx, 'tree/etc'), { recursive: true });
  assert.equal(spawnSync('mknod', [join(ctx, 'tree/etc/zero'), 'c', '0', '0']).status, 0);
  assert.equal(spawnSync('tar', ['-C', join(ctx, 'tree'), '-cf', join(ctx, 'zero.tar'), 'etc/zero']).status, 0);
  writeFileSync(join(ctx, 'Base'), 'FROM base\nADD zero.tar /\n');
  const withZero = join(work, 'wh-base');
  await buildContainerfile({ containerfile: join(ctx, 'Base'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: `oci:${withZero}:t`, compression: 'none', baseImages: { base: from } });
  const results: string[] = [];
  for (const unpacked of [undefined, new UnpackedStore(join(work, 'wh-cache'), 'test')]) {
    const out = join(work, `wh-out-${results.length}`);
    const r = await buildContainerfile({
      containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: GT_EPOCH, output: `oci:${out}:t`,
      compression: 'none', baseImages: { base: `oci:${withZero}:t` }, tmpDir: join(work, 'tmp'), ...(unpacked ? { unpacked } : {}),
    });
    const seen = spawnSync('tar', ['-xOf', join(out, 'blobs/sha256', r.layers.at(-1)!.diffId.slice(7)), 'seen'], { encoding: 'utf8' }).stdout;
    results.push(`${seen.trim()} ${r.config.digest}`);
  }
  assert.match(results[0]!, /^device /, 'without the store, RUN sees the device');
  assert.equal(results[1], results[0], 'with the store: the same');
});

test('a stage root is 0755 under umask 077, on an overlay or not: what RUN sees of / is the same', async (t) => {
  if (why) return t.skip(why);
  const from = await debianBase();
  const ctx = context('umask', 'FROM base\nRUN stat -c %a / > /root-mode\n');
  const configs: string[] = [];
  for (const flags of [[], ['--no-unpacked-cache']]) {
    const r = runCli(['build', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--from-image', `base=${from}`, '--source-date-epoch', String(GT_EPOCH),
      '--output', `oci:${join(work, `umask-out-${configs.length}`)}:t`, '--json', ...flags], { umask: '077', env: { XDG_CACHE_HOME: join(work, 'umask-cache') } });
    assert.equal(r.status, 0, r.stderr);
    configs.push((JSON.parse(r.stdout) as { config: { digest: string } }).config.digest);
  }
  assert.equal(configs[1], configs[0], 'the same RUN layer with the base written into a directory made under umask 077');
});

test('the store of unpacked images: filled once, a record that does not match is replaced, a config that lies about its layers is refused', async (t) => {
  if (why) return t.skip(why);
  const from = await debianBase();
  const image = await readImage(await openImage(parseImageRef(from, 'base')), 'base');
  const store = new UnpackedStore(join(work, 'cache2'), 'test');
  const key = unpackedKey(image.config.value.rootfs.diff_ids, 'test');
  assert.notEqual(key, unpackedKey(image.config.value.rootfs.diff_ids, 'test2'), 'the tool version is part of the key');
  // What a store entry is (its walk, read when asked, is a function of the entry's directory).
  const entry = ({ tree, layers }: { tree: string; layers: unknown }): unknown => ({ tree, layers });
  const first = await store.get(image, 'base');
  assert.equal(first.tree, join(work, 'cache2/unpacked', key, 'tree'));
  assert.deepEqual(first.layers.map((l) => l.diffId), image.config.value.rootfs.diff_ids);
  // Read, not applied again: a reader that fails would be noticed.
  const fail = (): never => { throw new Error('a stored base was read again'); };
  const unreadable = { ...image, layers: image.layers.map((l) => ({ number: l.number, where: l.where, compressed: fail, uncompressed: fail, members: fail, localTar: fail })) };
  assert.deepEqual(entry(await store.get(unreadable, 'base')), entry(first));
  writeFileSync(join(work, 'cache2/unpacked', key, 'layers.json'), '[{"diffId":"sha256:00","size":1}]\n');
  const again = await store.get(image, 'base');
  assert.deepEqual(entry(again), entry(first), 'a record that does not match: applied again');
  assert.deepEqual(readdirSync(join(work, 'cache2/unpacked')), [key]);
  // A config whose diff_ids are not its layers' tars.
  const wrong = `sha256:${'1'.repeat(64)}`;
  const lying = { ...image, config: { ...image.config, value: { ...image.config.value, rootfs: { type: 'layers', diff_ids: [wrong] } } } };
  await assert.rejects(store.get(lying as never, 'lying base'), (e: unknown) => e instanceof ReproError && e.code === 'E_DIGEST_MISMATCH' && /lying base: layer 1 is sha256:[0-9a-f]{64} uncompressed, but the config's rootfs\.diff_ids\[0\] is sha256:1{64}/.test(e.message));
  assert.deepEqual(readdirSync(join(work, 'cache2/unpacked')), [key], 'nothing of the refused base is left');
});

test('a run killed while its stage root is mounted (on a scratch tmpfs): the next run unmounts both and removes its directory; the stored tree stays', async (t) => {
  if (why) return t.skip(why);
  const from = await debianBase();
  const ctx = context('killed', 'FROM base\nRUN sleep 3\n');
  const tmp = join(work, 'killed-tmp');
  mkdirSync(tmp);
  const cache = join(work, 'killed-cache');
  const child = spawn(process.execPath, [CLI, 'build', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--from-image', `base=${from}`,
    '--source-date-epoch', String(GT_EPOCH), '--output', `oci:${join(work, 'killed-out')}:t`], { env: { ...process.env, TMPDIR: tmp, XDG_CACHE_HOME: cache }, stdio: 'ignore' });
  const exited = new Promise((ok) => child.on('exit', ok));
  let mounted: string[] = [];
  for (let i = 0; i < 600 && mounted.length === 0; i++) {
    await new Promise((ok) => setTimeout(ok, 100));
    // The stage's root (not the trial mount made once before the store is used).
    mounted = mountsBelow(tmp).filter((m) => m.endsWith('/stage-0'));
  }
  assert.equal(mounted.length, 1, 'the stage root was mounted');
  child.kill('SIGKILL');
  await exited;
  // The stage root's overlay, and below it the build's scratch directory: a tmpfs (--scratch memory, the default).
  assert.deepEqual(mountsBelow(tmp), [mounted[0]!, dirname(mounted[0]!)], 'a killed run leaves its mounts');
  const runDirs = readdirSync(tmp).filter((n) => n.startsWith('repro-image-run-'));
  assert.equal(runDirs.length, 1);
  assert.deepEqual(await removeStaleRunDirs(tmp), runDirs);
  assert.deepEqual(mountsBelow(tmp), [], 'unmounted');
  assert.deepEqual(readdirSync(tmp), [], 'and removed');
  const [key] = readdirSync(join(cache, 'repro-image/unpacked'));
  const tree = join(cache, 'repro-image/unpacked', key!, 'tree');
  assert.ok(existsSync(join(tree, 'usr/bin/perl')) && existsSync(join(tree, 'etc/os-release')), 'the stored tree is whole');
  assert.ok(readFileSync(join(tree, 'etc/os-release'), 'utf8').includes('Debian'));
});

test.after(() => {
  unmountBelow(work);
  rmSync(work, { recursive: true, force: true });
});
