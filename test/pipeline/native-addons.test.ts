/**
 * Hosts where a native addon cannot load: a directory's extended attributes are never dropped
 * silently (the build stops with one line naming what to install or --no-xattrs), and zstd is
 * needed only for zstd. Each case runs the CLI of a copy of this installation in which `npm ci`
 * did not build the addon (its build/ folder removed) or did not install the package at all.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { makeFixture, FIXTURE_EPOCH } from '../helpers/fixtures.js';
import { runCli, type RunResult } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';
import { installCopy, type InstallCopy } from '../helpers/install-copy.js';

const golden = readGolden('rootfs-fixture.json') as Record<string, string>;
let work: string;
let rootfs: string;
let unbuilt: InstallCopy;
let absent: InstallCopy;
let noZstd: InstallCopy;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'addons-'));
  rootfs = join(work, 'rootfs');
  await makeFixture(rootfs);
  unbuilt = installCopy(join(work, 'unbuilt'), { copied: ['fs-xattr'] });
  rmSync(join(unbuilt.root, 'node_modules', 'fs-xattr', 'build'), { recursive: true, force: true });
  absent = installCopy(join(work, 'absent'), { leftOut: ['fs-xattr'] });
  noZstd = installCopy(join(work, 'no-zstd'), { copied: ['zstd-napi'] });
  rmSync(join(noZstd.root, 'node_modules', 'zstd-napi', 'build'), { recursive: true, force: true });
});
after(() => rmSync(work, { recursive: true, force: true }));

function run(copy: InstallCopy, args: string[]): RunResult {
  const r = spawnSync(process.execPath, [copy.cli, ...args], { env: { ...process.env, SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) }, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function layerBytes(layout: string): Buffer {
  const blobs = join(layout, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
  return gunzipSync(readFileSync(join(blobs, manifest.layers[0]!.digest.slice(7))));
}

for (const [what, copy] of [['not built', () => unbuilt], ['not installed', () => absent]] as const) {
  test(`fs-xattr ${what}: a directory build stops with one line instead of dropping security.capability`, () => {
    const out = join(work, `out-${what.replace(' ', '-')}`);
    const r = run(copy(), ['build', '--rootfs', rootfs, '--output', `oci:${out}:t`]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^repro-image: ${rootfs}: cannot read extended attributes: the fs-xattr native addon does not load \\(.+\\); install it with 'npm ci' or 'npm rebuild fs-xattr' where g\\+\\+, make and python3 are present, or pass --no-xattrs to build without them$`));
    assert.equal(existsSync(out), false, 'nothing written');
  });
}

test('fs-xattr not built: verify --rootfs stops the same way, and --no-xattrs does not reproduce an image that has them', () => {
  const published = join(work, 'published');
  const b = runCli(['build', '--rootfs', rootfs, '--output', `oci:${published}:t`], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
  assert.equal(b.stdout.trim(), golden['gzip'], b.stderr);
  const r = run(unbuilt, ['verify', '--rootfs', rootfs, '--against', `oci:${published}:t`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: .*: cannot read extended attributes: the fs-xattr native addon does not load .*--no-xattrs to build without them\n$/);
  const skipped = run(unbuilt, ['verify', '--rootfs', rootfs, '--no-xattrs', '--against', `oci:${published}:t`]);
  assert.equal(skipped.status, 1, skipped.stderr);
});

test('fs-xattr not built: diff of a root filesystem directory stops too (it would compare without attributes)', () => {
  const r = run(unbuilt, ['diff', rootfs, rootfs]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^repro-image: ${rootfs}: cannot read extended attributes: the fs-xattr native addon does not load \\(.+\\); install it with 'npm ci' or 'npm rebuild fs-xattr' where g\\+\\+, make and python3 are present\\n$`));
});

test('--no-xattrs leaves every attribute out knowingly: the same image with or without fs-xattr, from a directory or a tarball', () => {
  const withoutAddon = join(work, 'no-xattrs-unbuilt');
  const r = run(unbuilt, ['build', '--rootfs', rootfs, '--no-xattrs', '--output', `oci:${withoutAddon}:t`]);
  assert.equal(r.status, 0, r.stderr);
  const digest = r.stdout.trim();
  assert.notEqual(digest, golden['gzip'], 'the golden image carries security.capability and user.origin');
  const layer = layerBytes(withoutAddon);
  assert.equal(layer.includes('SCHILY.xattr'), false);
  assert.ok(layer.includes('usr/bin/capable'));

  // The full installation reads the attributes unless told not to.
  const withAddon = runCli(['build', '--rootfs', rootfs, '--no-xattrs', '--output', `oci:${join(work, 'no-xattrs-full')}:t`], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
  assert.equal(withAddon.status, 0, withAddon.stderr);
  assert.equal(withAddon.stdout.trim(), digest);
  const full = runCli(['build', '--rootfs', rootfs, '--output', `oci:${join(work, 'full')}:t`], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
  assert.equal(full.stdout.trim(), golden['gzip'], full.stderr);
  assert.ok(layerBytes(join(work, 'full')).includes('SCHILY.xattr.security.capability'));

  // A tarball's attributes (GNU tar --xattrs) are left out the same way.
  const tar = join(work, 'rootfs.tar');
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
  const fromTar = run(unbuilt, ['build', '--rootfs', tar, '--no-xattrs', '--output', `oci:${join(work, 'no-xattrs-tar')}:t`]);
  assert.equal(fromTar.status, 0, fromTar.stderr);
  assert.equal(fromTar.stdout.trim(), digest);
});

test('zstd-napi not built: gzip and uncompressed builds are unaffected, a zstd build stops with one line', () => {
  for (const c of ['gzip', 'none']) {
    const r = run(noZstd, ['build', '--rootfs', rootfs, '--compression', c, '--output', `oci:${join(work, `nz-${c}`)}:t`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), golden[c]);
  }
  const out = join(work, 'nz-zstd');
  const before = readdirSync(work).sort();
  const r = run(noZstd, ['build', '--rootfs', rootfs, '--compression', 'zstd', '--output', `oci:${out}:t`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: --compression zstd: zstd needs the zstd-napi native addon, which does not load \(.+\); install it with 'npm ci' or 'npm rebuild zstd-napi' where g\+\+, make and python3 are present, or compress with gzip \(--compression gzip\)\n$/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(work).sort(), before, 'no scratch file left behind');
});

test('--no-xattrs is for a root filesystem; --threads takes a whole number', () => {
  const spec = runCli(['build', join(work, 'image.yaml'), '--no-xattrs', '--output', `oci:${join(work, 'spec')}`]);
  assert.equal(spec.status, 2);
  assert.match(spec.stderr, /--no-xattrs applies to --rootfs only/);
  for (const bad of ['0', '-1', '2.5', 'many', '1025']) {
    const r = runCli(['build', '--rootfs', rootfs, `--threads=${bad}`, '--output', `oci:${join(work, 'threads')}`], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /--threads: expected a whole number from 1 to 1024/);
  }
});
