/**
 * Ground truth from real podman: builds each shape of test/helpers/podman-contexts.ts with podman
 * (from the Debian sid root of .ci/podman-root.sh, run through .ci/podman), pushes it to an `oci:`
 * directory and to a real docker-registry on 127.0.0.1, and checks that every byte podman produced
 * (config, uncompressed layers, local, `oci:` and registry manifests) is what
 * test/golden/podman/<shape>.json recorded, so that a podman or buildah update that changes its
 * output is noticed. It also checks, on every run, the relations the implementation relies on:
 * each pushed gzip layer decompresses to its diff_id, the registry gets the `oci:` manifest's
 * bytes, and the local manifest is the pushed one with uncompressed layer descriptors.
 *
 * Then `verify --containerfile --compat podman` proves what podman pushed (the hard-case scratch
 * image and the Arch Linux Dockerfile.repro shape, from the `oci:` directory and from the
 * registry) at the digest level with no SOURCE_DATE_EPOCH given (the published `created` is
 * used); a byte changed in the context, a layer that decompresses to other bytes and a gzip layer
 * with trailing garbage are each exit 1, saying what failed. These run on the ground truth's own
 * pushes (podman builds each shape once per run).
 *
 * Needs root and REPRO_PODMAN_ROOT (the root's path; .ci/run sets it); the shapes built on Debian
 * also need REPRO_DEBIAN_ROOTFS (.ci/debian-rootfs.sh's tarball). Without them it skips and says
 * why. REPRO_PODMAN_RECORD=1 writes the vectors instead of comparing (review the diff before
 * committing: it is podman's output, not ours).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { runCliAsync } from '../helpers/cli.js';
import { GT_BASE_IMAGE, GT_EPOCH, SHAPES, writeContext, type InputRecord, type Shape } from '../helpers/podman-contexts.js';
import { startRegistry, type Registry } from '../transports/registry/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: the compiled test lives in dist/test/podman/. */
const REPO = join(here, '../../..');
const GOLDEN = join(REPO, 'test/golden/podman');
const PODMAN = join(REPO, '.ci/podman');
const PODMAN_EXEC = join(REPO, '.ci/podman-exec');
const RECORD = process.env.REPRO_PODMAN_RECORD === '1';

/** The flags of archlinux-docker's REPRO.md, plus --network=none (no netavark setup here; the network mode was checked not to change the bytes). */
const BUILD_FLAGS = ['--no-cache', '--network=none', `--source-date-epoch=${GT_EPOCH}`, '--rewrite-timestamp'];

const DESCRIPTIONS: Record<Shape, string> = {
  'scratch-add': 'FROM scratch, ARG, LABELs (one with <...@...>), ADD of the hard-case tar (hard links, one whose header differs from the file it links to, setuid and capabilities on linked and unlinked inodes, 100-byte, long and non-ASCII names, uid/gid at and above 2097151, mtimes on both sides of SOURCE_DATE_EPOCH, fractional, zero and pre-1970 mtimes, 100- and 150-byte link targets, devices, a fifo, xattrs, duplicates, implicit parents), ENV, CMD',
  instructions: 'FROM scratch, ARG without and with a default, ADD of a .tar.gz, COPY --chown --chmod of a directory, COPY of a file with a user.* xattr, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, quoted ENV and LABEL, ENTRYPOINT + CMD',
  'debian-base': 'FROM scratch + ADD of the Debian bookworm tarball (.ci/debian-rootfs.sh): the base image of the next three shapes',
  'multi-stage': 'GNU tar extracts the hard-case tree (.tar.zst, without the device nodes) under RUN in the Debian base, then FROM scratch + COPY --from',
  'run-diff': 'FROM the Debian base: a RUN that deletes files and directories, replaces a directory by a file and a file by a directory, recreates a directory, chmods, chowns, touches, hard-links and creates; a RUN that changes nothing; ARG SOURCE_DATE_EPOCH, then a RUN that adds one file outside /etc; ARGs in RUN history',
  'arch-like': "archlinux-docker's Dockerfile.repro (LABELs, COPY --from, RUN ldconfig && sed -i /etc/os-release && rm -f aux-cache, ENV, CMD) over the Debian tarball",
};

type Driver = 'overlay' | 'vfs';

