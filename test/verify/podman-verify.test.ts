/**
 * `verify --containerfile --compat podman` against images real podman built and pushed (podman 5.8
 * from the sid root of .ci/podman-root.sh): the hard-case scratch image and the Arch Linux
 * Dockerfile.repro shape, published to an `oci:` directory and to a docker-registry on 127.0.0.1,
 * are proven at the digest level with no SOURCE_DATE_EPOCH given (the published `created` is
 * used); a byte changed in the context, a layer that decompresses to other bytes and a gzip layer
 * with trailing garbage are each exit 1, saying what failed. Needs root and REPRO_PODMAN_ROOT
 * (and REPRO_DEBIAN_ROOTFS for the Arch shape); without them it skips and says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { runCliAsync } from '../helpers/cli.js';
import { GT_BASE_IMAGE, writeContext, type Shape } from '../helpers/podman-contexts.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const PODMAN = join(REPO, '.ci/podman');
const FLAGS = ['--no-cache', '--network=none', '--source-date-epoch=1700000000', '--rewrite-timestamp'];

function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (podman in a chroot)';
  const root = process.env['REPRO_PODMAN_ROOT'];
  if (!root || !existsSync(join(root, 'etc/repro-ci/complete'))) return 'REPRO_PODMAN_ROOT is not set to a finished root: .ci/run builds it with .ci/podman-root.sh';
  return undefined;
}

const why = cannotRun();
let work: string;
let store: string;
let registry: StartedRegistry;

function podman(...args: string[]): string {
  const r = spawnSync(PODMAN, args, {
    env: { ...process.env, REPRO_PODMAN_DRIVER: 'overlay', REPRO_PODMAN_STORAGE: store, REPRO_PODMAN_RUNROOT: join(store, 'run') },
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.status}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** podman builds a shape and pushes it to an oci: directory and to the registry; returns both references and the pushed digest. */
function publish(shape: Shape, tag: string): { oci: string; docker: string; digest: string; ctx: string } {
  const ctx = join(work, shape);
  writeContext(shape, ctx, process.env['REPRO_DEBIAN_ROOTFS'] || undefined);
  podman('build', ...FLAGS, '-f', join(ctx, 'Containerfile'), '-t', tag, ctx);
  const dir = join(work, `${shape}.oci`);
  podman('push', '--quiet', tag, `oci:${dir}:latest`);
  podman('push', '--quiet', '--tls-verify=false', tag, `docker://${registry.host}/published/${shape}:latest`);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return { oci: `oci:${dir}:latest`, docker: `docker://${registry.host}/published/${shape}:latest`, digest: index.manifests[0]!.digest, ctx };
}

before(async () => {
  if (why) return;
  // Under /tmp: .ci/podman binds the host's /tmp into its chroot.
  work = mkdtempSync('/tmp/repro-verify-podman-');
  store = mkdtempSync('/var/tmp/repro-verify-podman-store-');
  registry = await startRegistry();
});

after(async () => {
  if (why) return;
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
  rmSync(store, { recursive: true, force: true });
});

