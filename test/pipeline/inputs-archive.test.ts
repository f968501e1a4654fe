/**
 * The inputs archive: `archive SPEC` writes the spec, the lock and every locked .deb as one OCI
 * artifact (to a layout, and to a real registry as a referrer of the image); then, with an empty
 * cache and the spec's mirrors pointed at a port where nothing listens, `fetch --from` + `build
 * --offline` give the same image digest. A tampered blob (in the blob store, or a manifest that
 * names other bytes) is refused with exit 1 and never enters the cache.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';

const PACKAGES: TestPackage[] = [
  { name: 'hello', version: '1.0', fields: { Depends: 'libfoo' }, files: { '/usr/bin/hello': { data: '#!/bin/sh\necho hello\n', mode: 0o755 } } },
  { name: 'libfoo', version: '2.0', compression: 'gzip', files: { '/usr/lib/libfoo.txt': 'libfoo 2.0\n' } },
];

let dir: string;
let repo: Repo;
let keyring: string;
let registry: StartedRegistry;
let spec: string;
let imageDigest: string;

const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function writeSpec(mirror: string): void {
  writeFileSync(spec, `name: archived\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${mirror}"]\n  keyring: ${keyring}\npackages: [hello]\n`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'inputs-archive-'));
  const signer = makeKey(dir, 'archive');
  keyring = signer.keyring;
  repo = await makeRepo(dir, PACKAGES, signer);
  registry = await startRegistry({ kind: 'none' });
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec', 'image.yaml');
  writeSpec(repo.url);
  const cache = join(dir, 'cache-origin');
  const l = await run(['lock', spec], cache);
  assert.equal(l.status, 0, l.stderr);
  const b = await run(['build', spec, '--output', `oci:${join(dir, 'image')}:v1`], cache);
  assert.equal(b.status, 0, b.stderr);
  imageDigest = b.stdout.trim();
});
after(async () => {
  await repo.close();
  await registry.stop();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

interface ArtifactManifest {
  artifactType: string;
  config: { mediaType: string; digest: string };
  layers: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>;
  annotations: Record<string, string>;
  subject?: { digest: string };
}

function layoutManifest(layout: string, digest: string): ArtifactManifest {
  return JSON.parse(readFileSync(join(layout, 'blobs/sha256', digest.slice('sha256:'.length)), 'utf8')) as ArtifactManifest;
}

test('archive → empty cache, dead mirrors → fetch --from + build --offline gives the same digest', async () => {
  const out = join(dir, 'inputs');
  const a = await run(['archive', spec, '--output', `oci:${out}:inputs`], join(dir, 'cache-origin'));
  assert.equal(a.status, 0, a.stderr);
  const digest = a.stdout.trim();
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  const m = layoutManifest(out, digest);
  assert.equal(m.artifactType, 'application/vnd.repro-image.inputs.v1');
  assert.equal(m.config.mediaType, 'application/vnd.repro-image.inputs.config.v1+json');
  assert.deepEqual(m.layers.map((l) => l.annotations?.['org.opencontainers.image.title']), ['image.yaml', 'image.lock.json', 'hello_1.0_amd64.deb', 'libfoo_2.0_amd64.deb']);
  assert.equal(m.layers[2]!.annotations?.['dev.repro-image.input.path'], 'pool/main/hello_1.0_amd64.deb');
  assert.equal(m.layers[1]!.digest, `sha256:${sha(readFileSync(join(dir, 'spec/image.lock.json')))}`);
  assert.equal(m.annotations['org.opencontainers.image.created'], '2023-11-14T22:13:20Z', 'the lock\'s time, not the clock');
  assert.ok(m.annotations['dev.repro-image.tool.version']);
  assert.match(m.annotations['dev.repro-image.tool.package-digest'] ?? '', /^sha256:[0-9a-f]{64}$/);
  const config = JSON.parse(readFileSync(join(out, 'blobs/sha256', m.config.digest.slice(7)), 'utf8')) as { tool: { name: string }; lock: { digest: string } };
  assert.equal(config.tool.name, 'repro-image');
  assert.equal(config.lock.digest, m.layers[1]!.digest);

  // The same inputs give the same artifact.
  const again = await run(['archive', spec, '--offline', '--output', `oci:${join(dir, 'inputs-again')}:x`], join(dir, 'cache-origin'));
  assert.equal(again.stdout.trim(), digest);

  // No cache, no mirror: the spec now points at a port where nothing listens.
  writeSpec('http://127.0.0.1:9/debian');
  try {
    const cache = join(dir, 'cache-empty');
    const offline = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'nope')}:t`], cache);
    assert.equal(offline.status, 2, 'the cache is really empty');
    const plain = await run(['fetch', spec], cache);
    assert.equal(plain.status, 3, 'the mirror is really gone');
    const f = await run(['fetch', spec, '--from', `oci:${out}:inputs`], cache);
    assert.equal(f.status, 0, f.stderr);
    assert.match(f.stdout, /^2 locked files in /);
    const b = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'rebuilt')}:v1`], cache);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(b.stdout.trim(), imageDigest);
  } finally {
    writeSpec(repo.url);
  }
});

test('a tampered archive is refused (exit 1), and nothing of it enters the cache', async () => {
  const good = join(dir, 'inputs');
  const lock = JSON.parse(readFileSync(join(dir, 'spec/image.lock.json'), 'utf8')) as { packages: Array<{ name: string; sha256: string; size: number }> };
  const libfoo = lock.packages.find((p) => p.name === 'libfoo')!;

  // 1. A blob whose bytes changed (same size) under its old digest.
  const t1 = join(dir, 'tampered-blob');
  cpSync(good, t1, { recursive: true });
  const blob = join(t1, 'blobs/sha256', libfoo.sha256);
  const bytes = readFileSync(blob);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
  writeFileSync(blob, bytes);
  const cache = join(dir, 'cache-tampered');
  const r1 = await run(['fetch', spec, '--from', `oci:${t1}:inputs`], cache);
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(r1.stderr, new RegExp(`${libfoo.sha256}.*wrong content`));
  const cached = (): string[] => (existsSync(join(cache, 'repro-image/sha256')) ? readdirSync(join(cache, 'repro-image/sha256')) : []);
  assert.ok(!cached().includes(libfoo.sha256));
  assert.ok(!cached().some((n) => n.includes('.tmp')), 'no temporary file is left');

  // 2. A manifest that names other bytes for the package (a consistent archive of the wrong input).
  const t2 = join(dir, 'tampered-manifest');
  cpSync(good, t2, { recursive: true });
  const index = JSON.parse(readFileSync(join(t2, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const m = layoutManifest(t2, index.manifests[0]!.digest);
  const other = Buffer.from('not the package');
  writeFileSync(join(t2, 'blobs/sha256', sha(other)), other);
  for (const l of m.layers) if (l.digest === `sha256:${libfoo.sha256}`) Object.assign(l, { digest: `sha256:${sha(other)}`, size: other.length });
  const mb = Buffer.from(JSON.stringify(m));
  writeFileSync(join(t2, 'blobs/sha256', sha(mb)), mb);
  index.manifests[0] = { ...index.manifests[0]!, digest: `sha256:${sha(mb)}`, size: mb.length };
  writeFileSync(join(t2, 'index.json'), JSON.stringify(index));
  const r2 = await run(['fetch', spec, '--from', `oci:${t2}:inputs`], join(dir, 'cache-tampered-2'));
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /libfoo_2\.0_amd64\.deb is sha256:[0-9a-f]{64} \(15 bytes\), the lock says/);
});

test('--attach: the archive is a referrer of the image on a registry; fetch --from the image finds it', async () => {
  const image = `docker://${registry.host}/inputs/hello:v1`;
  const cache = join(dir, 'cache-origin');
  const c = await run(['copy', `oci:${join(dir, 'image')}:v1`, image, '--tls-verify=false'], cache);
  assert.equal(c.status, 0, c.stderr);
  const a = await run(['archive', spec, '--offline', '--attach', image, '--tls-verify=false'], cache);
  assert.equal(a.status, 0, a.stderr);
  const i = await run(['inspect', '--referrers', image, '--tls-verify=false'], cache);
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, new RegExp(`${a.stdout.trim()}.*application/vnd\\.repro-image\\.inputs\\.v1`));
  const d = await run(['inspect', '--raw', image, '--tls-verify=false'], cache);
  assert.equal(`sha256:${sha(Buffer.from(d.stdout))}`, imageDigest, 'the image itself is unchanged');

  // The same artifact (with its subject) also as a tagged artifact of its own.
  const standalone = `docker://${registry.host}/inputs/archive:1`;
  const o = await run(['archive', spec, '--offline', '--attach', image, '--output', standalone, '--tls-verify=false'], cache);
  assert.equal(o.status, 0, o.stderr);
  assert.equal(o.stdout.trim(), a.stdout.trim());

  writeSpec('http://127.0.0.1:9/debian');
  try {
    const empty = join(dir, 'cache-registry');
    const f = await run(['fetch', spec, '--from', image, '--tls-verify=false'], empty);
    assert.equal(f.status, 0, f.stderr);
    const b = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'rebuilt-registry')}:v1`], empty);
    assert.equal(b.stdout.trim(), imageDigest);
    const empty2 = join(dir, 'cache-registry-2');
    const f2 = await run(['fetch', spec, '--from', standalone, '--tls-verify=false'], empty2);
    assert.equal(f2.status, 0, f2.stderr);
    const b2 = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'rebuilt-registry-2')}:v1`], empty2);
    assert.equal(b2.stdout.trim(), imageDigest);
  } finally {
    writeSpec(repo.url);
  }
});

test('--attach on an oci: layout: listed in index.json as a referrer of the image, whose digest stays; fetch --from the image', async () => {
  const layout = join(dir, 'image-attached');
  cpSync(join(dir, 'image'), layout, { recursive: true });
  const a = await run(['archive', spec, '--offline', '--attach', `oci:${layout}:v1`], join(dir, 'cache-origin'));
  assert.equal(a.status, 0, a.stderr);
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; artifactType?: string; annotations?: Record<string, string> }> };
  assert.deepEqual(index.manifests.map((m) => [m.digest, m.artifactType ?? m.annotations?.['org.opencontainers.image.ref.name']]),
    [[imageDigest, 'v1'], [a.stdout.trim(), 'application/vnd.repro-image.inputs.v1']]);
  assert.equal(layoutManifest(layout, a.stdout.trim()).subject?.digest, imageDigest);
  writeSpec('http://127.0.0.1:9/debian');
  try {
    const empty = join(dir, 'cache-layout-attached');
    assert.equal((await run(['fetch', spec, '--from', `oci:${layout}:v1`], empty)).status, 0);
    const b = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'rebuilt-layout')}:v1`], empty);
    assert.equal(b.stdout.trim(), imageDigest);
  } finally {
    writeSpec(repo.url);
  }
});

test('an image without an inputs archive is refused (exit 2), naming what was looked for', async () => {
  const r = await run(['fetch', spec, '--from', `oci:${join(dir, 'image')}:v1`], join(dir, 'cache-none'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /neither an inputs archive \(artifactType application\/vnd\.repro-image\.inputs\.v1\) nor an image with one among its referrers/);
});

test('--attach to a transport that holds no referrers (dir:, docker-archive:) is refused before anything is written, the image untouched', async () => {
  const copy = join(dir, 'image-dir');
  assert.equal((await run(['copy', `oci:${join(dir, 'image')}:v1`, `dir:${copy}`], join(dir, 'cache-origin'))).status, 0);
  const before = readFileSync(join(copy, 'manifest.json'));
  for (const target of [`dir:${copy}`, `docker-archive:${join(dir, 'image-da.tar')}`]) {
    const r = await run(['archive', spec, '--offline', '--attach', target], join(dir, 'cache-origin'));
    assert.equal(r.status, 2, `${target}: ${r.stderr}`);
    assert.match(r.stderr, /^repro-image: --attach: .* holds no OCI 1\.1 referrers; attach the inputs archive to an image in an oci: layout, an oci-archive or a registry \(docker:\/\/\)\n$/, target);
    assert.equal(r.stdout, '');
  }
  assert.deepEqual(readFileSync(join(copy, 'manifest.json')), before);
});

test('fetch --from a registry reads the archive\'s blobs --jobs at a time (one at a time with --jobs 1)', async () => {
  const archive = `${registry.host}/inputs/jobs:1`;
  const cache = join(dir, 'cache-origin');
  const a = await run(['archive', spec, '--offline', '--output', `docker://${archive}`, '--tls-verify=false'], cache);
  assert.equal(a.status, 0, a.stderr);
  // A proxy in front of the registry that holds each blob request for a while and counts how many are under way at once.
  const { createServer, request } = await import('node:http');
  let inFlight = 0;
  let most = 0;
  const [regHost, regPort] = [registry.host.slice(0, registry.host.lastIndexOf(':')), Number(registry.host.slice(registry.host.lastIndexOf(':') + 1))];
  const server = createServer((req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    if (blob) most = Math.max(most, ++inFlight);
    const forward = (): void => {
      const up = request({ host: regHost, port: regPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('end', () => { if (blob) inFlight--; });
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (blob) setTimeout(forward, 300);
    else forward();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const via = `127.0.0.1:${(server.address() as { port: number }).port}/inputs/jobs:1`;
  writeSpec('http://127.0.0.1:9/debian');
  try {
    const seen: number[] = [];
    for (const jobs of ['1', '4']) {
      most = 0;
      const f = await run(['fetch', spec, '--from', `docker://${via}`, '--jobs', jobs, '--tls-verify=false'], join(dir, `cache-jobs-${jobs}`));
      assert.equal(f.status, 0, f.stderr);
      seen.push(most);
    }
    assert.deepEqual(seen, [1, PACKAGES.length], 'blobs read at once with --jobs 1 and --jobs 4');
  } finally {
    writeSpec(repo.url);
    await new Promise<void>((ok) => server.close(() => ok()));
  }
});
