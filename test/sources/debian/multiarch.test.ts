/**
 * One spec, two platforms (issue 19, part 1) on the hermetic signed repository made to carry amd64
 * and arm64: `lock` resolves each architecture from its own index into one lock (an Architecture:
 * all package listed once), `fetch` gets every .deb, `build` writes an OCI index (golden digest)
 * with one image per platform sorted by platform, `--platform linux/arm64` builds the index's arm64
 * image alone, skopeo reads the index, and `copy` to a registry and back keeps its digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { makeKey, makeRepo, type Repo } from '../../helpers/debian-repo.js';
import { MULTIARCH_PACKAGES } from '../../helpers/multiarch-packages.js';
import { readGolden } from '../../helpers/golden.js';
import { startRegistry, type StartedRegistry } from '../../transports/registry/harness.js';


let dir: string;
let repo: Repo;
let keyring: string;
const golden = readGolden('debian-multiarch.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'multiarch-'));
  const signer = makeKey(dir, 'archive');
  keyring = signer.keyring;
  repo = await makeRepo(dir, MULTIARCH_PACKAGES, signer, { architectures: ['amd64', 'arm64'] });
});
after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, source: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const path = join(d, 'image.yaml');
  writeFileSync(path, `name: ${name}\nsource:\n  distro: debian\n  suite: testing\n${source}  mirrors: ["${repo.url}"]\n  keyring: ${keyring}\npackages: [hello]\nconfig:\n  cmd: [/usr/bin/hello]\n`);
  return path;
}

const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

async function ok(args: string[], cache: string): Promise<string> {
  const r = await run(args, cache);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Lock {
  source: { architecture?: string; architectures?: string[]; indexes: Array<{ path: string }> };
  packages: Array<{ name: string; architecture: string }>;
  architectures?: Array<{ architecture: string; packages: string[] }>;
}

test('two architectures: one lock with a section each, one index with an image each (golden), --platform builds one of them', async () => {
  const spec = specFile('two', '  architectures: [arm64, amd64]\n');
  const cache = join(dir, 'cache');
  await ok(['lock', spec], cache);
  const lock = JSON.parse(readFileSync(join(dir, 'two/image.lock.json'), 'utf8')) as Lock;
  assert.deepEqual(lock.source.architectures, ['arm64', 'amd64']);
  assert.equal(lock.source.architecture, undefined);
  assert.deepEqual(lock.source.indexes.map((i) => i.path), ['main/binary-arm64/Packages.gz', 'main/binary-amd64/Packages.gz']);
  assert.deepEqual(lock.packages.map((p) => `${p.name}_${p.architecture}`), ['hello_amd64', 'hello_arm64', 'hello-data_all', 'libc-test_amd64', 'libc-test_arm64']);
  assert.deepEqual(lock.architectures, [
    { architecture: 'arm64', packages: ['hello-data_all', 'hello_arm64', 'libc-test_arm64'] },
    { architecture: 'amd64', packages: ['hello-data_all', 'hello_amd64', 'libc-test_amd64'] },
  ]);
  await ok(['fetch', spec], cache);

  const out = join(dir, 'two-image');
  const index = (await ok(['build', spec, '--offline', '--output', `oci:${out}:t`], cache)).trim();
  assert.equal(index, golden['index']);
  const raw = JSON.parse(await ok(['inspect', '--raw', `oci:${out}:t`], cache)) as { mediaType: string; manifests: Array<{ digest: string; platform: { architecture: string; variant?: string } }> };
  assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(raw.manifests.map((m) => `${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`), ['amd64', 'arm64/v8'], 'sorted by platform');

  // skopeo reads the index as it is.
  const sk = spawnSync('skopeo', ['inspect', '--raw', `oci:${out}:t`], { encoding: 'utf8' });
  assert.equal(sk.status, 0, sk.stderr);
  assert.equal(`sha256:${(await import('node:crypto')).createHash('sha256').update(sk.stdout).digest('hex')}`, index);

  // --platform: the arm64 image alone, the same as the index's.
  const one = (await ok(['build', spec, '--offline', '--platform', 'linux/arm64', '--output', `oci:${join(dir, 'arm64-image')}:t`], cache)).trim();
  assert.equal(one, raw.manifests[1]!.digest);
  const bad = await run(['build', spec, '--offline', '--platform', 'linux/s390x', '--output', `oci:${join(dir, 'none')}:t`], cache);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--platform linux\/s390x: the spec builds linux\/arm64\/v8, linux\/amd64/);

  // Each image has its own architecture's files and the shared package's.
  const tree = join(dir, 'arm64-tree');
  mkdirSync(tree);
  const manifest = JSON.parse(await ok(['inspect', '--raw', `oci:${join(dir, 'arm64-image')}:t`], cache)) as { layers: Array<{ digest: string }> };
  const layer = join(join(dir, 'arm64-image'), 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
  assert.equal(spawnSync('tar', ['-xzf', layer, '-C', tree]).status, 0);
  assert.equal(readFileSync(join(tree, 'usr/bin/hello'), 'utf8'), '#!/bin/sh\necho hello from arm64\n');
  assert.equal(readFileSync(join(tree, 'usr/lib/aarch64-linux-gnu/libtest.so.1'), 'utf8'), 'lib for arm64\n');
  assert.equal(readFileSync(join(tree, 'usr/share/hello/greeting.txt'), 'utf8'), 'hello\n');
  assert.match(readFileSync(join(tree, 'var/lib/dpkg/status'), 'utf8'), /Package: libc-test\nStatus: install ok installed[^]*Architecture: arm64/);

  // verify per platform: each platform's rebuilt image is the published index's entry for it.
  for (const p of ['linux/arm64', 'linux/amd64']) {
    const v = await ok(['verify', spec, '--offline', '--platform', p, '--against', `oci:${out}:t`], cache);
    assert.match(v, new RegExp(`^reproduced ${raw.manifests[p === 'linux/amd64' ? 0 : 1]!.digest}`));
  }
  // Rebuilt, the same index; diff of the two indexes finds nothing.
  assert.equal((await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'again')}:t`], cache)).trim(), index);
  for (const p of ['linux/arm64', 'linux/amd64']) {
    const same = await run(['diff', `oci:${out}:t`, `oci:${join(dir, 'again')}:t`, '--platform', p], cache);
    assert.equal(same.status, 0, same.stdout + same.stderr);
  }
  // diff per platform: the index's arm64 image and the one built alone differ only in what points
  // at them (an index there, a platform-tagged manifest descriptor here), not in any layer or file.
  const d = await run(['diff', `oci:${out}:t`, `oci:${join(dir, 'arm64-image')}:t`, '--platform', 'linux/arm64'], cache);
  assert.equal(d.status, 1, d.stdout + d.stderr);
  const diffs = d.stdout.split('Differences:\n')[1]!.trim().split('\n').map((l) => l.trim());
  assert.ok(diffs.length > 0 && diffs.every((l) => l.startsWith('index: descriptor.')), d.stdout);
});

test('copy of the index to a registry and back keeps its digest', async () => {
  const cache = join(dir, 'cache');
  const out = join(dir, 'two-image');
  let registry: StartedRegistry | undefined;
  try {
    registry = await startRegistry({ kind: 'none' });
    const ref = `docker://${registry.host}/multi/hello:v1`;
    await ok(['copy', `oci:${out}:t`, ref, '--dest-tls-verify=false'], cache);
    await ok(['copy', ref, `oci:${join(dir, 'back')}:t`, '--src-tls-verify=false'], cache);
    const a = JSON.parse(await ok(['inspect', '--raw', `oci:${join(dir, 'back')}:t`], cache)) as unknown;
    const b = JSON.parse(await ok(['inspect', '--raw', `oci:${out}:t`], cache)) as unknown;
    assert.deepEqual(a, b);
    const sk = spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', ref], { encoding: 'utf8' });
    assert.equal(sk.status, 0, sk.stderr);
    assert.equal(`sha256:${(await import('node:crypto')).createHash('sha256').update(sk.stdout).digest('hex')}`, golden['index']);
  } finally {
    await registry?.stop();
  }
});

test('a lock whose sections name a package it does not pin is refused, naming the field; diff of two equal indexes says identical', async () => {
  const cache = join(dir, 'cache');
  const spec = specFile('tampered', '  architectures: [amd64, arm64]\n');
  await ok(['lock', spec], cache);
  const path = join(dir, 'tampered/image.lock.json');
  const lock = JSON.parse(readFileSync(path, 'utf8')) as Lock;
  lock.architectures![1]!.packages[0] = 'not-there_arm64';
  writeFileSync(path, JSON.stringify(lock));
  const r = await run(['build', spec, '--output', `oci:${join(dir, 'tampered-out')}:t`], cache);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /architectures\.1\.packages\.0: not-there_arm64 is not among packages/);
  const d = await run(['diff', `oci:${join(dir, 'two-image')}:t`, `oci:${join(dir, 'again')}:t`], cache);
  assert.equal(d.status, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /identical/);
});

test('the inputs archive of a two-platform spec carries every .deb once: fetch --from it into an empty cache, build --offline gives the golden index', async () => {
  const spec = join(dir, 'two/image.yaml');
  await ok(['archive', spec, '--offline', '--output', `oci:${join(dir, 'inputs')}:1`], join(dir, 'cache'));
  const fresh = join(dir, 'cache-fresh');
  await ok(['fetch', spec, '--from', `oci:${join(dir, 'inputs')}:1`], fresh);
  assert.equal((await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'from-archive')}:t`], fresh)).trim(), golden['index']);
});

test('a single-architecture spec of the same repository still makes a lock of one architecture', async () => {
  const spec = specFile('one', '  architecture: arm64\n');
  await ok(['lock', spec], join(dir, 'cache'));
  const lock = JSON.parse(readFileSync(join(dir, 'one/image.lock.json'), 'utf8')) as Lock;
  assert.equal(lock.source.architecture, 'arm64');
  assert.equal(lock.architectures, undefined);
  assert.deepEqual(lock.packages.map((p) => p.name), ['hello', 'hello-data', 'libc-test']);
});

test('each platform of the index is byte for byte the image of a spec of that architecture alone, though the two locks list the packages in different orders', async () => {
  const cache = join(dir, 'cache');
  const two = JSON.parse(readFileSync(join(dir, 'two/image.lock.json'), 'utf8')) as Lock;
  const raw = JSON.parse(await ok(['inspect', '--raw', `oci:${join(dir, 'two-image')}:t`], cache)) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
  for (const architecture of ['arm64', 'amd64']) {
    // The same spec as 'two' but for source.architecture (name included: it is the spec's only other difference).
    const alone = specFile(`alone-${architecture}`, `  architecture: ${architecture}\n`);
    writeFileSync(alone, readFileSync(alone, 'utf8').replace(/^name: .*$/m, 'name: two'));
    await ok(['lock', alone], cache);
    const lock = JSON.parse(readFileSync(join(dir, `alone-${architecture}/image.lock.json`), 'utf8')) as Lock;
    // The single-architecture lock is in name order, the section in NAME_ARCH order ('_' sorts after '-').
    assert.deepEqual(lock.packages.map((p) => p.name), ['hello', 'hello-data', 'libc-test']);
    assert.deepEqual(two.architectures!.find((a) => a.architecture === architecture)!.packages.map((k) => k.replace(/_[^_]*$/, '')), ['hello-data', 'hello', 'libc-test']);
    const digest = (await ok(['build', alone, '--offline', '--output', `oci:${join(dir, `alone-${architecture}-image`)}:t`], cache)).trim();
    assert.equal(digest, raw.manifests.find((m) => m.platform.architecture === architecture)!.digest, architecture);
  }
});

test('spec errors: an architecture twice, architecture with architectures, an architecture the suite lacks, a base image', async () => {
  const cache = join(dir, 'cache');
  const twice = await run(['lock', specFile('twice', '  architectures: [arm64, arm64]\n')], cache);
  assert.equal(twice.status, 2);
  assert.match(twice.stderr, /source\.architectures\[1\]: arm64 is listed twice/);
  const both = await run(['lock', specFile('both', '  architecture: arm64\n  architectures: [amd64]\n')], cache);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /source\.architecture: give architecture or architectures, not both/);
  const missing = await run(['lock', specFile('missing', '  architectures: [amd64, riscv64]\n')], cache);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /source\.architectures: riscv64 is not in testing \(it has amd64, arm64\)/);
  // A base image is one platform's: refused before anything is read or fetched.
  const onBase = specFile('on-base', `  architectures: [amd64, arm64]\n`);
  writeFileSync(onBase, `${readFileSync(onBase, 'utf8')}base: docker://127.0.0.1:1/base@sha256:${'0'.repeat(64)}\n`);
  const based = await run(['lock', onBase], cache);
  assert.equal(based.status, 2, based.stderr);
  assert.match(based.stderr, /base: a base image is one platform's image; a spec with source\.architectures cannot build on it/);
});
