/**
 * `build --containerfile --compat podman` against real podman's bytes: every shape of the podman
 * ground truth (test/golden/podman/, recorded with podman 5.8.6 / buildah 1.43.2 and checked
 * again in CI by test/podman/ground-truth.test.ts) is built by our builder from the same generated
 * context, and its config, every layer's diff_id and the stored (uncompressed) manifest digest
 * must be podman's. No podman is needed here. The Debian shapes need REPRO_DEBIAN_ROOTFS
 * (.ci/debian-rootfs.sh's tarball, which .ci/run makes) and the tarball the vectors were recorded
 * with; otherwise they skip and say why. The shapes FROM the Debian base are built a second time
 * with the store of unpacked images (their stage roots then are overlays over the base's tree,
 * as root where overlay mounts work): the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildContainerfile, LayerNotKept, withPodmanBuild, type ContainerfileBuildResult } from '../../src/pipeline/containerfile/build.js';
import type { PodmanImage } from '../../src/pipeline/containerfile/podman-image.js';
import { UnpackedStore } from '../../src/pipeline/containerfile/unpacked-store.js';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { mountsBelow } from '../../src/fs/mounts.js';
import { GT_BASE_IMAGE, writeContext, type InputRecord, type Shape } from '../helpers/podman-contexts.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '../../../test/golden/podman');

interface DriverResult {
  config: { digest: string; json: string };
  layers: Array<{ diffId: string; size: number }>;
  localManifestDigest: string;
}
interface Vector {
  sourceDateEpoch: number;
  inputs: InputRecord[];
  overlay: DriverResult;
  vfs: DriverResult | 'same as overlay';
}

const vector = (shape: Shape): Vector => JSON.parse(readFileSync(join(GOLDEN, `${shape}.json`), 'utf8')) as Vector;
const work = mkdtempSync(join(tmpdir(), 'cf-podman-'));
mkdirSync(join(work, 'tmp'));
const debianTar = process.env['REPRO_DEBIAN_ROOTFS'] || undefined;
/** The debian-base image we built, for the shapes FROM it (as podman's local store holds it). */
let debianBase: string | undefined;

async function build(shape: Shape, t: { skip: (why: string) => void }, unpacked?: UnpackedStore): Promise<{ r: ContainerfileBuildResult; v: Vector; out: string } | undefined> {
  const v = vector(shape);
  const needsDebian = !['scratch-add', 'instructions'].includes(shape);
  if (needsDebian && !debianTar) {
    t.skip('REPRO_DEBIAN_ROOTFS is not set: .ci/run makes it with .ci/debian-rootfs.sh');
    return undefined;
  }
  const ctx = join(work, shape, 'ctx');
  const inputs = writeContext(shape, ctx, debianTar);
  const moved = inputs.filter((i) => v.inputs.find((w) => w.path === i.path)?.sha256 !== i.sha256).map((i) => i.path);
  if (moved.length > 0) {
    t.skip(`the generated inputs are not the ones the vector was recorded with (${moved.join(', ')}): the Debian mirror has moved on; record again (test/podman)`);
    return undefined;
  }
  if (shape !== 'debian-base' && needsDebian && debianBase === undefined) {
    t.skip('the debian-base shape did not build, and this one starts FROM it');
    return undefined;
  }
  const out = join(work, shape, unpacked ? 'out-unpacked' : 'out');
  const r = await buildContainerfile({
    ...(unpacked ? { unpacked } : {}),
    containerfile: join(ctx, 'Containerfile'),
    compat: 'podman',
    sourceDateEpoch: v.sourceDateEpoch,
    output: `oci:${out}:t`,
    compression: 'none',
    // Its own temp dir: what is mounted there is this build's (other tests may run beside it).
    tmpDir: join(work, 'tmp'),
    ...(debianBase ? { baseImages: { [GT_BASE_IMAGE]: debianBase } } : {}),
  });
  return { r, v, out };
}

function assertPodman(shape: Shape, got: { r: ContainerfileBuildResult; v: Vector; out: string }): void {
  const { r, v, out } = got;
  // The vfs driver's bytes (the naive diff): "same as overlay" for every shape but run-diff.
  const want = v.vfs === 'same as overlay' ? v.overlay : v.vfs;
  const config = readFileSync(join(out, 'blobs/sha256', r.config.digest.slice(7)), 'utf8');
  assert.equal(config, want.config.json, `${shape}: the config bytes`);
  assert.deepEqual(r.layers.map((l) => [l.diffId, l.uncompressedSize]), want.layers.map((l) => [l.diffId, l.size]), `${shape}: the layers`);
  assert.equal(r.storedManifestDigest, want.localManifestDigest, `${shape}: podman's stored manifest`);
  // With --compression none our manifest is that stored manifest, byte for byte.
  assert.equal(r.manifest.digest, want.localManifestDigest);
}

