/**
 * `verify` against a real registry: an image built and pushed, then verified from a clean state →
 * reproduced; a published image with one changed file → exit 1 with the finding; the archive of
 * the published bytes repeats the proof after the tag moves; an index → the build's platform.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeRootfs, startRegistry, tempDir, type Registry } from '../transports/registry/harness.js';
import { EPOCH, build, makeIndexLayout, sha256 } from '../transports/registry/images.js';

const TLS = '--tls-verify=false';
let reg: Registry;
let work: string;
let rootfs: string;
let published: string;

before(async () => {
  reg = await startRegistry();
  work = tempDir('repro-verify-');
  rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'verify');
  published = build(rootfs, `docker://${reg.host}/pub/img:v1`, [TLS, '--env', 'PATH=/usr/bin', '--label', 'org.example=1']);
});
after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function verify(args: string[]): ReturnType<typeof runCli> {
  return runCli(['verify', '--rootfs', rootfs, '--source-date-epoch', EPOCH, '--env', 'PATH=/usr/bin', '--label', 'org.example=1', ...args]);
}

test('rebuilt from a clean state, the published digest is reproduced (by tag and by digest)', () => {
  const byTag = verify(['--against', `docker://${reg.host}/pub/img:v1`, TLS]);
  assert.equal(byTag.status, 0, byTag.stderr);
  assert.equal(byTag.stdout, `reproduced ${published}\n`);
  const byDigest = verify(['--against', `docker://${reg.host}/pub/img@${published}`, TLS]);
  assert.equal(byDigest.status, 0, byDigest.stderr);
  assert.equal(byDigest.stdout, `reproduced ${published}\n`);
});

test('a published image with one changed file: exit 1, the layer and its diff_id named', () => {
  const changed = join(work, 'changed');
  makeRootfs(changed, 'verify');
  writeFileSync(join(changed, 'etc/hostname'), 'tampered\n');
  const other = build(changed, `docker://${reg.host}/pub/img:tampered`, [TLS, '--env', 'PATH=/usr/bin', '--label', 'org.example=1']);
  const r = verify(['--against', `docker://${reg.host}/pub/img:tampered`, TLS]);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `not reproduced: rebuilt ${published}, published ${other} (docker://${reg.host}/pub/img:tampered)`);
  assert.match(r.stdout, /layer 1: rebuilt sha256:[0-9a-f]{64} \(\d+ bytes\), published sha256:[0-9a-f]{64} \(\d+ bytes\)/);
  assert.match(r.stdout, /layer 1: the uncompressed content differs: diff_id rebuilt sha256:[0-9a-f]{64}, published sha256:[0-9a-f]{64}/);
  const json = verify(['--against', `docker://${reg.host}/pub/img:tampered`, TLS, '--json']);
  assert.equal(json.status, 1);
  const rec = JSON.parse(json.stdout) as { verdict: string; findings: Array<{ path: string }> };
  assert.equal(rec.verdict, 'not-reproduced');
  assert.deepEqual(rec.findings.map((f) => f.path).slice(0, 3), ['config.digest', 'layers[0].digest', 'layers[0].diffId']);
  // Then the diff engine's findings name the file that differs.
  const fileLevel = rec.findings.slice(3) as Array<{ path: string; message: string }>;
  assert.ok(fileLevel.length > 0 && fileLevel.every((f) => f.path.startsWith('diff.')), JSON.stringify(fileLevel));
  assert.ok(fileLevel.some((f) => f.message.includes('etc/hostname')), JSON.stringify(fileLevel));
});

test('a different config setting is reported field by field', () => {
  const r = runCli(['verify', '--rootfs', rootfs, '--source-date-epoch', EPOCH, '--env', 'PATH=/bin', '--label', 'org.example=1', '--against', `docker://${reg.host}/pub/img:v1`, TLS]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /config\.config\.Env: rebuilt \["PATH=\/bin"\], published \["PATH=\/usr\/bin"\]/);
  assert.doesNotMatch(r.stdout, /layer 1/);
});

test('--json records the inputs, both digests and the verdict; --archive keeps the published bytes as served', () => {
  const archive = join(work, 'archive');
  const r = verify(['--against', `docker://${reg.host}/pub/img:v1`, TLS, '--json', '--archive', archive]);
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout) as {
    verdict: string; tool: { name: string; version: string };
    inputs: { sourceDateEpoch: number; rootfsDigest: string | null; platform: string };
    rebuilt: { manifest: string; layers: Array<{ diffId: string }> };
    published: { manifest: string; reference: string; archive: string };
  };
  assert.equal(rec.verdict, 'reproduced');
  assert.equal(rec.tool.name, 'repro-image');
  assert.match(rec.tool.version, /^\d+\.\d+\.\d+/);
  assert.equal(rec.inputs.sourceDateEpoch, Number(EPOCH));
  assert.equal(rec.inputs.rootfsDigest, null);
  assert.equal(rec.inputs.platform, 'linux/amd64');
  assert.equal(rec.rebuilt.manifest, published);
  assert.equal(rec.published.manifest, published);
  assert.equal(rec.published.archive, archive);
  // the archive holds the manifest and config exactly as the registry served them
  for (const f of readdirSync(join(archive, 'blobs', 'sha256'))) assert.equal(sha256(readFileSync(join(archive, 'blobs', 'sha256', f))), `sha256:${f}`);
  assert.ok(readdirSync(join(archive, 'blobs', 'sha256')).includes(published.slice(7)));
  // the tag moves; the archive still proves the old digest, offline
  build(join(work, 'changed'), `docker://${reg.host}/pub/img:v1`, [TLS]);
  const moved = verify(['--against', `docker://${reg.host}/pub/img:v1`, TLS]);
  assert.equal(moved.status, 1);
  const again = verify(['--against', `oci:${archive}:v1`]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `reproduced ${published}\n`);
});

test('against an index: the image for --platform is the one compared; the archive keeps the index too', () => {
  const layout = join(work, 'multi');
  const { index, arm64 } = makeIndexLayout(work, layout);
  const c = runCli(['copy', `oci:${layout}:multi`, `docker://${reg.host}/pub/multi:v1`, TLS]);
  assert.equal(c.status, 0, c.stderr);
  const archive = join(work, 'multi-archive');
  const r = runCli(['verify', '--rootfs', join(work, 'rootfs-arm64'), '--source-date-epoch', EPOCH, '--platform', 'linux/arm64', '--compression', 'zstd',
    '--against', `docker://${reg.host}/pub/multi:v1`, TLS, '--json', '--archive', archive]);
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout) as { rebuilt: { manifest: string }; published: { index: string; manifest: string } };
  assert.equal(rec.rebuilt.manifest, arm64);
  assert.equal(rec.published.index, index);
  assert.ok(readdirSync(join(archive, 'blobs', 'sha256')).includes(index.slice(7)));
  const none = runCli(['verify', '--rootfs', rootfs, '--source-date-epoch', EPOCH, '--platform', 'linux/s390x', '--against', `docker://${reg.host}/pub/multi:v1`, TLS]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /the index has no image for linux\/s390x \(it has linux\/amd64, linux\/arm64\/v8\)/);
});

test('a tarball rootfs: the record holds its sha256', () => {
  const tarball = join(work, 'rootfs.tar');
  const t = spawnSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
  assert.equal(t.status, 0, t.stderr?.toString());
  const digest = build(tarball, `docker://${reg.host}/pub/tar:v1`, [TLS]);
  const r = runCli(['verify', '--rootfs', tarball, '--source-date-epoch', EPOCH, '--against', `docker://${reg.host}/pub/tar:v1`, TLS, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(r.stdout) as { inputs: { rootfsDigest: string }; rebuilt: { manifest: string } };
  assert.equal(rec.inputs.rootfsDigest, sha256(readFileSync(tarball)));
  assert.equal(rec.rebuilt.manifest, digest);
});

test('verify with a missing SPEC, or without --against or any input, fails with one clear line', () => {
  const r = runCli(['verify', join(work, 'missing.yaml'), '--against', `docker://${reg.host}/pub/img:v1`, TLS]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^repro-image: cannot read the spec .*missing\.yaml: no such file or directory\n$/);
  const both = runCli(['verify', 'a.yaml', '--rootfs', rootfs, '--against', `docker://${reg.host}/pub/img:v1`]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /unexpected argument "a\.yaml"/);
  const n = runCli(['verify', '--rootfs', rootfs]);
  assert.equal(n.status, 2);
  assert.match(n.stderr, /--against REF is required/);
});