/**
 * What one storage driver's build gave. The stored manifest is not kept: it is the pushed one with
 * each layer descriptor `{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":DIFF_ID,
 * "size":TAR_SIZE}` (checked on every run), so its digest is enough; the registry gets the oci:
 * push's bytes (checked too).
 */
interface DriverResult {
  config: { digest: string; size: number; json: string };
  layers: Array<{ diffId: string; size: number }>;
  /** `podman inspect --format {{.Digest}}`: the digest of the manifest podman stores. */
  localManifestDigest: string;
  /** `podman push IMAGE oci:DIR:latest`: its manifest (gzip layers). */
  oci?: { manifestDigest: string; manifest: string };
  /** `podman push --tls-verify=false IMAGE docker://127.0.0.1:PORT/REPO:latest`: the manifest digest. */
  registryManifestDigest?: string;
}

/** Where a shape's overlay push is, for the verify tests: both references, the pushed digest, the context. */
interface Published { oci: string; docker: string; digest: string; ctx: string }

/** What a vector holds (test/golden/podman/<shape>.json). */
interface Vector {
  shape: Shape;
  description: string;
  recordedWith: { podman: string; buildah: string; packages: Record<string, string> };
  sourceDateEpoch: number;
  build: string[];
  inputs: InputRecord[];
  overlay: DriverResult;
  /** "same as overlay" when the vfs driver gave the same config and layers. */
  vfs: DriverResult | 'same as overlay';
}

interface Env {
  root: string;
  debianTar: string | undefined;
  ctx: string;
  stores: Record<Driver, { store: string; runroot: string }>;
}