const verify = (ctx: string, against: string, ...extra: string[]): ReturnType<typeof runCliAsync> =>
  runCliAsync(['verify', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--against', against, '--tls-verify=false', ...extra], { env: { SOURCE_DATE_EPOCH: undefined } });

/** A copy of an oci: layout whose one layer blob is replaced; manifest and index rewritten around it. */
function withLayer(ref: string, name: string, blob: (gz: Buffer) => Buffer): string {
  const src = ref.slice('oci:'.length, -':latest'.length);
  const dir = join(work, name);
  cpSync(src, dir, { recursive: true });
  const path = (d: string): string => join(dir, 'blobs/sha256', d.slice(7));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const manifestText = readFileSync(path(index.manifests[0]!.digest), 'utf8');
  const manifest = JSON.parse(manifestText) as { layers: Array<{ digest: string; size: number }> };
  const old = manifest.layers[0]!;
  const bytes = blob(readFileSync(path(old.digest)));
  writeFileSync(path(sha256(bytes)), bytes);
  const text = manifestText.replace(`"digest":"${old.digest}","size":${old.size}`, `"digest":"${sha256(bytes)}","size":${bytes.length}`);
  writeFileSync(path(sha256(Buffer.from(text))), text);
  index.manifests[0]!.digest = sha256(Buffer.from(text));
  index.manifests[0]!.size = Buffer.byteLength(text);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return `oci:${dir}:latest`;
}

test('the hard-case scratch image podman built: reproduced at the digest level, from oci: and from the registry', { skip: why }, async () => {
  const p = publish('scratch-add', 'localhost/published/scratch-add:latest');
  const a = await verify(p.ctx, p.oci);
  assert.equal(a.status, 0, a.stdout + a.stderr);
  assert.equal(a.stdout, `reproduced ${p.digest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`);
  assert.match(a.stderr, /SOURCE_DATE_EPOCH 1700000000: the published config's created time/);
  const b = await verify(p.ctx, p.docker, '--json');
  assert.equal(b.status, 0, b.stderr);
  const rec = JSON.parse(b.stdout) as { verdict: string; level: string; published: { manifest: string }; inputs: { sourceDateEpochFrom: string }; proof: { layers: Array<{ ok: boolean }> } };
  assert.deepEqual([rec.verdict, rec.level, rec.published.manifest, rec.inputs.sourceDateEpochFrom], ['reproduced', 'manifest', p.digest, 'published-created']);
  assert.ok(rec.proof.layers.every((l) => l.ok));

  // One byte of one file in the context: exit 1, and the diff engine names the file.
  const changed = join(work, 'scratch-add-changed');
  cpSync(p.ctx, changed, { recursive: true });
  const tar = readFileSync(join(changed, 'rootfs.tar'));
  const at = tar.indexOf('capped\n');
  tar[at] = 'C'.charCodeAt(0);
  writeFileSync(join(changed, 'rootfs.tar'), tar);
  const c = await verify(changed, p.oci);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stdout, /^not reproduced: published sha256:[0-9a-f]{64} /);
  assert.match(c.stdout, /usr\/sbin\/capped/);

  // A layer that decompresses to other bytes (a valid gzip of another tar).
  const other = withLayer(p.oci, 'other-layer', (gz) => {
    const t = gunzipSync(gz);
    t[t.indexOf('ping\n')] = 'P'.charCodeAt(0);
    return gzipSync(t);
  });
  const d = await verify(p.ctx, other);
  assert.equal(d.status, 1, d.stderr);
  assert.match(d.stdout, /layer 1 sha256:[0-9a-f]{64}: decompresses to sha256:[0-9a-f]{64}, our layer tar is sha256:/);

  // The published gzip with trailing garbage: Node's gunzip would not mind; the proof does.
  const garbage = withLayer(p.oci, 'garbage-layer', (gz) => Buffer.concat([gz, Buffer.from('trailing')]));
  const e = await verify(p.ctx, garbage);
  assert.equal(e.status, 1, e.stderr);
  assert.match(e.stdout, /not one plain gzip member: 8 bytes after its trailer/);
});

test('Arch Linux\'s Dockerfile.repro shape over a Debian root, as podman built and pushed it: reproduced', { skip: why ?? (process.env['REPRO_DEBIAN_ROOTFS'] ? false : 'REPRO_DEBIAN_ROOTFS is not set: .ci/run makes it with .ci/debian-rootfs.sh') }, async () => {
  // The builder stage starts FROM a local base image: podman builds it; ours is built by us.
  const base = publish('debian-base', GT_BASE_IMAGE);
  const ours = join(work, 'our-base');
  const b = await runCliAsync(['build', '--containerfile', join(base.ctx, 'Containerfile'), '--compat', 'podman', '--source-date-epoch', '1700000000', '--compression', 'none', '--output', `oci:${ours}:base`]);
  assert.equal(b.status, 0, b.stderr);
  const p = publish('arch-like', 'localhost/published/arch-like:latest');
  for (const against of [p.oci, p.docker]) {
    const r = await verify(p.ctx, against, '--from-image', `${GT_BASE_IMAGE}=oci:${ours}:base`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `reproduced ${p.digest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`);
  }
});
