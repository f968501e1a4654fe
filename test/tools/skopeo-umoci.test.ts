/**
 * Interoperability with skopeo and umoci: our images are read, copied and unpacked by the reference
 * tools without changing digests or losing metadata.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as xattr from 'fs-xattr';
import { gunzipSync } from 'node:zlib';
import { CAP_NET_BIND_SERVICE, FIXTURE_EPOCH, makeFixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', tool]).status === 0;
}

function run(cmd: string, args: string[]): { stdout: Buffer; stderr: string } {
  const r = spawnSync(cmd, args, { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${String(r.status)} ${String(r.signal)}): ${r.stderr?.toString()}`);
  return { stdout: r.stdout, stderr: r.stderr.toString() };
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function withTmp(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'repro-skopeo-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function build(rootfs: string, output: string, extra: string[] = []): string {
  const r = runCli(['build', '--rootfs', rootfs, '--output', output, '--source-date-epoch', String(FIXTURE_EPOCH), ...extra]);
  assert.equal(r.status, 0, r.stderr);
  const digest = r.stdout.trim();
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  return digest;
}

interface Index { manifests: Array<{ digest: string }> }
interface Manifest { config: { digest: string }; layers: Array<{ digest: string }> }

function manifest(ociDir: string): Manifest {
  return JSON.parse(blob(ociDir, indexDigest(ociDir)).toString('utf8')) as Manifest;
}

/** The config's rootfs.diff_ids: the digests of the uncompressed layers. */
function diffIds(ociDir: string): string[] {
  const c = JSON.parse(blob(ociDir, manifest(ociDir).config.digest).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  return c.rootfs.diff_ids;
}

function indexDigest(ociDir: string): string {
  const idx = JSON.parse(readFileSync(join(ociDir, 'index.json'), 'utf8')) as Index;
  assert.equal(idx.manifests.length, 1);
  return idx.manifests[0]!.digest;
}

function blob(ociDir: string, digest: string): Buffer {
  return readFileSync(join(ociDir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

function layerDigests(ociDir: string): string[] {
  return manifest(ociDir).layers.map((l) => l.digest);
}

for (const compression of ['gzip', 'zstd'] as const) {
  test(`skopeo inspect --raw and skopeo copy keep the manifest digest (oci, ${compression})`, async (t) => {
    if (!have('skopeo')) { t.skip('skopeo not installed'); return; }
    await withTmp(async (dir) => {
      const rootfs = join(dir, 'rootfs');
      await makeFixture(rootfs);
      const img = join(dir, 'img');
      const digest = build(rootfs, `oci:${img}:v1`, ['--compression', compression]);
      assert.equal(indexDigest(img), digest);
      const raw = run('skopeo', ['inspect', '--raw', `oci:${img}:v1`]).stdout;
      assert.equal(sha256(raw), digest);
      assert.deepEqual(raw, blob(img, digest));
      const copy = join(dir, 'copy');
      run('skopeo', ['copy', '--quiet', `oci:${img}:v1`, `oci:${copy}:v1`]);
      assert.equal(indexDigest(copy), digest);
      assert.deepEqual(layerDigests(copy), layerDigests(img));
    });
  });
}

test('skopeo reads and copies our docker-archive output', async (t) => {
  if (!have('skopeo')) { t.skip('skopeo not installed'); return; }
  await withTmp(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await makeFixture(rootfs);
    const img = join(dir, 'img');
    build(rootfs, `oci:${img}:v1`);
    const archive = join(dir, 'image.tar');
    build(rootfs, `docker-archive:${archive}:example/fixture:v1`);
    const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${archive}`]).stdout.toString('utf8')) as { Layers: string[]; Os: string; Architecture: string };
    assert.equal(info.Os, 'linux');
    // A docker-archive names layers by their uncompressed digest (diff_id), and skopeo copy from it
    // recompresses with its own gzip, so the comparison is on uncompressed layer digests.
    assert.deepEqual(info.Layers, diffIds(img));
    const oci3 = join(dir, 'oci3');
    run('skopeo', ['copy', '--quiet', `docker-archive:${archive}`, `oci:${oci3}:x`]);
    assert.deepEqual(diffIds(oci3), diffIds(img));
    const copied = layerDigests(oci3).map((d) => sha256(gunzipSync(blob(oci3, d))));
    assert.deepEqual(copied, diffIds(img));
  });
});

test('skopeo inspect --raw on our oci-archive output gives our manifest digest', async (t) => {
  if (!have('skopeo')) { t.skip('skopeo not installed'); return; }
  await withTmp(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await makeFixture(rootfs);
    const archive = join(dir, 'image.tar');
    const digest = build(rootfs, `oci-archive:${archive}:v1`);
    const raw = run('skopeo', ['inspect', '--raw', `oci-archive:${archive}:v1`]).stdout;
    assert.equal(sha256(raw), digest);
  });
});

test('umoci unpack restores modes, owners, links, devices and xattrs', async (t) => {
  if (!have('umoci')) { t.skip('umoci not installed'); return; }
  await withTmp(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await makeFixture(rootfs);
    const img = join(dir, 'img');
    build(rootfs, `oci:${img}:v1`);
    const bundle = join(dir, 'bundle');
    run('umoci', ['unpack', '--image', `${img}:v1`, bundle]);
    const r = (p: string): string => join(bundle, 'rootfs', p);
    const mode = (p: string): number => lstatSync(r(p)).mode;

    assert.equal(mode('usr/bin/suid') & 0o7777, 0o4755);
    assert.equal(mode('usr/bin/sgid') & 0o7777, 0o2755);
    assert.equal(mode('tmp') & 0o7777, 0o1777);
    assert.ok(lstatSync(r('tmp')).isDirectory());
    assert.equal(mode('empty') & 0o7777, 0o700);
    assert.equal(mode('etc/hostname') & 0o7777, 0o644);
    assert.equal(mode('etc/empty-file') & 0o7777, 0o600);

    const big = lstatSync(r('owners/big-ids'));
    assert.equal(big.uid, 3000000);
    assert.equal(big.gid, 4000000);
    assert.equal(big.mode & 0o7777, 0o640);
    const nobody = lstatSync(r('owners/nobody'));
    assert.equal(nobody.uid, 65534);
    assert.equal(nobody.gid, 65534);

    const tool = lstatSync(r('usr/bin/tool'));
    assert.equal(lstatSync(r('usr/bin/tool-hardlink')).ino, tool.ino);
    assert.equal(lstatSync(r('etc/a-hardlink-sorted-first')).ino, tool.ino);
    assert.equal(tool.nlink, 3);

    assert.ok(lstatSync(r('lib')).isSymbolicLink());
    assert.equal(readlinkSync(r('lib')), 'usr/lib');
    assert.equal(readlinkSync(r('etc/absolute-link')), '/usr/bin/tool');
    assert.equal(readlinkSync(r('etc/long-link-target')), readlinkSync(join(rootfs, 'etc/long-link-target')));

    const nul = lstatSync(r('etc/null'));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, statSync(join(rootfs, 'etc/null')).rdev);
    assert.equal(Math.floor(nul.rdev / 256) & 0xfff, 1);
    assert.equal(nul.rdev & 0xff, 3);
    const loop = lstatSync(r('etc/loop0'));
    assert.ok(loop.isBlockDevice());
    assert.equal(Math.floor(loop.rdev / 256) & 0xfff, 7);
    assert.equal(loop.rdev & 0xff, 0);
    assert.ok(lstatSync(r('etc/fifo')).isFIFO());

    assert.deepEqual(xattr.getAttributeSync(r('usr/bin/capable'), 'security.capability'), CAP_NET_BIND_SERVICE);

    for (const f of ['etc/hostname', 'usr/bin/tool', 'usr/bin/suid', 'usr/bin/capable', 'usr/lib/big.bin',
      'owners/big-ids', 'srv/ünïcödé/fïlé.txt', 'srv/日本語/ファイル', 'srv/emoji-😀', 'pre-1970', 'old-file']) {
      assert.deepEqual(readFileSync(r(f)), readFileSync(join(rootfs, f)), f);
    }
  });
});
