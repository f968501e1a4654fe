/**
 * Round trips through a real registry (docker-registry, no auth): ours push → skopeo pull, skopeo
 * push → ours pull, ours → ours, and a multi-platform index copied intact; digests equal everywhere.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli } from '../../helpers/cli.js';
import { copy } from '../../../src/transports/copy.js';
import { makeRootfs, startRegistry, tempDir, type Registry } from './harness.js';
import { blobPath, build, layoutDigest, makeIndexLayout, sha256, skopeo } from './images.js';

let reg: Registry;
let work: string;
const TLS = '--tls-verify=false';

before(async () => {
  reg = await startRegistry();
  work = tempDir('repro-roundtrip-');
});
after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('build --output docker:// pushes; skopeo pulls the same manifest, config and layer bytes', () => {
  const rootfs = join(work, 'r1');
  makeRootfs(rootfs);
  const local = build(rootfs, `oci:${join(work, 'local1')}:v1`);
  const pushed = build(rootfs, `docker://${reg.host}/ours/one:v1`, [TLS]);
  assert.equal(pushed, local);
  const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/one:v1`]);
  assert.equal(sha256(raw), local);
  const pulled = join(work, 'skopeo-pulled');
  skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/ours/one:v1`, `oci:${pulled}:x`]);
  assert.equal(layoutDigest(pulled), local);
  for (const f of readdirSync(join(work, 'local1', 'blobs', 'sha256'))) {
    assert.deepEqual(readFileSync(join(pulled, 'blobs', 'sha256', f)), readFileSync(join(work, 'local1', 'blobs', 'sha256', f)), f);
  }
});

test('skopeo push, then our copy to a layout and inspect docker:// give the same digests', () => {
  const rootfs = join(work, 'r2');
  makeRootfs(rootfs, 'two');
  const local = build(rootfs, `oci:${join(work, 'local2')}:v2`, ['--compression', 'zstd']);
  skopeo(['copy', '--quiet', '--dest-tls-verify=false', `oci:${join(work, 'local2')}:v2`, `docker://${reg.host}/skopeo/two:v2`]);
  const remote = sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/skopeo/two:v2`]));
  const out = join(work, 'ours-pulled');
  const r = runCli(['copy', `docker://${reg.host}/skopeo/two:v2`, `oci:${out}:v2`, TLS]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), remote);
  assert.equal(layoutDigest(out, 'v2'), remote);
  const i = runCli(['inspect', `docker://${reg.host}/skopeo/two:v2`, TLS]);
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, new RegExp(`Manifest: +${remote}`));
  assert.match(i.stdout, /Verified: +3 blobs match/);
  // by digest as well as by tag
  const byDigest = runCli(['inspect', `docker://${reg.host}/skopeo/two@${remote}`, TLS, '--json']);
  assert.equal(byDigest.status, 0, byDigest.stderr);
  assert.equal((JSON.parse(byDigest.stdout) as { manifests: Array<{ descriptor: { digest: string } }> }).manifests[0]!.descriptor.digest, remote);
  // skopeo pushed what it read from our layout: the digest is ours
  assert.equal(remote, local);
});

test('ours push → ours pull (oci, oci-archive): digests equal; a second push skips blobs; another repository mounts them', async () => {
  const rootfs = join(work, 'r3');
  makeRootfs(rootfs, 'three');
  const local = build(rootfs, `oci:${join(work, 'local3')}:v3`);
  const first = await copy(`oci:${join(work, 'local3')}:v3`, `docker://${reg.host}/ours/three:v3`, { destinationRegistry: { insecure: true } });
  assert.equal(first.digest, local);
  assert.deepEqual(first.pushed, { exists: 0, mounted: 0, uploaded: 2 });
  const again = await copy(`oci:${join(work, 'local3')}:v3`, `docker://${reg.host}/ours/three:again`, { destinationRegistry: { insecure: true } });
  assert.deepEqual(again.pushed, { exists: 2, mounted: 0, uploaded: 0 });
  const mounted = await copy(`docker://${reg.host}/ours/three:v3`, `docker://${reg.host}/elsewhere/three:v3`, { sourceRegistry: { insecure: true }, destinationRegistry: { insecure: true } });
  assert.equal(mounted.digest, local);
  assert.deepEqual(mounted.pushed, { exists: 0, mounted: 2, uploaded: 0 });
  const out = join(work, 'pulled3');
  const pulled = await copy(`docker://${reg.host}/elsewhere/three:v3`, `oci:${out}:v3`, { sourceRegistry: { insecure: true } });
  assert.equal(pulled.digest, local);
  assert.equal(layoutDigest(out, 'v3'), local);
  const archive = join(work, 'pulled3.tar');
  const r = runCli(['copy', `docker://${reg.host}/ours/three:v3`, `oci-archive:${archive}:v3`, TLS]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha256(skopeo(['inspect', '--raw', `oci-archive:${archive}:v3`])), local);
  // the temporary spool beside the archive is gone
  assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('.pulled3.tar')), []);
});

test('chunked upload (PATCH with Content-Range, closing PUT) gives the same digest skopeo reads back', async () => {
  const rootfs = join(work, 'r4');
  makeRootfs(rootfs, 'four', 400000);
  const local = build(rootfs, `oci:${join(work, 'local4')}:v4`);
  const pushed = await copy(`oci:${join(work, 'local4')}:v4`, `docker://${reg.host}/ours/chunked:v4`, {
    destinationRegistry: { insecure: true, monolithicLimit: 1024, chunkSize: 64 << 10 },
  });
  assert.equal(pushed.digest, local);
  assert.equal(sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/chunked:v4`])), local);
  const out = join(work, 'skopeo4');
  skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/ours/chunked:v4`, `oci:${out}:x`]);
  assert.equal(layoutDigest(out), local);
  // registry to registry, chunked from a streamed (not file-backed) source
  const other = await copy(`docker://${reg.host}/ours/chunked:v4`, `docker://${reg.host}/chunked/copy:v4`, {
    sourceRegistry: { insecure: true },
    destinationRegistry: { insecure: true, monolithicLimit: 1024, chunkSize: 50000 },
  });
  assert.equal(other.digest, local);
});

test('a multi-platform index is copied intact: index bytes, every manifest, every blob', async () => {
  const layout = join(work, 'multi');
  const { index, amd64, arm64 } = makeIndexLayout(work, layout);
  const r = runCli(['copy', `oci:${layout}:multi`, `docker://${reg.host}/ours/multi:v1`, TLS]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), index);
  const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/multi:v1`]);
  assert.deepEqual(raw, readFileSync(blobPath(layout, index)));
  for (const d of [amd64, arm64]) {
    assert.equal(sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/multi@${d}`])), d);
  }
  // skopeo copies the whole index back out (--all) with the same digest
  const sk = join(work, 'multi-skopeo');
  skopeo(['copy', '--quiet', '--all', '--src-tls-verify=false', `docker://${reg.host}/ours/multi:v1`, `oci:${sk}:m`]);
  assert.equal(layoutDigest(sk), index);
  // ours back out, to a layout and to an oci-archive; inspect verifies every blob of both images
  const out = join(work, 'multi-pulled');
  const p = runCli(['copy', `docker://${reg.host}/ours/multi:v1`, `oci:${out}:m`, TLS, '--json']);
  assert.equal(p.status, 0, p.stderr);
  const pr = JSON.parse(p.stdout) as { digest: string; manifests: number; blobs: number };
  assert.equal(pr.digest, index);
  assert.equal(pr.manifests, 3);
  assert.equal(pr.blobs, 4);
  assert.equal(layoutDigest(out, 'm'), index);
  for (const f of readdirSync(join(out, 'blobs', 'sha256'))) assert.equal(sha256(readFileSync(join(out, 'blobs', 'sha256', f))), `sha256:${f}`);
  const i = runCli(['inspect', `oci:${out}:m`]);
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, /Verified: +7 blobs/);
  // one platform only
  const one = join(work, 'multi-arm64');
  const o = runCli(['copy', `docker://${reg.host}/ours/multi:v1`, `oci:${one}`, TLS, '--platform', 'linux/arm64']);
  assert.equal(o.status, 0, o.stderr);
  assert.equal(o.stdout.trim(), arm64);
  assert.equal(layoutDigest(one), arm64);
  // inspect --raw and --config: the exact bytes as served (no layer read), as skopeo prints them
  const inspectBytes = (args: string[]): Buffer => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', ...args, TLS]);
    assert.equal(r.status, 0, r.stderr.toString());
    return r.stdout;
  };
  const ref = `docker://${reg.host}/ours/multi:v1`;
  assert.deepEqual(inspectBytes(['--raw', ref]), raw);
  assert.equal(sha256(inspectBytes(['--raw', '--platform', 'linux/arm64', ref])), arm64);
  assert.deepEqual(inspectBytes(['--config', '--platform', 'linux/arm64', ref]),
    skopeo(['inspect', '--config', '--raw', '--override-arch', 'arm64', '--tls-verify=false', ref]));
  assert.deepEqual(inspectBytes(['--config', `docker://${reg.host}/ours/multi@${amd64}`]), skopeo(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${reg.host}/ours/multi@${amd64}`]));
  const both = runCli(['inspect', '--raw', '--config', ref, TLS]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--raw and --config print different documents/);
  const noImage = runCli(['inspect', '--config', '--platform', 'linux/s390x', ref, TLS]);
  assert.equal(noImage.status, 2, noImage.stderr);
  assert.match(noImage.stderr, /has no image for linux\/s390x \(it has linux\/amd64, linux\/arm64\/v8\)/);
  // docker-archive holds one image: an index needs --platform, and nothing is written without it
  const da = join(work, 'multi.tar');
  const bad = runCli(['copy', `docker://${reg.host}/ours/multi:v1`, `docker-archive:${da}`, TLS]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--platform/);
  assert.equal(existsSync(da), false);
});

test('bad references and unreachable registries: one line, exit 2 or 3, nothing written', async () => {
  const r1 = runCli(['copy', 'docker://Bad_Host/UPPER/case', 'oci:/tmp/never']);
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /^repro-image: docker:\/\/Bad_Host\/UPPER\/case: invalid/);
  const r2 = runCli(['inspect', `docker://${reg.host}/ours/one@sha256:${'0'.repeat(64)}`, TLS]);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /no such manifest.*MANIFEST_UNKNOWN/);
  const r3 = runCli(['inspect', `docker://${reg.host}/ours/one:v1`]);
  assert.equal(r3.status, 3);
  assert.match(r3.stderr, /--tls-verify=false/);
  const out = join(work, 'never');
  const r4 = runCli(['copy', 'docker://127.0.0.1:1/x/y:z', `oci:${out}`, TLS]);
  assert.equal(r4.status, 3);
  assert.match(r4.stderr, /127\.0\.0\.1:1/);
  assert.equal(existsSync(out), false);
  assert.equal(r4.stderr.trim().split('\n').filter((l) => l.startsWith('repro-image:')).length, 1);
});
