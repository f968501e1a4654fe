/**
 * A spec on a pinned base image (`base:`, docs/base-images.md): a base built by us (`build
 * --rootfs`, zstd, with env and entrypoint), pushed to a local docker-registry and kept in an oci:
 * layout; a spec on it adds a package and a file, replaces a base file and removes another. The
 * result's first layer is the base's descriptor (never recompressed); its config carries the base's
 * env, entrypoint and history; the replaced file is a new version in our layer, the removed one a
 * whiteout; the flattened result is the base's tree with ours over it; `build --offline` (registry
 * stopped) gives the same digest; the same image from the oci: base; a tag is exit 2 naming the
 * digest to pin; golden digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers, type FlatEntry } from '../../src/image/flatten.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { readGolden } from '../helpers/golden.js';
import { mergeStatus } from '../../src/sources/debian/dpkg-db.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';

const PACKAGES: TestPackage[] = [
  { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/bin/hello': { data: '#!/bin/sh\necho hello\n', mode: 0o755 }, '/etc/issue': 'from hello-base\n' } },
];
const TLS = '--tls-verify=false';
const BASE_STATUS = 'Package: base-only\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\nDescription: from the base\n\n'
  + 'Package: hello-base\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.9\nDescription: old\n';
const golden = readGolden('base-image.json') as Record<string, string>;

let dir: string;
let repo: Repo;
let signer: { home: string; keyring: string };
let reg: StartedRegistry | undefined;
let baseDigest: string;
let baseLayout: string;

const run = (args: string[], cache = join(dir, 'cache')): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'base-image-'));
  signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
  reg = await startRegistry();
  // The base: a root file system built by us, zstd, with env and entrypoint.
  const root = join(dir, 'base-root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/share/base'), { recursive: true });
  writeFileSync(join(root, 'etc/motd'), 'base motd\n');
  writeFileSync(join(root, 'etc/old.conf'), 'old=1\n');
  writeFileSync(join(root, 'etc/issue'), 'base issue\n');
  writeFileSync(join(root, 'usr/share/base/kept.txt'), 'kept\n');
  // A dpkg database: a package we do not install, and an older hello-base.
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), BASE_STATUS);
  writeFileSync(join(root, 'var/lib/dpkg/diversions'), '/usr/bin/x\n/usr/bin/x.real\n:\n');
  baseLayout = join(dir, 'base-layout');
  const b = await run(['build', '--rootfs', root, '--output', `oci:${baseLayout}:v1`, '--source-date-epoch', '1600000000', '--compression', 'zstd',
    '--env', 'PATH=/usr/bin:/bin', '--env', 'A=base', '--entrypoint', '["/bin/sh","-c"]', '--cmd', '["echo base"]', '--label', 'from=base']);
  assert.equal(b.status, 0, b.stderr);
  baseDigest = b.stdout.trim();
  const c = await run(['copy', `oci:${baseLayout}:v1`, `docker://${reg.host}/base/img:v1`, '--dest-tls-verify=false']);
  assert.equal(c.status, 0, c.stderr);
});
after(async () => {
  await reg?.stop();
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, base: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'motd'), 'our motd\n');
  writeFileSync(join(d, 'app.txt'), 'app\n');
  const path = join(d, 'image.yaml');
  writeFileSync(path, `name: ${name}\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\n`
    + `base:\n  image: ${base}\n  remove: [/etc/old.conf]\n`
    + 'packages: [hello-base]\nfiles:\n  - { src: motd, dest: /etc/motd }\n  - { src: app.txt, dest: /srv/app.txt }\n'
    + 'config:\n  env: { A: ours, B: two }\n  labels: { ours: "yes" }\n');
  return path;
}

async function imageOf(ref: string): Promise<Awaited<ReturnType<typeof readImage>>> {
  return readImage(await openImage(parseImageRef(ref)), ref);
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
let outDigest: string;
let spec: string;

test('a spec on a docker:// base: base layer kept as is, config carried, whiteout and new version, tree = base + ours', async () => {
  const byTag = await run(['lock', specFile('registry-tag', `docker://${reg!.host}/base/img:v1`), TLS]);
  assert.equal(byTag.status, 2, byTag.stderr);
  assert.ok(byTag.stderr.includes(`is not pinned; a base is named by digest: base: docker://${reg!.host}/base/img@${baseDigest}`), byTag.stderr);
  spec = specFile('on-registry', `docker://${reg!.host}/base/img@${baseDigest}`);
  const l = await run(['lock', spec, TLS]);
  assert.equal(l.status, 0, l.stderr);
  const lock = JSON.parse(readFileSync(spec.replace(/\.yaml$/, '.lock.json'), 'utf8')) as { base: { manifest: { digest: string }; layers: Array<{ digest: string; size: number; mediaType: string }> } };
  assert.equal(lock.base.manifest.digest, baseDigest);
  const f = await run(['fetch', spec, TLS]);
  assert.equal(f.status, 0, f.stderr);
  const out = join(dir, 'out1');
  const b = await run(['build', spec, '--output', `oci:${out}:t`, TLS]);
  assert.equal(b.status, 0, b.stderr);
  outDigest = b.stdout.trim();
  assert.deepEqual({ onBase: outDigest }, golden);

  const base = await imageOf(`oci:${baseLayout}:v1`);
  const img = await imageOf(`oci:${out}:t`);
  // The base's layer, descriptor for descriptor (zstd: not recompressed into our gzip).
  assert.equal(img.manifest.value.layers.length, 2);
  assert.deepEqual(img.manifest.value.layers[0], base.manifest.value.layers[0]);
  assert.deepEqual(lock.base.layers, base.manifest.value.layers.map((x) => ({ mediaType: x.mediaType, digest: x.digest, size: x.size })));
  assert.match(img.manifest.value.layers[0]!.mediaType, /zstd/);
  assert.match(img.manifest.value.layers[1]!.mediaType, /gzip/);
  assert.equal(img.config.value.rootfs.diff_ids[0], base.config.value.rootfs.diff_ids[0]);
  // Config: the base's, with the spec's over it.
  const c = img.config.value.config!;
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'A=ours', 'B=two']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(c.Cmd, ['echo base']);
  assert.deepEqual(c.Labels, { from: 'base', ours: 'yes' });
  assert.deepEqual(img.config.value.history?.slice(0, base.config.value.history!.length), base.config.value.history);
  assert.equal(img.config.value.history?.length, base.config.value.history!.length + 1);

  // Our layer: the whiteout and the new versions.
  const ours = new Map<string, { type: number; size: number }>();
  for await (const { member } of img.layers[1]!.members()) ours.set(member.name.replace(/^\.\//, '').replace(/\/$/, ''), { type: member.typeflag, size: member.size });
  assert.ok(ours.has('etc/.wh.old.conf'), [...ours.keys()].join(' '));
  assert.ok(ours.has('etc/motd'));
  assert.ok(ours.has('etc/issue'), 'the package replaces a base file');
  assert.ok(!ours.has('usr/share/base/kept.txt'), 'a base file we leave alone is not in our layer');

  // Flattened: the base's tree with ours over it.
  const flatOf = async (layers: typeof img.layers): Promise<Map<string, FlatEntry>> => (await flattenLayers(layers, { hash: true })).entries;
  const whole = await flatOf(img.layers);
  const baseFlat = await flatOf(base.layers);
  const oursFlat = await flatOf([img.layers[1]!]);
  const expected = new Map([...baseFlat].filter(([p]) => p !== 'etc/old.conf'));
  for (const [p, e] of oursFlat) expected.set(p, e);
  const strip = (m: Map<string, FlatEntry>): Map<string, Omit<FlatEntry, 'layer'>> => new Map([...m].map(([p, { layer: _l, ...e }]) => [p, e]));
  assert.deepEqual([...strip(whole)].sort(), [...strip(expected)].sort());
  assert.equal(whole.has('etc/old.conf'), false);
  assert.equal(whole.get('etc/motd')?.sha256, sha('our motd\n'));
  assert.equal(whole.get('etc/issue')?.sha256, sha('from hello-base\n'));
  assert.equal(whole.get('usr/share/base/kept.txt')?.sha256, sha('kept\n'));
  assert.equal(whole.get('srv/app.txt')?.sha256, sha('app\n'));
  // The package database: the base's records of packages we do not install kept, ours over the others.
  const kept = (await flattenLayers(img.layers, { keep: (p) => p === 'var/lib/dpkg/status' })).kept;
  const status = kept.get('var/lib/dpkg/status')!.toString('utf8');
  assert.match(status, /^Package: base-only\n(.+\n)+\nPackage: hello-base\n/);
  assert.equal(status.match(/^Package: hello-base$/gm)?.length, 1);
  assert.match(status, /^Version: 1\.0$/m);
  assert.doesNotMatch(status, /Version: 0\.9/);
  assert.equal(whole.get('var/lib/dpkg/diversions')?.layer, 1, "the base's diversions stay");
});

test('mergeStatus: ours replace the base records of the same package and architecture; sorted by name as dpkg', () => {
  const para = (p: string, a: string, v: string): string => `Package: ${p}\nArchitecture: ${a}\nVersion: ${v}\n`;
  const merged = mergeStatus([para('libc6', 'amd64', '1'), para('zlib', 'amd64', '1'), para('libc6', 'i386', '1')].join('\n'), [para('libc6-dev', 'amd64', '2'), para('libc6', 'amd64', '2')].join('\n'));
  assert.equal(merged, [para('libc6', 'amd64', '2'), para('libc6', 'i386', '1'), para('libc6-dev', 'amd64', '2'), para('zlib', 'amd64', '1')].join('\n'));
});

test('build --offline with the registry stopped gives the same digest', async () => {
  await reg!.stop();
  reg = undefined;
  const out = join(dir, 'out-offline');
  const b = await run(['build', spec, '--offline', '--output', `oci:${out}:t`]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), outDigest);
  // A base layer changed in the cache: refused, naming it.
  const layer = (await imageOf(`oci:${baseLayout}:v1`)).manifest.value.layers[0]!;
  const cached = join(dir, 'cache', 'repro-image', 'sha256', layer.digest.slice('sha256:'.length));
  const good = readFileSync(cached);
  const bad = Buffer.from(good);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  writeFileSync(cached, bad);
  const t = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'out-tampered')}:t`]);
  writeFileSync(cached, good);
  assert.equal(t.status, 1, t.stderr);
  assert.match(t.stderr, /wrong content/);
  assert.ok(t.stderr.includes(layer.digest), t.stderr);
  // A cache without the base: --offline says what is missing.
  const empty = join(dir, 'cache-empty');
  const e = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'out-x')}:t`], empty);
  assert.notEqual(e.status, 0);
  assert.match(e.stderr, /--offline: .*not in the cache/);
});

test('the same image from an oci: base, pinned by digest', async () => {
  const s = specFile('on-layout', `oci:${baseLayout}:@${baseDigest}`);
  const l = await run(['lock', s]);
  assert.equal(l.status, 0, l.stderr);
  const b = await run(['build', s, '--output', `oci:${join(dir, 'out2')}:t`]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), outDigest);
});

test('layers: cuts our part only (the base\'s packages are not ours to place); the base layer first as it is, the whiteout in our last layer, the same tree; build --json names the base; --sbom builds', async () => {
  const s = specFile('layered', `oci:${baseLayout}:@${baseDigest}`);
  writeFileSync(s, `${readFileSync(s, 'utf8')}layers:\n  - packages: rest\n  - files: all\n`);
  assert.equal((await run(['lock', s])).status, 0);
  const out = join(dir, 'out-layered');
  const b = await run(['build', s, '--output', `oci:${out}:t`, '--json', '--sbom', 'spdx-json']);
  assert.equal(b.status, 0, b.stderr);
  const r = JSON.parse(b.stdout) as { manifest: { digest: string }; base: { manifest: { digest: string }; layers: Array<{ digest: string }> }; layers: Array<{ name: string }> };
  const base = await imageOf(`oci:${baseLayout}:v1`);
  const img = await imageOf(`oci:${out}:t`);
  assert.equal(r.base.manifest.digest, baseDigest);
  assert.deepEqual(r.base.layers.map((l) => l.digest), base.manifest.value.layers.map((l) => l.digest));
  assert.deepEqual(img.manifest.value.layers[0], base.manifest.value.layers[0]);
  assert.equal(img.manifest.value.layers.length, 1 + r.layers.length);
  assert.ok(r.layers.length >= 3, r.layers.map((l) => l.name).join(', '));
  // Only our packages are cut into layers: the base's (base-only) are in the base's layer.
  const restName = r.layers.map((l) => l.name).find((n) => n.startsWith('packages: rest'));
  assert.ok(restName !== undefined && !restName.includes('base-only'), restName);
  const last = new Set<string>();
  for await (const { member } of img.layers[img.layers.length - 1]!.members()) last.add(member.name);
  assert.ok(last.has('etc/.wh.old.conf'), [...last].join(' '));
  const single = await imageOf(`oci:${join(dir, 'out1')}:t`);
  const strip = async (layers: typeof img.layers): Promise<Array<[string, unknown]>> => [...(await flattenLayers(layers, { hash: true })).entries].map(([p, { layer: _l, ...e }]) => [p, e] as [string, unknown]).sort(([a], [c]) => (a < c ? -1 : 1));
  assert.deepEqual(await strip(img.layers), await strip(single.layers));
});

test('a base named by tag is exit 2 naming the digest to pin', async () => {
  const s = specFile('by-tag', `oci:${baseLayout}:v1`);
  const l = await run(['lock', s]);
  assert.equal(l.status, 2, l.stderr);
  assert.match(l.stderr, new RegExp(`not pinned.*base: oci:${baseLayout.replace(/[/.]/g, '\\$&')}:@${baseDigest}`));
  assert.equal(l.stderr.trim().split('\n').length, 1, 'refused before any index is read');
  // A transport that cannot name a manifest by digest, and a base for another platform.
  const d = await run(['lock', specFile('by-dir', `dir:${baseLayout}`)]);
  assert.equal(d.status, 2, d.stderr);
  assert.match(d.stderr, /a base is read from docker:\/\/, oci: or oci-archive:/);
  const arm = join(dir, 'arm-layout');
  const ab = await run(['build', '--rootfs', join(dir, 'base-root'), '--output', `oci:${arm}:v1`, '--source-date-epoch', '1600000000', '--platform', 'linux/arm64']);
  assert.equal(ab.status, 0, ab.stderr);
  const p = await run(['lock', specFile('other-platform', `oci:${arm}:@${ab.stdout.trim()}`)]);
  assert.equal(p.status, 2, p.stderr);
  assert.match(p.stderr, /is an image for linux\/arm64, the spec builds linux\/amd64/);
});

test('base.remove of a path the base does not have is exit 2', async () => {
  const s = specFile('bad-remove', `oci:${baseLayout}:@${baseDigest}`);
  writeFileSync(s, readFileSync(s, 'utf8').replace('/etc/old.conf', '/etc/nothing'));
  assert.equal((await run(['lock', s])).status, 0);
  const b = await run(['build', s, '--output', `oci:${join(dir, 'out3')}:t`]);
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /base\.remove: \/etc\/nothing is not in the base/);
});

test('base.remove is checked against our tree after the passes: a path our files: put there but a pass removes is hidden in the base, not refused', async () => {
  // A base with a systemd random seed (built without the pass that would drop it); our files: put one there too, which the random-seed pass removes.
  const root = join(dir, 'seed-root');
  mkdirSync(join(root, 'var/lib/systemd'), { recursive: true });
  writeFileSync(join(root, 'var/lib/systemd/random-seed'), 'base seed\n');
  writeFileSync(join(root, 'kept'), 'kept\n');
  const layout = join(dir, 'seed-base');
  const bb = await run(['build', '--rootfs', root, '--output', `oci:${layout}:v1`, '--source-date-epoch', '1600000000', '--normalize', 'clamp-mtime']);
  assert.equal(bb.status, 0, bb.stderr);
  const d = join(dir, 'remove-passed');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'seed'), 'our seed\n');
  const s = join(d, 'image.yaml');
  writeFileSync(s, `name: remove-passed\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\n`
    + `base:\n  image: oci:${layout}:@${bb.stdout.trim()}\n  remove: [/var/lib/systemd/random-seed]\n`
    + 'packages: [hello-base]\nfiles:\n  - { src: seed, dest: /var/lib/systemd/random-seed }\n');
  assert.equal((await run(['lock', s])).status, 0);
  const b = await run(['build', s, '--output', `oci:${join(dir, 'out-passed')}:t`]);
  assert.equal(b.status, 0, b.stderr);
  const img = await imageOf(`oci:${join(dir, 'out-passed')}:t`);
  const flat = (await flattenLayers(img.layers)).entries;
  assert.equal(flat.has('var/lib/systemd/random-seed'), false, 'the base file is hidden, ours removed by the pass');
  assert.equal(flat.has('kept'), true);
  // With the pass off, our file does put the path back: refused.
  writeFileSync(s, `${readFileSync(s, 'utf8')}normalize: [clamp-mtime]\n`);
  assert.equal((await run(['lock', s])).status, 0);
  const refused = await run(['build', s, '--output', `oci:${join(dir, 'out-unpassed')}:t`]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /base\.remove: \/var\/lib\/systemd\/random-seed is removed from the base and put back/);
});
