/**
 * Faults between us and a real registry, injected by a proxy: a dropped connection mid-blob or
 * mid-upload, 500 or 429 once, a truncated body, wrong bytes. Each either succeeds after a retry
 * with the right digest, or fails with a clear error and leaves no corrupt or partial layout.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { copy } from '../../../src/transports/copy.js';
import type { RegistryOptions } from '../../../src/transports/registry/client.js';
import { makeRootfs, startRegistry, tempDir, type Registry } from './harness.js';
import { FaultProxy } from './fault-proxy.js';
import { build, layoutDigest, runCliAsync, sha256, skopeo } from './images.js';

const FAST: RegistryOptions = { insecure: true, retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } };
let reg: Registry;
let proxy: FaultProxy;
let work: string;
let digest: string;
let layout: string;
let layerDigest: string;

before(async () => {
  reg = await startRegistry();
  proxy = new FaultProxy();
  await proxy.start(reg.host);
  work = tempDir('repro-faults-');
  const rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'faults', 400000);
  layout = join(work, 'src');
  digest = build(rootfs, `oci:${layout}:v1`);
  const m = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
  layerDigest = m.layers[0]!.digest;
  await copy(`oci:${layout}:v1`, `docker://${reg.host}/faults/img:v1`, { destinationRegistry: FAST });
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
beforeEach(() => proxy.clear());

async function pull(out: string): Promise<string> {
  const r = await copy(`docker://${proxy.host}/faults/img:v1`, `oci:${out}:v1`, { sourceRegistry: FAST });
  return r.digest;
}

function assertLayoutGood(out: string): void {
  assert.equal(layoutDigest(out, 'v1'), digest);
  for (const f of readdirSync(join(out, 'blobs', 'sha256'))) {
    assert.equal(sha256(readFileSync(join(out, 'blobs', 'sha256', f))), `sha256:${f}`, f);
  }
}

const BLOB_GET = /\/v2\/faults\/img\/blobs\/sha256:/;

test('a connection dropped mid-blob is resumed with a Range request; the digest is right', async () => {
  proxy.add({ method: 'GET', path: new RegExp(layerDigest), fault: 'drop', times: 1 });
  const out = join(work, 'drop');
  assert.equal(await pull(out), digest);
  assertLayoutGood(out);
  const gets = proxy.log.filter((l) => l.url.includes(layerDigest));
  assert.equal(gets[0]!.fault, 'drop');
  assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
});

test('a truncated body (short Content-Length) is completed with a Range request', async () => {
  proxy.add({ method: 'GET', path: new RegExp(layerDigest), fault: 'truncate', times: 1 });
  const out = join(work, 'truncate');
  assert.equal(await pull(out), digest);
  assertLayoutGood(out);
  assert.ok(proxy.log.some((l) => l.range !== undefined));
});

test('500 once on the manifest and 429 once on a blob are retried', async () => {
  proxy.add({ method: 'GET', path: /\/manifests\/v1$/, fault: 'status500', times: 1 });
  proxy.add({ method: 'GET', path: BLOB_GET, fault: 'status429', times: 1 });
  const out = join(work, 'status');
  assert.equal(await pull(out), digest);
  assertLayoutGood(out);
  assert.equal(proxy.log.filter((l) => l.fault).length, 2);
});

test('wrong bytes in a blob: E_DIGEST_MISMATCH naming the blob, exit 1, and no layout at all', async () => {
  proxy.add({ method: 'GET', path: new RegExp(layerDigest), fault: 'corrupt', times: 5 });
  const out = join(work, 'corrupt');
  const r = await runCliAsync(['copy', `docker://${proxy.host}/faults/img:v1`, `oci:${out}:v1`, '--tls-verify=false']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`blob ${layerDigest} has the wrong content \\(it hashes to sha256:[0-9a-f]{64}\\)`));
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('corrupt')), []);
});

test('wrong bytes into an existing layout: the layout keeps its index.json and gets no bad blob', async () => {
  const out = join(work, 'existing');
  await copy(`oci:${layout}:v1`, `oci:${out}:old`);
  const before = readFileSync(join(out, 'index.json'));
  rmSync(join(out, 'blobs', 'sha256', layerDigest.slice(7)));
  proxy.add({ method: 'GET', path: new RegExp(layerDigest), fault: 'corrupt', times: 5 });
  await assert.rejects(pull(out), (e: Error & { code?: string }) => e.code === 'E_DIGEST_MISMATCH');
  assert.deepEqual(readFileSync(join(out, 'index.json')), before);
  assert.equal(existsSync(join(out, 'blobs', 'sha256', layerDigest.slice(7))), false);
  assert.deepEqual(readdirSync(join(out, 'blobs', 'sha256')).filter((f) => f.startsWith('.')), []);
});

test('a manifest whose bytes do not match the registry\'s digest is refused', async () => {
  proxy.add({ method: 'GET', path: /\/manifests\/v1$/, fault: 'corrupt', times: 5 });
  const out = join(work, 'bad-manifest');
  const r = await runCliAsync(['inspect', `docker://${proxy.host}/faults/img:v1`, '--tls-verify=false']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the registry says the manifest is sha256:[0-9a-f]{64} but its content hashes to sha256:/);
  assert.equal(existsSync(out), false);
});

test('a connection that keeps dropping: exit 3 after the retries, naming the blob, no layout', async () => {
  proxy.add({ method: 'GET', path: new RegExp(layerDigest), fault: 'drop', times: 100 });
  const out = join(work, 'always-drop');
  const r = await runCliAsync(['copy', `docker://${proxy.host}/faults/img:v1`, `oci:${out}:v1`, '--tls-verify=false']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`faults/img@${layerDigest}: connection broke after \\d+ bytes.*\\(after 4 attempts\\)`));
  assert.equal(existsSync(out), false);
});

test('push: 429 on starting an upload, 500 on its PUT and on the manifest PUT are retried', async () => {
  proxy.add({ method: 'POST', path: /\/blobs\/uploads\/$/, fault: 'status429', times: 1 });
  proxy.add({ method: 'PUT', path: /\/blobs\/uploads\//, fault: 'status500', times: 1 });
  proxy.add({ method: 'PUT', path: /\/manifests\//, fault: 'status500', times: 1 });
  const r = await copy(`oci:${layout}:v1`, `docker://${proxy.host}/pushfaults/a:v1`, { destinationRegistry: FAST });
  assert.equal(r.digest, digest);
  assert.equal(sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/pushfaults/a:v1`])), digest);
  assert.equal(proxy.log.filter((l) => l.fault).length, 3);
});

test('push: a chunk dropped half-way is resumed from the offset the registry reports', async () => {
  proxy.add({ method: 'PATCH', path: /\/blobs\/uploads\//, fault: 'drop-upload', times: 1 });
  const r = await copy(`oci:${layout}:v1`, `docker://${proxy.host}/pushfaults/chunked:v1`, {
    destinationRegistry: { ...FAST, monolithicLimit: 1024, chunkSize: 100000 },
  });
  assert.equal(r.digest, digest);
  assert.ok(proxy.log.some((l) => l.fault === 'drop-upload'));
  assert.ok(proxy.log.some((l) => l.method === 'GET' && l.url.includes('/blobs/uploads/')), 'asked the registry for the upload status');
  const out = join(work, 'chunk-check');
  skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/pushfaults/chunked:v1`, `oci:${out}:v1`]);
  assertLayoutGood(out);
  assert.ok(statSync(join(out, 'blobs', 'sha256', layerDigest.slice(7))).size > 300000);
});

test('push: a monolithic upload dropped half-way starts again in a new session', async () => {
  proxy.add({ method: 'PUT', path: /\/blobs\/uploads\//, fault: 'drop-upload', times: 1 });
  const r = await copy(`oci:${layout}:v1`, `docker://${proxy.host}/pushfaults/mono:v1`, { destinationRegistry: FAST });
  assert.equal(r.digest, digest);
  assert.equal(sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/pushfaults/mono:v1`])), digest);
  assert.ok(proxy.log.filter((l) => l.method === 'POST').length >= 3, 'a new upload session for the dropped blob');
});

test('push: a blob the registry refuses for good stops the others at once, and the refusal is what is reported', async () => {
  const m = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as { config: { digest: string } };
  const hex = (d: string): string => d.slice('sha256:'.length);
  // The layer's upload hangs (the registry reads it and never answers); the config is refused,
  // once the layer's upload has started (whichever of the two the client sends first).
  proxy.add({ method: 'PUT', path: new RegExp(`digest=sha256(%3A|:)${hex(layerDigest)}`), fault: 'stall', times: 5 });
  proxy.add({ method: 'PUT', path: new RegExp(`digest=sha256(%3A|:)${hex(m.config.digest)}`), fault: 'status400', times: 5, after: 'stall' });
  const started = Date.now();
  const r = await runCliAsync(['copy', `oci:${layout}:v1`, `docker://${proxy.host}/pushfaults/refused:v1`, '--tls-verify=false']);
  const took = Date.now() - started;
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`pushfaults/refused@${m.config.digest}: the registry refused the blob: HTTP 400 \\(BLOB_UPLOAD_INVALID injected refusal\\)`));
  assert.ok(took < 10000, `the stalled layer upload was waited on for ${took} ms`);
  assert.ok(proxy.log.some((l) => l.fault === 'stall'), 'the layer upload had started');
  assert.equal(proxy.log.some((l) => l.url.includes('/manifests/')), false, 'no manifest was pushed');
});