function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function run(env: Env, driver: Driver, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    env: {
      ...process.env, REPRO_PODMAN_ROOT: env.root, REPRO_PODMAN_DRIVER: driver,
      REPRO_PODMAN_STORAGE: env.stores[driver].store, REPRO_PODMAN_RUNROOT: env.stores[driver].runroot,
    },
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000, killSignal: 'SIGKILL',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (${driver}): exit ${r.status}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

function httpGet(url: string, accept: string): Promise<{ status: number; body: Buffer; digest: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { Accept: accept } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), digest: res.headers['docker-content-digest'] as string | undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

interface Descriptor { mediaType: string; digest: string; size: number }
interface Manifest { config: Descriptor; layers: Descriptor[] }

function tagOf(shape: Shape): string {
  return shape === 'debian-base' ? GT_BASE_IMAGE : `localhost/repro-ground-truth/${shape}:latest`;
}

/** `podman build` as recorded: run from the context directory. */
function buildArgs(shape: Shape): string[] {
  return ['build', ...BUILD_FLAGS, '-f', 'Containerfile', '-t', tagOf(shape), '.'];
}

/**
 * Builds `shape` (context already written to env.ctx/shape) with one driver and reads back what
 * podman stored; with `push`, also pushes it to an oci: directory and to the registry and checks
 * the pushed bytes against the stored ones.
 */
async function produce(env: Env, driver: Driver, shape: Shape, registry: Registry | undefined): Promise<DriverResult> {
  const ctx = join(env.ctx, shape);
  const tag = tagOf(shape);
  const podman = (...args: string[]): string => run(env, driver, PODMAN, args);
  // Absolute paths: .ci/podman runs podman in a chroot whose /tmp is the host's.
  podman('build', ...BUILD_FLAGS, '-f', join(ctx, 'Containerfile'), '-t', tag, ctx);

  // The image as podman keeps it: the manifest it reports ({{.Digest}}), its bytes, the config.
  const localDigest = podman('image', 'inspect', '--format', '{{.Digest}}', tag).trim();
  const localManifest = run(env, driver, PODMAN_EXEC, ['skopeo', 'inspect', '--raw', `containers-storage:${tag}`]);
  assert.equal(sha256(localManifest), localDigest, `${shape}: podman inspect's Digest is the digest of the stored manifest`);
  const stored = JSON.parse(localManifest) as Manifest;
  const configJson = run(env, driver, PODMAN_EXEC, ['skopeo', 'inspect', '--raw', '--config', `containers-storage:${tag}`]);
  assert.equal(sha256(configJson), stored.config.digest);
  const config = JSON.parse(configJson) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(stored.layers.map((l) => l.digest), config.rootfs.diff_ids, `${shape}: stored layers are the uncompressed diffs`);
  assert.ok(stored.layers.every((l) => l.mediaType === OCI_LAYER));
  const result: DriverResult = {
    config: { digest: stored.config.digest, size: Buffer.byteLength(configJson), json: configJson },
    layers: stored.layers.map((l) => ({ diffId: l.digest, size: l.size })),
    localManifestDigest: localDigest,
  };
  const imageId = podman('image', 'inspect', '--format', '{{.ID}}', tag).trim();
  assert.equal(`sha256:${imageId}`, result.config.digest, `${shape}: the image ID is the config digest`);
  if (!registry) return result;

  // Pushed to an oci: directory: gzip layers, each decompressing to its diff_id.
  const ociDir = join(env.ctx, `${shape}.${driver}.oci`);
  podman('push', '--quiet', tag, `oci:${ociDir}:latest`);
  const index = JSON.parse(readFileSync(join(ociDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const ociDigest = index.manifests[0]!.digest;
  const blob = (d: string): Buffer => readFileSync(join(ociDir, 'blobs/sha256', d.slice('sha256:'.length)));
  const ociManifest = blob(ociDigest).toString('utf8');
  assert.equal(sha256(ociManifest), ociDigest);
  const manifest = JSON.parse(ociManifest) as Manifest;
  assert.equal(blob(manifest.config.digest).toString('utf8'), configJson, `${shape}: the pushed config is the stored one`);
  // The stored manifest is the pushed one with each layer descriptor uncompressed (same field order).
  let expectedLocal = ociManifest;
  manifest.layers.forEach((l, i) => {
    assert.equal(l.mediaType, `${OCI_LAYER}+gzip`, `${shape}: oci: layers are pushed gzip-compressed`);
    const gz = blob(l.digest);
    assert.equal(sha256(gz), l.digest);
    const tar = gunzipSync(gz);
    assert.equal(sha256(tar), config.rootfs.diff_ids[i], `${shape}: layer ${i} decompresses to its diff_id`);
    const from = `{"mediaType":"${l.mediaType}","digest":"${l.digest}","size":${l.size}}`;
    assert.ok(expectedLocal.includes(from), `${shape}: descriptor ${i} written as ${from}`);
    expectedLocal = expectedLocal.replace(from, `{"mediaType":"${OCI_LAYER}","digest":"${sha256(tar)}","size":${tar.length}}`);
  });
  assert.equal(localManifest, expectedLocal, `${shape}: the stored manifest is the pushed one with uncompressed layers`);
  result.oci = { manifestDigest: ociDigest, manifest: ociManifest };

  // Pushed to the registry: the same manifest bytes.
  const repo = `ground-truth/${shape}-${driver}`;
  podman('push', '--quiet', '--tls-verify=false', tag, `docker://${registry.host}/${repo}:latest`);
  const got = await httpGet(`http://${registry.host}/v2/${repo}/manifests/latest`, OCI_MANIFEST);
  assert.equal(got.status, 200);
  assert.equal(got.digest, sha256(got.body));
  assert.equal(got.body.toString('utf8'), ociManifest, `${shape}: the registry gets the manifest bytes of the oci: push`);
  result.registryManifestDigest = sha256(got.body);
  if (driver === 'overlay') published.set(shape, { oci: `oci:${ociDir}:latest`, docker: `docker://${registry.host}/${repo}:latest`, digest: ociDigest, ctx });
  return result;
}

function versionsOf(env: Env): Vector['recordedWith'] {
  const podman = (...args: string[]): string => run(env, 'vfs', PODMAN, args);
  const packages: Record<string, string> = {};
  for (const line of readFileSync(join(env.root, 'etc/repro-ci/versions'), 'utf8').split('\n')) {
    const [name, version] = line.split(' ');
    if (name && version) packages[name] = version;
  }
  const v = JSON.parse(podman('version', '--format', 'json')) as { Client: { Version: string } };
  // The buildah podman build links (podman info), not the separate buildah binary's.
  const buildah = podman('info', '--format', '{{.Host.BuildahVersion}}').trim();
  return { podman: v.Client.Version, buildah, packages };
}

/** Why this machine cannot run the ground truth, or undefined. */
function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (podman in a chroot)';
  const root = process.env.REPRO_PODMAN_ROOT;
  if (!root) return 'REPRO_PODMAN_ROOT is not set: .ci/run builds the podman root with .ci/podman-root.sh and sets it';
  if (!existsSync(join(root, 'etc/repro-ci/complete'))) return `REPRO_PODMAN_ROOT=${root} is not a finished root from .ci/podman-root.sh`;
  return undefined;
}

/** Removes the stores of earlier runs whose process is gone. */
function removeStale(base: string): void {
  for (const name of readdirSync(base)) {
    const m = /^repro-gt-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(base, name), { recursive: true, force: true });
    }
  }
}

const NEEDS_DEBIAN: ReadonlySet<Shape> = new Set(['debian-base', 'multi-stage', 'run-diff', 'arch-like']);
/** Shapes whose image bytes depend on the Debian tarball's bytes (not only on podman). */
const DEPENDS_ON_DEBIAN_BYTES: ReadonlySet<Shape> = new Set(['debian-base', 'run-diff', 'arch-like']);

/**
 * Which driver checks what on a normal run (record mode builds and pushes every shape with both):
 * overlay builds and pushes every shape; vfs, three to ten times slower, rebuilds the shapes whose
 * RUN layers it computes its own way (and the base they need) and compares the stored bytes.
 */
const VFS_CHECKED: ReadonlySet<Shape> = new Set(['debian-base', 'run-diff', 'arch-like']);

function compare(shape: Shape, driver: Driver, got: DriverResult, want: DriverResult, changed: string): void {
  const what = `${shape} (${driver})`;
  assert.equal(got.config.json, want.config.json, `${what}: config bytes differ (${changed})`);
  assert.deepEqual(got.layers, want.layers, `${what}: layer diff_ids differ (${changed})`);
  assert.equal(got.localManifestDigest, want.localManifestDigest, `${what}: stored manifest differs (${changed})`);
  if (got.oci) assert.equal(got.oci.manifest, want.oci?.manifest, `${what}: oci: manifest differs: config, layers or gzip bytes (${changed})`);
  if (got.registryManifestDigest) assert.equal(got.registryManifestDigest, want.registryManifestDigest, `${what}: registry manifest differs (${changed})`);
}

const why = cannotRun();
let env: Env;
let registry: Registry;
/** The overlay pushes of this run, by shape (what the verify tests prove). */
const published = new Map<Shape, Published>();

before(async () => {
  if (why) return;
  // The stores live in memory when /dev/shm is a tmpfs: vfs copies the whole image for every layer
  // (1.5 GB here), which a tmpfs writes and removes in a fraction of the time a disk takes. Named
  // after this process, so that a later run removes what a killed one left.
  const base = existsSync('/dev/shm') ? '/dev/shm' : '/var/tmp';
  removeStale(base);
  const stores = (d: Driver): { store: string; runroot: string } => ({
    store: mkdtempSync(join(base, `repro-gt-${process.pid}-${d}-`)),
    runroot: mkdtempSync(join(base, `repro-gt-${process.pid}-${d}-run-`)),
  });
  env = {
    root: process.env.REPRO_PODMAN_ROOT!,
    debianTar: process.env.REPRO_DEBIAN_ROOTFS || undefined,
    // Under /tmp whatever TMPDIR says: .ci/podman binds the host's /tmp into the chroot.
    ctx: mkdtempSync('/tmp/repro-gt-ctx-'),
    stores: { overlay: stores('overlay'), vfs: stores('vfs') },
  };
  registry = await startRegistry();
});

after(async () => {
  if (why) return;
  await registry?.stop();
  rmSync(env.ctx, { recursive: true, force: true });
  for (const s of Object.values(env.stores)) {
    rmSync(s.store, { recursive: true, force: true });
    rmSync(s.runroot, { recursive: true, force: true });
  }
});

test('podman ground truth: each shape builds to the recorded bytes, with the overlay and the vfs driver', { timeout: 1_800_000, skip: why ?? false }, async (t) => {
  const versions = versionsOf(env);
  t.diagnostic(`podman ${versions.podman}, buildah ${versions.buildah} (${JSON.stringify(versions.packages)})`);
  let debianChanged: string | undefined;
  for (const shape of SHAPES) {
    await t.test(shape, async (st) => {
      if (NEEDS_DEBIAN.has(shape) && env.debianTar === undefined) {
        st.skip('REPRO_DEBIAN_ROOTFS is not set: .ci/run builds it with .ci/debian-rootfs.sh');
        return;
      }
      const path = join(GOLDEN, `${shape}.json`);
      const inputs = writeContext(shape, join(env.ctx, shape), env.debianTar);
      const want = RECORD ? undefined : JSON.parse(readFileSync(path, 'utf8')) as Vector;
      if (want && DEPENDS_ON_DEBIAN_BYTES.has(shape) && (debianChanged !== undefined || JSON.stringify(inputs) !== JSON.stringify(want.inputs))) {
        debianChanged ??= `${want.inputs[1]?.sha256} recorded, ${inputs[1]?.sha256} now`;
        // multi-stage still needs the base, and the verify tests what podman pushed (their
        // proof does not depend on the recorded bytes).
        if (shape === 'debian-base') await produce(env, 'overlay', shape, undefined);
        if (shape === 'arch-like') await produce(env, 'overlay', shape, registry);
        st.skip(`the Debian tarball is not the one this vector was recorded with (${debianChanged}): the mirror has moved on; record again with REPRO_PODMAN_RECORD=1`);
        return;
      }
      if (want) assert.deepEqual(inputs, want.inputs, `${shape}: the generated inputs changed (test/helpers/podman-contexts.ts): record again`);
      const results = {} as Record<Driver, DriverResult>;
      for (const driver of ['overlay', 'vfs'] as const) {
        if (!RECORD && driver === 'vfs' && !VFS_CHECKED.has(shape)) continue;
        const started = Date.now();
        results[driver] = await produce(env, driver, shape, RECORD || driver === 'overlay' ? registry : undefined);
        st.diagnostic(`${shape} (${driver}): ${((Date.now() - started) / 1000).toFixed(1)} s; stored ${results[driver].localManifestDigest}, pushed ${results[driver].oci?.manifestDigest ?? '-'}`);
      }
      if (RECORD) {
        const vector: Vector = {
          shape, description: DESCRIPTIONS[shape], recordedWith: versions, sourceDateEpoch: GT_EPOCH,
          build: ['podman', ...buildArgs(shape)], inputs, overlay: results.overlay,
          vfs: JSON.stringify(results.vfs) === JSON.stringify(results.overlay) ? 'same as overlay' : results.vfs,
        };
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(path, `${JSON.stringify(vector, null, 2)}\n`);
        return;
      }
      const changed = `podman ${want!.recordedWith.podman} / buildah ${want!.recordedWith.buildah} recorded, podman ${versions.podman} / buildah ${versions.buildah} now`;
      compare(shape, 'overlay', results.overlay, want!.overlay, changed);
      if (results.vfs) compare(shape, 'vfs', results.vfs, want!.vfs === 'same as overlay' ? want!.overlay : want!.vfs, changed);
    });
  }
});

/** What podman pushed of `shape` in the ground truth above (which failed first if it is not there). */
function pushed(shape: Shape): Published {
  const p = published.get(shape);
  if (!p) throw new Error(`${shape}: podman's push is not there (see the ground truth's failure above)`);
  return p;
}

const verifyOurs = (ctx: string, against: string, ...extra: string[]): ReturnType<typeof runCliAsync> =>
  runCliAsync(['verify', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--against', against, '--tls-verify=false', ...extra], { env: { SOURCE_DATE_EPOCH: undefined } });

/** A copy of an oci: layout whose one layer blob is replaced; manifest and index rewritten around it. */
function withLayer(ref: string, name: string, blob: (gz: Buffer) => Buffer): string {
  const src = ref.slice('oci:'.length, -':latest'.length);
  const dir = join(env.ctx, name);
  cpSync(src, dir, { recursive: true });
  const path = (d: string): string => join(dir, 'blobs/sha256', d.slice(7));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const manifestText = readFileSync(path(index.manifests[0]!.digest), 'utf8');
  const manifest = JSON.parse(manifestText) as { layers: Array<{ digest: string; size: number }> };
  const old = manifest.layers[0]!;
  const bytes = blob(readFileSync(path(old.digest)));
  writeFileSync(path(sha256(bytes)), bytes);
  const text = manifestText.replace(`"digest":"${old.digest}","size":${old.size}`, `"digest":"${sha256(bytes)}","size":${bytes.length}`);
  writeFileSync(path(sha256(text)), text);
  index.manifests[0]!.digest = sha256(text);
  index.manifests[0]!.size = Buffer.byteLength(text);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return `oci:${dir}:latest`;
}

const reproducedLine = (digest: string): string => `reproduced ${digest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`;

test('verify: the hard-case scratch image podman built is reproduced at the digest level, from oci: and from the registry; changed bytes are not', { skip: why ?? false }, async () => {
  const p = pushed('scratch-add');
  const a = await verifyOurs(p.ctx, p.oci);
  assert.equal(a.status, 0, a.stdout + a.stderr);
  assert.equal(a.stdout, reproducedLine(p.digest));
  assert.match(a.stderr, new RegExp(`SOURCE_DATE_EPOCH ${GT_EPOCH}: the published config's created time`));
  const b = await verifyOurs(p.ctx, p.docker, '--json');
  assert.equal(b.status, 0, b.stderr);
  const rec = JSON.parse(b.stdout) as { verdict: string; level: string; published: { manifest: string }; inputs: { sourceDateEpochFrom: string }; proof: { layers: Array<{ ok: boolean }> } };
  assert.deepEqual([rec.verdict, rec.level, rec.published.manifest, rec.inputs.sourceDateEpochFrom], ['reproduced', 'manifest', p.digest, 'published-created']);
  assert.ok(rec.proof.layers.every((l) => l.ok));

  // One byte of one file in the context: exit 1, and the diff engine names the file.
  const changed = join(env.ctx, 'scratch-add-changed');
  cpSync(p.ctx, changed, { recursive: true });
  const tar = readFileSync(join(changed, 'rootfs.tar'));
  const at = tar.indexOf('capped\n');
  tar[at] = 'C'.charCodeAt(0);
  writeFileSync(join(changed, 'rootfs.tar'), tar);
  const c = await verifyOurs(changed, p.oci);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stdout, /^not reproduced: published sha256:[0-9a-f]{64} /);
  assert.match(c.stdout, /usr\/sbin\/capped/);

  // A layer that decompresses to other bytes (a valid gzip of another tar).
  const other = withLayer(p.oci, 'other-layer', (gz) => {
    const t = gunzipSync(gz);
    t[t.indexOf('ping\n')] = 'P'.charCodeAt(0);
    return gzipSync(t);
  });
  const d = await verifyOurs(p.ctx, other);
  assert.equal(d.status, 1, d.stderr);
  assert.match(d.stdout, /layer 1 sha256:[0-9a-f]{64}: decompresses to sha256:[0-9a-f]{64}, our layer tar is sha256:/);

  // The published gzip with trailing garbage: Node's gunzip would not mind; the proof does.
  const garbage = withLayer(p.oci, 'garbage-layer', (gz) => Buffer.concat([gz, Buffer.from('trailing')]));
  const e = await verifyOurs(p.ctx, garbage);
  assert.equal(e.status, 1, e.stderr);
  assert.match(e.stdout, /not one plain gzip member: 8 bytes after its trailer/);
});

test('verify: Arch Linux\'s Dockerfile.repro shape over a Debian root, as podman built and pushed it, is reproduced', { skip: why ?? (process.env.REPRO_DEBIAN_ROOTFS ? false : 'REPRO_DEBIAN_ROOTFS is not set: .ci/run makes it with .ci/debian-rootfs.sh') }, async () => {
  // The builder stage starts FROM a local base image: podman built it above; ours is built by us.
  const ours = join(env.ctx, 'our-base');
  const b = await runCliAsync(['build', '--containerfile', join(env.ctx, 'debian-base', 'Containerfile'), '--compat', 'podman', '--source-date-epoch', String(GT_EPOCH), '--compression', 'none', '--output', `oci:${ours}:base`]);
  assert.equal(b.status, 0, b.stderr);
  const p = pushed('arch-like');
  for (const against of [p.oci, p.docker]) {
    const r = await verifyOurs(p.ctx, against, '--from-image', `${GT_BASE_IMAGE}=oci:${ours}:base`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, reproducedLine(p.digest));
  }
});
