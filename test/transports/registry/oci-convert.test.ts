/**
 * Issue 13, item 11: `copy docker-archive:X oci:DIR:t` stored a Docker schema 2 manifest in an OCI
 * layout, which umoci cannot read. An OCI destination now gets OCI media types (config and layer
 * bytes unchanged, the manifest digest changes and a warning says so); registries keep the exact
 * Docker bytes. Checked with the real umoci and skopeo and a real registry.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalBytes } from '../../../src/model/canonical-json.js';
import { MediaType } from '../../../src/model/media-types.js';
import { toOciGraph } from '../../../src/transports/oci-convert.js';
import { bytesSource } from '../../../src/image/image.js';
import { runCli } from '../../helpers/cli.js';
import { makeRootfs, startRegistry, tempDir, type Registry } from './harness.js';
import { blobPath, build, layoutDigest, sha256, skopeo } from './images.js';

let reg: Registry;
let work: string;
const TLS = '--tls-verify=false';

before(async () => {
  reg = await startRegistry();
  work = tempDir('repro-oci-convert-');
});
after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface ManifestJson { mediaType: string; config: { mediaType: string; digest: string }; layers: Array<{ mediaType: string; digest: string }> }

test('item 11: copy docker-archive → oci: converts to OCI media types, says the digest changed, and umoci reads it', () => {
  const rootfs = join(work, 'r');
  makeRootfs(rootfs);
  const archive = join(work, 'img.tar');
  build(rootfs, `docker-archive:${archive}:example/app:v1`);
  const layout = join(work, 'converted');
  const r = runCli(['copy', `docker-archive:${archive}`, `oci:${layout}:v1`, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { digest: string; digestKept: boolean; mediaType: string; converted: { from: string; to: string } };
  assert.equal(result.digestKept, false);
  assert.equal(result.mediaType, MediaType.ociManifest);
  assert.equal(result.converted.to, result.digest);
  assert.match(r.stderr, new RegExp(`holds OCI media types: the Docker manifest was converted, so its digest changed from ${result.converted.from} to ${result.digest}`));
  assert.equal(layoutDigest(layout), result.digest);
  const m = JSON.parse(readFileSync(blobPath(layout, result.digest), 'utf8')) as ManifestJson;
  assert.equal(m.mediaType, MediaType.ociManifest);
  assert.equal(m.config.mediaType, MediaType.ociConfig);
  assert.ok(m.layers.every((l) => l.mediaType.startsWith('application/vnd.oci.image.layer.v1.tar')));
  const umoci = spawnSync('umoci', ['stat', '--image', `${layout}:v1`], { encoding: 'utf8' });
  assert.equal(umoci.status, 0, umoci.stderr);
  assert.equal(runCli(['inspect', `oci:${layout}:v1`]).status, 0);
  // The same for an oci-archive destination.
  const ociArchive = join(work, 'converted.tar');
  const a = runCli(['copy', `docker-archive:${archive}`, `oci-archive:${ociArchive}:v1`, '--json']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal((JSON.parse(a.stdout) as { digest: string }).digest, result.digest, 'the conversion is deterministic');
  skopeo(['inspect', `oci-archive:${ociArchive}:v1`]);
});

test('item 11: registries keep the exact Docker bytes; a registry → oci: copy converts', () => {
  const rootfs = join(work, 'r2');
  makeRootfs(rootfs, 'two');
  const archive = join(work, 'img2.tar');
  build(rootfs, `docker-archive:${archive}:example/two:v1`);
  const pushed = runCli(['copy', `docker-archive:${archive}`, `docker://${reg.host}/conv/two:v1`, TLS]);
  assert.equal(pushed.status, 0, pushed.stderr);
  const raw = skopeo(['inspect', '--raw', TLS, `docker://${reg.host}/conv/two:v1`]);
  assert.equal((JSON.parse(raw.toString('utf8')) as ManifestJson).mediaType, MediaType.dockerManifest);
  assert.equal(sha256(raw), pushed.stdout.trim());
  // Registry to registry: the exact bytes, the same digest.
  const again = runCli(['copy', `docker://${reg.host}/conv/two:v1`, `docker://${reg.host}/conv/copy:v1`, TLS]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), sha256(raw));
  assert.ok(skopeo(['inspect', '--raw', TLS, `docker://${reg.host}/conv/copy:v1`]).equals(raw));
  assert.doesNotMatch(again.stderr, /converted/);
  // Registry to a layout: converted, like skopeo does.
  const layout = join(work, 'from-registry');
  const c = runCli(['copy', TLS, `docker://${reg.host}/conv/two:v1`, `oci:${layout}:v1`]);
  assert.equal(c.status, 0, c.stderr);
  assert.notEqual(c.stdout.trim(), sha256(raw));
  assert.match(c.stderr, /the Docker manifest was converted/);
  assert.equal(spawnSync('umoci', ['stat', '--image', `${layout}:v1`]).status, 0);
});

test('item 11: a Docker manifest list becomes an OCI index over the converted manifests, every other field kept', () => {
  const layer = { mediaType: MediaType.dockerLayerGzip, digest: sha256('layer'), size: 5, urls: ['https://x.invalid/l'] };
  const config = { mediaType: MediaType.dockerConfig, digest: sha256('config'), size: 6 };
  const child = canonicalBytes({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers: [layer], 'x-unknown': { a: 1 } });
  const childDesc = { mediaType: MediaType.dockerManifest, digest: sha256(child) as `sha256:${string}`, size: child.length };
  const list = canonicalBytes({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [{ ...childDesc, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }], 'x-top': true });
  const listDesc = { mediaType: MediaType.dockerManifestList, digest: sha256(list) as `sha256:${string}`, size: list.length };
  const c = toOciGraph({
    root: listDesc,
    documents: [{ descriptor: childDesc, bytes: child }, { descriptor: listDesc, bytes: list }],
    blobs: [{ descriptor: layer as never, source: bytesSource(Buffer.from('layer')) }, { descriptor: config as never, source: bytesSource(Buffer.from('config')) }],
  }, 'test');
  const [newChild, newList] = c.graph.documents;
  const m = JSON.parse(newChild!.bytes.toString()) as Record<string, unknown>;
  assert.deepEqual(m, { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { ...config, mediaType: MediaType.ociConfig }, layers: [{ ...layer, mediaType: MediaType.ociLayerGzip }], 'x-unknown': { a: 1 } });
  const idx = JSON.parse(newList!.bytes.toString()) as { manifests: Array<Record<string, unknown>>; [k: string]: unknown };
  assert.equal(idx['mediaType'], MediaType.ociIndex);
  assert.equal(idx['x-top'], true);
  assert.deepEqual(idx.manifests[0], { mediaType: MediaType.ociManifest, digest: newChild!.descriptor.digest, size: newChild!.bytes.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } });
  assert.equal(c.to, newList!.descriptor.digest);
  assert.equal(c.graph.root.mediaType, MediaType.ociIndex);
  assert.deepEqual(c.graph.blobs.map((b) => b.descriptor.digest), [layer.digest, config.digest], 'blob digests unchanged');
  // A Docker type with no OCI equivalent is refused with a hint.
  const odd = canonicalBytes({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config, layers: [{ ...layer, mediaType: 'application/vnd.docker.plugin.v1+json' }] });
  const oddDesc = { mediaType: MediaType.dockerManifest, digest: sha256(odd) as `sha256:${string}`, size: odd.length };
  assert.throws(() => toOciGraph({ root: oddDesc, documents: [{ descriptor: oddDesc, bytes: odd }], blobs: [] }, 'dest'),
    /dest: manifest sha256:[0-9a-f]+: the Docker media type application\/vnd\.docker\.plugin\.v1\+json has no OCI equivalent; copy it to a registry or a docker-archive/);
});
