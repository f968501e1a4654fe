/**
 * `build --output docker-archive:…` (issue 15, defect 1): a docker-archive stores no manifest, so
 * the annotations are lost and the OCI manifest digest exists nowhere. The build says so (a
 * warning naming the annotations, `dockerArchive` in --json) and prints the digest its readers
 * see: skopeo's `inspect --raw` and podman's `image inspect` Digest after `podman load`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testStore, type TestStore } from '../helpers/podman.js';

let dir: string;
let rootfs: string;
let store: TestStore;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'docker-archive-build-'));
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/motd'), 'docker-archive\n');
  store = testStore();
});

after(() => {
  store?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('build to docker-archive warns that annotations are lost and prints the digest skopeo and podman see', () => {
  const seen = new Set<string>();
  for (const compression of ['gzip', 'zstd', 'none']) {
    const file = join(dir, `${compression}.tar`);
    const r = runCli(['build', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--compression', compression,
      '--annotation', 'org.example.team=infra', '--output', `docker-archive:${file}:example/img:${compression}`, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      manifest: { digest: string; mediaType: string }; config: { digest: string }; warnings: string[];
      dockerArchive: { manifestStored: boolean; builtManifest: { digest: string }; droppedAnnotations: Record<string, string> };
    };
    assert.equal(j.dockerArchive.manifestStored, false);
    assert.deepEqual(Object.keys(j.dockerArchive.droppedAnnotations).sort(), ['org.example.team', 'org.opencontainers.image.created']);
    assert.notEqual(j.dockerArchive.builtManifest.digest, j.manifest.digest);
    assert.equal(j.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(j.warnings.length, 1);
    assert.match(j.warnings[0]!, /stores no manifest, so not its annotations \(org\.example\.team, org\.opencontainers\.image\.created\)/);
    assert.match(r.stderr, /^warning: docker-archive:.*org\.example\.team/m);
    // skopeo makes up the manifest it reads: its digest is the one the build printed.
    const raw = spawnSync('skopeo', ['inspect', '--raw', `docker-archive:${file}`], { maxBuffer: 1 << 20 });
    assert.equal(raw.status, 0, raw.stderr?.toString());
    assert.equal(sha256(raw.stdout), j.manifest.digest, compression);
    seen.add(j.manifest.digest);
    // podman load: the image's Digest is that one too, its ID the config's, and no annotation survived.
    const loaded = store.podman(['load', '--input', file]);
    assert.match(loaded.stdout, new RegExp(`Loaded image: localhost/example/img:${compression}`));
    const [id, digest, annotations] = store.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}} {{json .Annotations}}', `localhost/example/img:${compression}`]).stdout.trim().split(' ');
    assert.equal(`sha256:${id}`, j.config.digest);
    assert.equal(digest, j.manifest.digest);
    assert.equal(annotations, '{}');
  }
  // The readers decompress: the compression does not change what they see.
  assert.equal(seen.size, 1);
  // Plain output: the digest the readers see, and the warning.
  const plain = runCli(['build', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', `docker-archive:${join(dir, 'plain.tar')}`]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, `${[...seen][0]}\n`);
  assert.match(plain.stderr, /^warning: .*a docker-archive stores no manifest, so not its annotation \(org\.opencontainers\.image\.created\) either; skopeo and podman read it as manifest sha256:[0-9a-f]{64} \(made up over the uncompressed layers\), image ID sha256:[0-9a-f]{64}$/m);
});
