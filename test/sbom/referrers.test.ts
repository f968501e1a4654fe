/**
 * SBOMs as OCI 1.1 referrers on a real registry (Debian's docker-registry, distribution 2.8, on
 * 127.0.0.1: no referrers API, so the sha256-HEX fallback tag): `build --sbom` pushes the image
 * with the digest it has without an SBOM, `inspect --referrers` lists the SBOM, skopeo still
 * copies the image, `copy --all` carries the SBOM to a layout and back to another repository, an
 * oci-archive holds it as a second artifact, and a docker-archive, which cannot, is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';

let dir: string;
let registry: StartedRegistry;
let root: string;
const EPOCH = '1700000000';
const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { SOURCE_DATE_EPOCH: undefined } });
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Listing { subjects: Array<{ digest: string; via: string; referrers: Array<{ digest: string; artifactType: string }> }> }

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sbom-referrers-'));
  registry = await startRegistry({ kind: 'none' });
  // A root filesystem with a one-package dpkg database.
  root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/hello'), 'hi\n');
  writeFileSync(join(root, 'var/lib/dpkg/status'), 'Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: a greeting\n');
  writeFileSync(join(root, 'var/lib/dpkg/info/hello.list'), '/.\n/usr\n/usr/bin\n/usr/bin/hello\n');
  writeFileSync(join(root, 'var/lib/dpkg/info/hello.md5sums'), '9a0364b9e99bb480dd25e1f0284c8555  usr/bin/hello\n');
});
after(async () => {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('build --sbom to a registry: the image digest is unchanged, the SBOM is listed through the fallback tag, skopeo copies the image', async () => {
  const plain = (await ok(['build', '--rootfs', root, '--output', `oci:${join(dir, 'plain')}:t`, '--source-date-epoch', EPOCH])).trim();
  const ref = `docker://${registry.host}/sbom/hello:v1`;
  const b = await ok(['build', '--rootfs', root, '--output', ref, '--tls-verify=false', '--source-date-epoch', EPOCH, '--sbom', 'spdx-json']);
  assert.equal(b.trim(), plain);
  const listing = JSON.parse(await ok(['inspect', '--referrers', '--json', ref, '--tls-verify=false'])) as Listing;
  assert.equal(listing.subjects[0]!.digest, plain);
  assert.equal(listing.subjects[0]!.via, 'fallback-tag', "distribution 2.8 has no referrers API");
  assert.deepEqual(listing.subjects[0]!.referrers.map((r) => r.artifactType), ['application/spdx+json']);
  // The fallback tag is an index of the referrers, under sha256-HEX.
  const tag = await ok(['inspect', '--raw', `docker://${registry.host}/sbom/hello:${plain.replace(':', '-')}`, '--tls-verify=false']);
  assert.equal((JSON.parse(tag) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest, listing.subjects[0]!.referrers[0]!.digest);
  // The image as published has the digest it has without an SBOM; skopeo reads it as before.
  assert.equal((await ok(['inspect', '--raw', ref, '--tls-verify=false'])).length > 0, true);
  const sk = spawnSync('skopeo', ['copy', '--src-tls-verify=false', ref, `oci:${join(dir, 'skopeo')}:t`], { encoding: 'utf8' });
  assert.equal(sk.status, 0, sk.stderr);
  const digest = spawnSync('skopeo', ['inspect', '--format', '{{.Digest}}', `oci:${join(dir, 'skopeo')}:t`], { encoding: 'utf8' });
  assert.equal(digest.stdout.trim(), plain);
  // The SBOM pushed is the one `sbom` makes of the image.
  const sbomDigest = (await ok(['sbom', ref, '--tls-verify=false', '--output', join(dir, 'pushed.spdx.json')])).trim();
  const manifest = JSON.parse(await ok(['inspect', '--raw', `docker://${registry.host}/sbom/hello@${listing.subjects[0]!.referrers[0]!.digest}`, '--tls-verify=false'])) as { layers: Array<{ digest: string }>; subject: { digest: string } };
  assert.equal(manifest.layers[0]!.digest, sbomDigest);
  assert.equal(manifest.subject.digest, plain);
});

test('copy --all carries referrers registry → layout → another repository; without --all they stay behind', async () => {
  const ref = `docker://${registry.host}/sbom/hello:v1`;
  await ok(['copy', '--all', ref, `oci:${join(dir, 'copied')}:t`, '--tls-verify=false']);
  const local = JSON.parse(await ok(['inspect', '--referrers', '--json', `oci:${join(dir, 'copied')}:t`])) as Listing;
  assert.equal(local.subjects[0]!.via, 'index.json');
  assert.equal(local.subjects[0]!.referrers.length, 1);
  await ok(['copy', ref, `oci:${join(dir, 'without')}:t`, '--tls-verify=false']);
  assert.equal((JSON.parse(await ok(['inspect', '--referrers', '--json', `oci:${join(dir, 'without')}:t`])) as Listing).subjects[0]!.referrers.length, 0);
  const other = `docker://${registry.host}/sbom/other:v1`;
  const c = JSON.parse(await ok(['copy', '--all', `oci:${join(dir, 'copied')}:t`, other, '--tls-verify=false', '--json'])) as { digest: string; referrers: unknown[] };
  assert.equal(c.referrers.length, 1);
  const there = JSON.parse(await ok(['inspect', '--referrers', '--json', other, '--tls-verify=false'])) as Listing;
  assert.deepEqual(there.subjects[0]!.referrers.map((r) => r.digest), local.subjects[0]!.referrers.map((r) => r.digest));
});

test('an oci-archive holds the SBOM as a second artifact; a docker-archive is refused before anything is written', async () => {
  const archive = join(dir, 'img.tar');
  const digest = (await ok(['build', '--rootfs', root, '--output', `oci-archive:${archive}:t`, '--source-date-epoch', EPOCH, '--sbom', 'cyclonedx-json'])).trim();
  const listing = JSON.parse(await ok(['inspect', '--referrers', '--json', `oci-archive:${archive}:t`])) as Listing;
  assert.equal(listing.subjects[0]!.digest, digest);
  assert.deepEqual(listing.subjects[0]!.referrers.map((r) => r.artifactType), ['application/vnd.cyclonedx+json']);
  // The archive still reads as one image without a tag.
  assert.equal((await ok(['inspect', '--raw', `oci-archive:${archive}`])).length > 0, true);
  const r = await run(['build', '--rootfs', root, '--output', `docker-archive:${join(dir, 'd.tar')}`, '--source-date-epoch', EPOCH, '--sbom', 'spdx-json']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--sbom needs an output that holds OCI artifacts/);
  const bad = await run(['build', '--rootfs', root, '--output', `oci:${join(dir, 'x')}:t`, '--sbom', 'spdx-tag-value', '--source-date-epoch', EPOCH]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--sbom: expected spdx-json or cyclonedx-json, got "spdx-tag-value"/);
});
