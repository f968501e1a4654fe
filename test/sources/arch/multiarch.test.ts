/**
 * One Arch Linux spec, two platforms (issue 19, Arch part) on hermetic signed repositories served
 * on 127.0.0.1: x86_64 in the Arch Linux Archive's layout (`$repo/os/$arch`), aarch64 in Arch Linux
 * ARM's (`$arch/$repo`), named per architecture in `source.mirrors`. `lock` resolves each
 * architecture from its own databases into one lock (an `any` package given alike by both listed
 * once, one that differs kept per architecture), the lock is stable, `fetch` into an empty cache
 * gets every file, `build` writes an OCI index (golden digest) with one image per platform sorted
 * by platform, each with its architecture's pacman database; `--platform` builds the index's image
 * alone, a spec of that architecture alone builds the same image, `verify` proves the index;
 * an architecture without mirrors is a one-line spec error naming the field to add.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { SNAPSHOT, makeArchRepo, makeKey, openUp, type ArchRepo, type TestArchPackage } from '../../helpers/arch-repo.js';
import { readGolden } from '../../helpers/golden.js';
import { provenanceStatement } from '../../../src/index.js';

/** The packages of one architecture: its own glibc, bash and hello; filesystem alike for both; tzdata per architecture. */
function packages(arch: string): TestArchPackage[] {
  const loader = arch === 'x86_64' ? 'usr/lib/ld-linux-x86-64.so.2' : 'usr/lib/ld-linux-aarch64.so.1';
  return [
    {
      name: 'filesystem', version: '2024.01-1', arch: 'any', backup: ['etc/passwd'],
      files: { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'bin': { link: 'usr/bin' }, 'lib': { link: 'usr/lib' }, 'usr/bin': { dir: true }, 'usr/lib': { dir: true } },
    },
    // Same file name, other bytes: Arch Linux ARM builds its own `any` packages.
    { name: 'tzdata', version: '2024a-1', arch: 'any', files: { 'usr/share/zoneinfo/UTC': `TZif built for ${arch}\n` } },
    { name: 'glibc', version: '2.39-1', arch, depends: ['filesystem', 'tzdata'], files: { [loader]: `loader for ${arch}\n` } },
    { name: 'bash', version: '5.2.026-2', arch, depends: ['glibc'], provides: ['sh'], files: { 'usr/bin/bash': { data: `#!bash ${arch}\n`, mode: 0o755 }, 'usr/bin/sh': { link: 'bash' } } },
    { name: 'hello', version: '2.12-3', arch, depends: ['sh'], files: { 'usr/bin/hello': { data: `#!/bin/sh\necho hello from ${arch}\n`, mode: 0o755 } } },
  ];
}