test('FROM scratch, ADD of the hard-case archive, LABEL/ENV/CMD: podman\'s bytes', async (t) => {
  const got = await build('scratch-add', t);
  if (got) assertPodman('scratch-add', got);
});

test('ARG, ADD .tar.gz, COPY --chown --chmod, xattrs from the context, every metadata instruction: podman\'s bytes', async (t) => {
  const got = await build('instructions', t);
  if (got) assertPodman('instructions', got);
});

test('the Debian base (a 145 MB ADD): podman\'s bytes', async (t) => {
  const got = await build('debian-base', t);
  if (!got) return;
  assertPodman('debian-base', got);
  debianBase = `oci:${got.out}:t`;
});

test('multi-stage: GNU tar under RUN (runc), then FROM scratch + COPY --from: podman\'s bytes', async (t) => {
  const got = await build('multi-stage', t);
  if (got) assertPodman('multi-stage', got);
});

test('RUN layers as the naive diff: deletions, recreated directories, type changes, chmod/chown/touch/xattr-only changes, a RUN that changes nothing, ARG SOURCE_DATE_EPOCH: podman\'s bytes', async (t) => {
  const got = await build('run-diff', t);
  if (got) assertPodman('run-diff', got);
});

test('Arch Linux\'s Dockerfile.repro shape (LABELs, COPY --from, RUN ldconfig && sed && rm, ENV, CMD): podman\'s bytes', async (t) => {
  const got = await build('arch-like', t);
  if (got) assertPodman('arch-like', got);
});

// One store for both: the first fills it with the Debian base's tree, the second reads it.
const store = new UnpackedStore(join(work, 'cache'), 'test');
for (const shape of ['run-diff', 'arch-like'] as const) {
  test(`${shape} with the base's tree from the store of unpacked images (overlay stage roots): podman's bytes`, async (t) => {
    if (!overlayAvailable()) return t.skip('overlay mounts need root and the overlay file system');
    const got = await build(shape, t, store);
    if (!got) return;
    assertPodman(shape, got);
    assert.deepEqual(mountsBelow(join(work, 'tmp')), [], `${shape}: nothing left mounted`);
  });
}

/**
 * `withPodmanBuild` of `shape` in a scratch directory of its own under work/NAME: `use` gets the
 * image, checked against the shape's vector (config bytes, diff_ids and sizes, stored manifest)
 * and with no layer tar in the scratch directory.
 */
async function unwritten<T>(shape: Shape, name: string, how: { hashOnly?: boolean }, use: (image: PodmanImage, dir: string) => Promise<T>): Promise<T> {
  const v = vector(shape);
  const ctx = join(work, name, 'ctx');
  writeContext(shape, ctx);
  const scratch = join(work, name, 'tmp');
  mkdirSync(scratch);
  const tars = (): string[] => (readdirSync(scratch, { recursive: true }) as string[]).filter((f) => /(^|\/)layer-\d+\.tar/.test(f));
  const r = await withPodmanBuild({ containerfile: join(ctx, 'Containerfile'), sourceDateEpoch: v.sourceDateEpoch, tmpDir: scratch }, async (image) => {
    assert.equal(image.config.bytes.toString(), v.overlay.config.json);
    assert.deepEqual(image.layers.map((l) => [l.diffId, l.size]), v.overlay.layers.map((l) => [l.diffId, l.size]));
    assert.equal(image.manifest.digest, v.overlay.localManifestDigest);
    assert.deepEqual(tars(), [], `${shape}: no layer tar was written`);
    return use(image, join(work, name));
  }, how);
  assert.deepEqual((readdirSync(scratch, { recursive: true }) as string[]).filter((f) => f.includes('repro-image-containerfile-')), [], 'the scratch directory is removed');
  return r;
}

test('without an output (verify): podman\'s digests with the last layer only hashed, and the same image written on demand', async () => {
  const v = vector('scratch-add');
  // The one layer (the target stage's last) is hashed, not written, until the image is.
  const out = join(work, 'hash-only', 'out');
  const written = await unwritten('scratch-add', 'hash-only', {}, (image) => image.write({ transport: 'oci', path: out }, { compression: 'none' }));
  assert.equal(written.manifest.digest, v.overlay.localManifestDigest);
  assert.equal(readFileSync(join(out, 'blobs/sha256', written.config.digest.slice(7)), 'utf8'), v.overlay.config.json);
});

test('hashOnly: podman\'s digests of a target stage of three layers, none of them written; writing the image is refused', async () => {
  await unwritten('instructions', 'hash-all', { hashOnly: true }, async (image, dir) => {
    await assert.rejects(image.write({ transport: 'oci', path: join(dir, 'out') }, { compression: 'none' }), LayerNotKept);
  });
});

test.after(() => rmSync(work, { recursive: true, force: true }));
