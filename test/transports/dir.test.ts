/**
 * dir:PATH, skopeo's directory format, read and written and cross-checked with skopeo: what we
 * write skopeo reads with every digest kept, and what skopeo writes (one image, or an index with
 * --all) we read; an existing dir: image is replaced, any other non-empty directory refused; a
 * corrupted blob is caught.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeRootfs, tempDir } from './registry/harness.js';
import { build, layoutDigest, makeIndexLayout, sha256, skopeo } from './registry/images.js';

let work: string;
let layout: string;
let digest: string;

before(() => {
  work = tempDir('repro-dir-');
  const rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'dir', 20000);
  layout = join(work, 'layout');
  digest = build(rootfs, `oci:${layout}:v1`);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('copy to dir: keeps the digest; skopeo reads it and copies it on unchanged', () => {
  const d = join(work, 'ours');
  const r = runCli(['copy', `oci:${layout}:v1`, `dir:${d}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digest);
  assert.equal(readFileSync(join(d, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
  assert.deepEqual(readdirSync(d).filter((f) => !/^[0-9a-f]{64}$/.test(f)).sort(), ['manifest.json', 'version']);
  assert.equal(sha256(skopeo(['inspect', '--raw', `dir:${d}`])), digest);
  const back = join(work, 'skopeo-back');
  skopeo(['copy', '-q', `dir:${d}`, `oci:${back}:v1`]);
  assert.equal(layoutDigest(back, 'v1'), digest);
  const inspected = runCli(['inspect', `dir:${d}`]);
  assert.equal(inspected.status, 0, inspected.stderr);
  assert.match(inspected.stdout, new RegExp(`Manifest: +${digest}`));
});

test('what skopeo writes to dir: we read, digests kept; build writes dir: directly', () => {
  const d = join(work, 'skopeo-dir');
  skopeo(['copy', '-q', `oci:${layout}:v1`, `dir:${d}`]);
  const r = runCli(['copy', `dir:${d}`, `oci:${join(work, 'from-skopeo')}:v1`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digest);
  const rootfs = join(work, 'rootfs');
  const built = join(work, 'built-dir');
  const b = runCli(['build', '-q', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', `dir:${built}`]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), digest);
  assert.equal(sha256(skopeo(['inspect', '--raw', `dir:${built}`])), digest);
});

test('a multi-platform index through dir: both ways (skopeo copy --all)', () => {
  const multi = join(work, 'multi');
  const { index, amd64, arm64 } = makeIndexLayout(work, multi);
  const ours = join(work, 'multi-dir');
  const r = runCli(['copy', `oci:${multi}:multi`, `dir:${ours}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), index);
  for (const m of [amd64, arm64]) assert.ok(existsSync(join(ours, `${m.slice(7)}.manifest.json`)), m);
  assert.equal(sha256(skopeo(['inspect', '--raw', `dir:${ours}`])), index);
  const back = join(work, 'multi-back');
  skopeo(['copy', '-q', '--all', `dir:${ours}`, `oci:${back}:multi`]);
  assert.equal(layoutDigest(back, 'multi'), index);
  const theirs = join(work, 'multi-skopeo');
  skopeo(['copy', '-q', '--all', `oci:${multi}:multi`, `dir:${theirs}`]);
  const c = runCli(['copy', `dir:${theirs}`, `oci:${join(work, 'multi-ours')}:m`]);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout.trim(), index);
  const one = runCli(['copy', '--platform', 'linux/arm64', `dir:${theirs}`, `oci:${join(work, 'multi-arm')}`]);
  assert.equal(one.stdout.trim(), arm64);
});

test('an existing dir: image is replaced; another non-empty directory is refused; a bad blob is caught', () => {
  const d = join(work, 'replace');
  assert.equal(runCli(['copy', `oci:${layout}:v1`, `dir:${d}`]).status, 0);
  writeFileSync(join(d, 'stale-extra'), 'x');
  assert.equal(runCli(['copy', `oci:${layout}:v1`, `dir:${d}`]).status, 0);
  assert.equal(existsSync(join(d, 'stale-extra')), false, 'the old image is gone');
  const other = join(work, 'not-an-image');
  mkdirSync(other);
  writeFileSync(join(other, 'precious'), 'keep me');
  const refused = runCli(['copy', `oci:${layout}:v1`, `dir:${other}`]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /holds no dir: image \(no version file\); refusing to replace it/);
  assert.equal(readFileSync(join(other, 'precious'), 'utf8'), 'keep me');
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.tmp-')), [], 'no staging left');
  // Flip a byte of the layer: inspect exits 1 naming the blob.
  const manifest = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { layers: Array<{ digest: string }> };
  const layer = join(d, manifest.layers[0]!.digest.slice(7));
  const bytes = readFileSync(layer);
  bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
  writeFileSync(layer, bytes);
  const bad = runCli(['inspect', `dir:${d}`]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, new RegExp(manifest.layers[0]!.digest));
  const noVersion = join(work, 'empty-dir-ref');
  mkdirSync(noVersion);
  assert.match(runCli(['inspect', `dir:${noVersion}`]).stderr, /not a dir: image \(cannot read its version file\)/);
});

test('a FIFO in place of a dir: blob, manifest.json or version is refused at once, not read forever', () => {
  const src = join(work, 'fifo-src');
  assert.equal(runCli(['copy', `oci:${layout}:v1`, `dir:${src}`]).status, 0);
  const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as { layers: Array<{ digest: string }> };
  const cases: Array<[string, RegExp]> = [
    [manifest.layers[0]!.digest.slice(7), /: blob sha256:[0-9a-f]{64} \([0-9a-f]{64}\) is not a regular file$/],
    ['manifest.json', /\/manifest\.json: a FIFO, not a regular file$/],
    ['version', /\/version: a FIFO, not a regular file$/],
  ];
  for (const [name, pattern] of cases) {
    const d = join(work, `fifo-${name.slice(0, 8)}`);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const f of readdirSync(src)) writeFileSync(join(d, f), readFileSync(join(src, f)));
    rmSync(join(d, name));
    assert.equal(spawnSync('mkfifo', [join(d, name)]).status, 0);
    const started = Date.now();
    const r = runCli(['copy', `dir:${d}`, `oci:${join(work, `fifo-out-${name.slice(0, 8)}`)}:v1`], { timeout: 20000 });
    assert.equal(r.status, 2, `${name}: exit ${r.status} after ${Date.now() - started} ms: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
  }
});

test('a dir: manifest.json or version too big to read whole is exit 2 before it is read (was read whole, or exit 3 past 2 GiB)', () => {
  const src = join(work, 'big-src');
  assert.equal(runCli(['copy', `oci:${layout}:v1`, `dir:${src}`]).status, 0);
  const cases: Array<[string, number, RegExp]> = [
    ['manifest.json', 3 * 2 ** 30, /\/manifest\.json: 3221225472 bytes, more than the 67108864 accepted$/],
    ['version', 1 << 20, /\/version: 1048576 bytes, more than the 4096 accepted$/],
  ];
  for (const [name, size, pattern] of cases) {
    const d = join(work, `big-${name}`);
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d);
    for (const f of readdirSync(src)) writeFileSync(join(d, f), readFileSync(join(src, f)));
    truncateSync(join(d, name), size);
    const r = runCli(['inspect', `dir:${d}`], { timeout: 20000 });
    assert.equal(r.status, 2, `${name}: exit ${r.status}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
  }
});