let dir: string;
let x86: ArchRepo;
let arm: ArchRepo;
let keyring: string;
const golden = readGolden('arch-multiarch.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arch-multiarch-'));
  openUp(dir);
  const signer = makeKey(dir, 'packager');
  keyring = signer.keyring;
  x86 = await makeArchRepo(dir, [{ name: 'core', packages: packages('x86_64'), signatures: 'database' }], signer, 'x86_64');
  arm = await makeArchRepo(dir, [{ name: 'core', packages: packages('aarch64'), signatures: 'database' }], signer, 'aarch64', 'arm');
});
after(async () => {
  await x86.close();
  await arm.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-packager'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, source: string, mirrors?: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const path = join(d, 'image.yaml');
  const m = mirrors ?? `  mirrors:\n    x86_64: ["${x86.mirror}"]\n    aarch64: ["${arm.mirror}"]\n`;
  writeFileSync(path, `name: ${name}\nsource:\n  distro: arch\n  snapshot: ${SNAPSHOT}\n  repositories: [core]\n${source}${m}  keyring: ${keyring}\npackages: [hello]\nconfig:\n  cmd: [/usr/bin/hello]\n`);
  return path;
}

const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

async function ok(args: string[], cache: string): Promise<string> {
  const r = await run(args, cache);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

interface Lock {
  source: { architecture?: string; architectures?: string[]; repositories?: unknown[] };
  packages: Array<{ name: string; architecture: string; filename: string; sha256: string; for?: string[] }>;
  architectures?: Array<{ architecture: string; repositories: Array<{ name: string }>; packages: string[] }>;
}

/** The files of an image's single layer, extracted. */
async function extract(layout: string, to: string, cache: string, platform?: string): Promise<string> {
  const manifest = JSON.parse(await ok(['inspect', '--raw', `oci:${layout}:t`, ...(platform ? ['--platform', platform] : [])], cache)) as { layers: Array<{ digest: string }> };
  assert.equal(manifest.layers.length, 1);
  mkdirSync(to, { recursive: true });
  const r = spawnSync('tar', ['-xzf', join(layout, 'blobs/sha256', manifest.layers[0]!.digest.slice(7)), '-C', to]);
  assert.equal(r.status, 0, String(r.stderr));
  return to;
}

test('two architectures: one lock with a section each (a shared any package once), one index with an image each (golden); --platform and a spec of one architecture build the same image; verify of the index', async () => {
  const spec = specFile('two', '  architectures: [aarch64, x86_64]\n');
  const cache = join(dir, 'cache');
  await ok(['lock', spec], cache);
  const lockPath = join(dir, 'two/image.lock.json');
  const bytes = readFileSync(lockPath);
  const lock = JSON.parse(bytes.toString('utf8')) as Lock;
  assert.deepEqual(lock.source.architectures, ['aarch64', 'x86_64']);
  assert.equal(lock.source.architecture, undefined);
  assert.equal(lock.source.repositories, undefined);
  assert.deepEqual(lock.packages.map((p) => `${p.name} ${p.architecture} ${p.for!.join('+')}`), [
    'bash aarch64 aarch64', 'bash x86_64 x86_64',
    'filesystem any aarch64+x86_64',
    'glibc aarch64 aarch64', 'glibc x86_64 x86_64',
    'hello aarch64 aarch64', 'hello x86_64 x86_64',
    'tzdata any aarch64', 'tzdata any x86_64',
  ]);
  const tz = lock.packages.filter((p) => p.name === 'tzdata');
  assert.equal(tz[0]!.filename, tz[1]!.filename, 'same file name');
  assert.notEqual(tz[0]!.sha256, tz[1]!.sha256, 'other bytes: not shared');
  assert.deepEqual(lock.architectures!.map((a) => [a.architecture, a.repositories.map((r) => r.name), a.packages]), [
    ['aarch64', ['core'], ['filesystem', 'tzdata', 'glibc', 'bash', 'hello']],
    ['x86_64', ['core'], ['filesystem', 'tzdata', 'glibc', 'bash', 'hello']],
  ]);
  // Locked again: the same bytes.
  await ok(['lock', spec], cache);
  assert.ok(readFileSync(lockPath).equals(bytes), 'lock twice, same bytes');

  // fetch into an empty cache gets every file of both architectures; build then needs no network.
  const fresh = join(dir, 'cache-fresh');
  const fetched = await ok(['fetch', spec], fresh);
  assert.match(fetched, /^9 locked files /, fetched);
  const out = join(dir, 'two-image');
  const index = (await ok(['build', spec, '--offline', '--output', `oci:${out}:t`], fresh)).trim();
  const raw = JSON.parse(await ok(['inspect', '--raw', `oci:${out}:t`], fresh)) as { mediaType: string; manifests: Array<{ digest: string; platform: { os: string; architecture: string; variant?: string } }> };
  assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(raw.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`), ['linux/amd64', 'linux/arm64/v8'], 'sorted by platform');
  assert.deepEqual({ index, amd64: raw.manifests[0]!.digest, arm64: raw.manifests[1]!.digest }, golden);

  // skopeo reads the index as it is.
  const sk = spawnSync('skopeo', ['inspect', '--raw', `oci:${out}:t`], { encoding: 'utf8' });
  assert.equal(sk.status, 0, sk.stderr);
  assert.equal(`sha256:${createHash('sha256').update(sk.stdout).digest('hex')}`, index);

  // Each image: its architecture's files and pacman database, the shared package's files.
  for (const [platform, arch] of [['linux/amd64', 'x86_64'], ['linux/arm64', 'aarch64']] as const) {
    const tree = await extract(out, join(dir, `tree-${arch}`), fresh, platform);
    assert.equal(readFileSync(join(tree, 'usr/bin/hello'), 'utf8'), `#!/bin/sh\necho hello from ${arch}\n`);
    assert.equal(readFileSync(join(tree, 'usr/share/zoneinfo/UTC'), 'utf8'), `TZif built for ${arch}\n`);
    assert.equal(readFileSync(join(tree, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    for (const p of ['bash-5.2.026-2', 'glibc-2.39-1', 'hello-2.12-3']) {
      assert.match(readFileSync(join(tree, `var/lib/pacman/local/${p}/desc`), 'utf8'), new RegExp(`\n%ARCH%\n${arch}\n`), `${arch}: ${p}`);
    }
    for (const p of ['filesystem-2024.01-1', 'tzdata-2024a-1']) assert.match(readFileSync(join(tree, `var/lib/pacman/local/${p}/desc`), 'utf8'), /\n%ARCH%\nany\n/);
    // The real pacman reads the database: every package, each with its architecture, every file there.
    const pacman = (args: string[]): string => {
      const r = spawnSync('pacman', ['-r', tree, '--dbpath', join(tree, 'var/lib/pacman'), ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
      assert.equal(r.status, 0, `pacman ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(pacman(['-Q']), 'bash 5.2.026-2\nfilesystem 2024.01-1\nglibc 2.39-1\nhello 2.12-3\ntzdata 2024a-1\n');
    assert.match(pacman(['-Qi', 'glibc']), new RegExp(`\nArchitecture +: ${arch}\n`));
    pacman(['-Qk']);
    const config = JSON.parse(await ok(['inspect', '--config', `oci:${out}:t`, '--platform', platform], fresh)) as { architecture: string; variant?: string };
    assert.equal(config.architecture, platform.split('/')[1]);
  }

  // --platform: the aarch64 image alone, the same as the index's; an unknown platform is refused.
  const one = (await ok(['build', spec, '--offline', '--platform', 'linux/arm64', '--output', `oci:${join(dir, 'arm64-image')}:t`], fresh)).trim();
  assert.equal(one, raw.manifests[1]!.digest);
  const bad = await run(['build', spec, '--offline', '--platform', 'linux/riscv64', '--output', `oci:${join(dir, 'none')}:t`], fresh);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--platform linux\/riscv64: the spec builds linux\/arm64\/v8, linux\/amd64/);

  // A spec of aarch64 alone (same name: the spec's only other difference) builds the index's image.
  const alone = specFile('alone', '  architecture: aarch64\n', `  mirrors:\n    aarch64: ["${arm.mirror}"]\n`);
  writeFileSync(alone, readFileSync(alone, 'utf8').replace(/^name: .*$/m, 'name: two'));
  await ok(['lock', alone], fresh);
  const single = JSON.parse(readFileSync(join(dir, 'alone/image.lock.json'), 'utf8')) as Lock;
  assert.equal(single.source.architecture, 'aarch64');
  assert.deepEqual(single.packages.map((p) => p.name), lock.architectures![0]!.packages);
  assert.ok(single.packages.every((p) => p.for === undefined));
  assert.equal((await ok(['build', alone, '--offline', '--output', `oci:${join(dir, 'alone-image')}:t`], fresh)).trim(), raw.manifests[1]!.digest);

  // verify: the index rebuilt and compared, each platform named; and one platform against it.
  const v = await ok(['verify', spec, '--offline', '--against', `oci:${out}:t`], fresh);
  assert.deepEqual(v.trim().split('\n').slice(0, 3), [
    `reproduced ${index} (index of 2 platforms)`,
    `  linux/amd64: reproduced ${raw.manifests[0]!.digest}`,
    `  linux/arm64/v8: reproduced ${raw.manifests[1]!.digest}`,
  ]);
  const v1 = await ok(['verify', spec, '--offline', '--platform', 'linux/amd64', '--against', `oci:${out}:t`], fresh);
  assert.match(v1, new RegExp(`^reproduced ${raw.manifests[0]!.digest}`));
  // Built again, the same index; diff per platform finds nothing.
  assert.equal((await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'again')}:t`], fresh)).trim(), index);
  const same = await run(['diff', `oci:${out}:t`, `oci:${join(dir, 'again')}:t`, '--platform', 'linux/arm64'], fresh);
  assert.equal(same.status, 0, same.stdout + same.stderr);
});

test('an architecture without mirrors that serve it is a one-line spec error naming the field to add; so are an architecture twice, both fields, a mirror list for an architecture not built', async () => {
  const cache = join(dir, 'cache');
  const missing = await run(['lock', specFile('missing', '  architectures: [x86_64, aarch64]\n', `  mirrors:\n    x86_64: ["${x86.mirror}"]\n`)], cache);
  assert.equal(missing.status, 2, missing.stderr);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /image\.yaml:\d+:\d+: source\.architectures\[1\]: aarch64: the Arch Linux Archive has x86_64 only; add source\.mirrors\.aarch64: \[URL, …\] naming mirrors that serve aarch64/);
  const alone = await run(['lock', specFile('missing-one', '  architecture: aarch64\n', '')], cache);
  assert.equal(alone.status, 2, alone.stderr);
  assert.match(alone.stderr, /source\.architecture: aarch64: the Arch Linux Archive has x86_64 only; add source\.mirrors\.aarch64/);
  // One list for every architecture counts as mirrors for aarch64.
  const listed = await run(['lock', specFile('listed', '  architectures: [x86_64, aarch64]\n', `  mirrors: ["${arm.mirror}"]\n`)], cache);
  assert.doesNotMatch(listed.stderr, /E_SPEC|source\.architectures/);
  const twice = await run(['lock', specFile('twice', '  architectures: [aarch64, aarch64]\n')], cache);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /source\.architectures\[1\]: aarch64 is listed twice/);
  const both = await run(['lock', specFile('both', '  architecture: aarch64\n  architectures: [x86_64]\n')], cache);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /source\.architecture: give architecture or architectures, not both/);
  const extra = await run(['lock', specFile('extra', '  architectures: [x86_64]\n')], cache);
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /source\.mirrors\.aarch64: aarch64 is not an architecture this spec builds \(x86_64\)/);
});

test('a lock whose section names a package not pinned for its architecture is refused, naming the field', async () => {
  const cache = join(dir, 'cache');
  const spec = specFile('tampered', '  architectures: [x86_64, aarch64]\n');
  await ok(['lock', spec], cache);
  const path = join(dir, 'tampered/image.lock.json');
  const lock = JSON.parse(readFileSync(path, 'utf8')) as Lock;
  lock.packages.find((p) => p.name === 'filesystem')!.for = ['x86_64'];
  writeFileSync(path, JSON.stringify(lock));
  const r = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'tampered-out')}:t`], cache);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /architectures\.1\.packages\.0: filesystem is not among packages for aarch64/);
});

test('provenance of a two-architecture spec names every locked package file by its package URL (keys ARCH/NAME are no package names)', () => {
  const spec = join(dir, 'two/image.yaml');
  const image = { manifest: { digest: `sha256:${'a'.repeat(64)}` }, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, sourceDateEpoch: 1709251200 };
  const s = JSON.parse(provenanceStatement({ spec }, image).toString()) as { predicate: { buildDefinition: { resolvedDependencies: Array<{ name: string; uri?: string }> } } };
  const deps = s.predicate.buildDefinition.resolvedDependencies;
  const pkgs = deps.filter((d) => /\.pkg\.tar\.[a-z]+$/.test(d.name));
  assert.equal(pkgs.length, 9, deps.map((d) => d.name).join(' '));
  for (const d of pkgs) assert.match(d.uri ?? '(none)', /^pkg:alpm\/arch\//, d.name);
  // The two different tzdata files (same name, version, any) keep two package URLs.
  assert.equal(new Set(pkgs.filter((d) => d.name.startsWith('tzdata')).map((d) => d.uri)).size, 2);
  const sigs = deps.filter((d) => d.name.endsWith('.sig'));
  for (const d of sigs) assert.match(d.uri ?? '(none)', /^pkg:alpm\/arch\/.+#/, d.name);
});

test('the inputs archive of a two-architecture spec carries every package file once: fetch --from it into an empty cache, build --offline gives the golden index', async () => {
  const spec = join(dir, 'two/image.yaml');
  await ok(['archive', spec, '--offline', '--output', `oci:${join(dir, 'inputs')}:1`], join(dir, 'cache'));
  const manifest = JSON.parse(await ok(['inspect', '--raw', `oci:${join(dir, 'inputs')}:1`], join(dir, 'cache'))) as { layers: Array<{ annotations?: Record<string, string> }> };
  const keys = manifest.layers.map((l) => l.annotations?.['dev.repro-image.input.key']).filter((k) => k !== undefined).sort();
  assert.deepEqual(keys, ['aarch64/bash', 'aarch64/filesystem', 'aarch64/glibc', 'aarch64/hello', 'aarch64/tzdata', 'x86_64/bash', 'x86_64/glibc', 'x86_64/hello', 'x86_64/tzdata']);
  // sbom of the lock: one package per file, the two tzdata files told apart by their checksum.
  const sbom = JSON.parse(await ok(['sbom', spec], join(dir, 'cache'))) as { packages: Array<{ SPDXID: string; name: string; externalRefs?: Array<{ referenceLocator: string }> }> };
  const pkgs = sbom.packages.filter((p) => p.SPDXID !== 'SPDXRef-Subject');
  assert.equal(pkgs.length, 9);
  assert.equal(new Set(pkgs.map((p) => p.SPDXID)).size, 9, 'SPDX identifiers apart');
  const tz = pkgs.filter((p) => p.name === 'tzdata').map((p) => p.externalRefs![0]!.referenceLocator);
  assert.equal(tz.length, 2);
  for (const u of tz) assert.match(u, /^pkg:alpm\/arch\/tzdata@2024a-1\?arch=any&checksum=sha256(:|%3A)[0-9a-f]{64}$/);
  const fresh = join(dir, 'cache-from-archive');
  await ok(['fetch', spec, '--from', `oci:${join(dir, 'inputs')}:1`], fresh);
  assert.equal((await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'from-archive')}:t`], fresh)).trim(), golden['index']);
});
