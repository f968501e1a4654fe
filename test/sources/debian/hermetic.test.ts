/**
 * Hermetic Debian builds: a signed repository made by test code and served on 127.0.0.1; lock →
 * fetch → build gives a committed golden digest, with alternatives, Provides, version
 * constraints, Replaces, a conffile and the merged /usr; and each way it can go wrong gives a
 * clear error: a bad signature, a tampered package, an unsatisfiable dependency, two packages
 * shipping one path, a stale lock.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../../helpers/debian-repo.js';
import { readGolden } from '../../helpers/golden.js';

const PACKAGES: TestPackage[] = [
  { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'from hello-base\n', '/bin/hello-sh': { data: '#!/bin/sh\necho hello\n', mode: 0o755 } } },
  { name: 'libfoo', version: '1.0', files: { '/usr/lib/libfoo.txt': 'libfoo 1.0\n' } },
  { name: 'libfoo', version: '2.0', compression: 'gzip', files: { '/usr/lib/libfoo.txt': 'libfoo 2.0\n' } },
  {
    name: 'app', version: '1.0', fields: { Depends: 'libfoo (>= 2.0), mailer, hello-base' },
    files: { '/usr/bin/app-edit': { data: '#!/bin/sh\n', mode: 0o755 }, '/usr/share/man/man1/app-edit.1.gz': 'man', '/etc/app.conf': 'setting=1\n' },
    conffiles: ['/etc/app.conf'],
    postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  update-alternatives --install /usr/bin/editor editor /usr/bin/app-edit 50 \\\n    --slave /usr/share/man/man1/editor.1.gz editor.1.gz /usr/share/man/man1/app-edit.1.gz\nfi\n',
  },
  { name: 'tinymail', version: '1.0', compression: 'zstd', fields: { Provides: 'mailer' }, files: { '/usr/sbin/sendmail': { data: '#!/bin/sh\n', mode: 0o755 } } },
  { name: 'newer-base', version: '1.0', compression: 'none', fields: { Replaces: 'hello-base (<< 2)' }, files: { '/usr/share/hello/base.txt': 'from newer-base\n' } },
  { name: 'clash-a', version: '1.0', files: { '/usr/share/clash.txt': 'a\n' } },
  { name: 'clash-b', version: '1.0', files: { '/usr/share/clash.txt': 'b\n' } },
  { name: 'needs-missing', version: '1.0', fields: { Depends: 'not-there (>= 1)' }, files: {} },
];

let dir: string;
let repo: Repo;
let keyring: string;
let otherKeyring: string;
const golden = readGolden('debian-hermetic.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hermetic-'));
  const signer = makeKey(dir, 'archive');
  keyring = signer.keyring;
  otherKeyring = makeKey(dir, 'stranger').keyring;
  repo = await makeRepo(dir, PACKAGES, signer);
});
after(async () => {
  await repo.close();
  for (const k of ['archive', 'stranger']) spawnSync('gpgconf', ['--homedir', join(dir, `gnupg-${k}`), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, packages: string[], ring = keyring): string {
  const d = join(dir, name);
  spawnSync('mkdir', ['-p', d]);
  const path = join(d, 'image.yaml');
  writeFileSync(path, `name: ${name}\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${ring}\npackages: [${packages.join(', ')}]\nconfig:\n  cmd: [/usr/bin/app-edit]\n`);
  return path;
}

const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

test('lock → fetch → build gives the golden digest; Replaces, Provides, versions and alternatives as dpkg would', async () => {
  const spec = specFile('main', ['app', 'newer-base']);
  const cache = join(dir, 'cache-main');
  const l = await run(['lock', spec], cache);
  assert.equal(l.status, 0, l.stderr);
  const lock = JSON.parse(readFileSync(join(dir, 'main/image.lock.json'), 'utf8')) as { packages: Array<{ name: string; version: string }>; source: { sourceDateEpoch: number } };
  assert.deepEqual(lock.packages.map((p) => `${p.name}=${p.version}`), ['app=1.0', 'hello-base=1.0', 'libfoo=2.0', 'newer-base=1.0', 'tinymail=1.0']);
  assert.equal(lock.source.sourceDateEpoch, 1700000000);
  assert.equal((await run(['fetch', spec], cache)).status, 0);
  // --offline needs no mirror at all: the same spec pointed at a port where nothing listens.
  writeFileSync(spec, readFileSync(spec, 'utf8').replace(repo.url, 'http://127.0.0.1:9/debian'));
  const out = join(dir, 'main-image');
  const b = await run(['build', spec, '--offline', '--output', `oci:${out}:t`], cache);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), golden['main'], 'packages in xz, gzip, zstd and uncompressed .debs');

  const bundle = join(dir, 'main-bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${out}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const root = join(bundle, 'rootfs');
  assert.equal(readFileSync(join(root, 'usr/share/hello/base.txt'), 'utf8'), 'from newer-base\n', 'the package that Replaces wins');
  assert.equal(readFileSync(join(root, 'usr/lib/libfoo.txt'), 'utf8'), 'libfoo 2.0\n');
  assert.ok(existsSync(join(root, 'usr/bin/hello-sh')), '/bin is merged into /usr/bin');
  const ls = spawnSync('sh', ['-c', 'readlink "$0/bin" "$0/usr/bin/editor" "$0/etc/alternatives/editor" "$0/usr/share/man/man1/editor.1.gz"', root], { encoding: 'utf8' });
  assert.deepEqual(ls.stdout.trim().split('\n'), ['usr/bin', '/etc/alternatives/editor', '/usr/bin/app-edit', '/etc/alternatives/editor.1.gz']);
  assert.equal(readFileSync(join(root, 'var/lib/dpkg/alternatives/editor'), 'utf8'),
    'auto\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n/usr/bin/app-edit\n50\n/usr/share/man/man1/app-edit.1.gz\n\n');
  const q = spawnSync('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-W', '-f', '${Package} ${Version} ${db:Status-Abbrev} ${Conffiles}\\n'], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /^app 1\.0 ii +\/etc\/app\.conf [0-9a-f]{32}$/m);
  assert.equal(q.stdout.trim().split('\n').length, 5);
  const list = spawnSync('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, '-L', 'hello-base'], { encoding: 'utf8' });
  assert.doesNotMatch(list.stdout, /base\.txt/, 'a replaced path leaves the list of the package it was taken from');
  assert.match(list.stdout, /^\/bin\/hello-sh$/m);
});

test('an InRelease signed by a key outside the keyring is refused (exit 1)', async () => {
  const spec = specFile('badsig', ['hello-base'], otherKeyring);
  const r = await run(['lock', spec], join(dir, 'cache-badsig'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /InRelease: no valid signature from the keyring/);
  assert.equal(existsSync(join(dir, 'badsig/image.lock.json')), false);
});

test('a tampered package (right size, wrong bytes) is refused and never enters the cache', async () => {
  const spec = specFile('tampered', ['libfoo']);
  const cache = join(dir, 'cache-tampered');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  const path = 'pool/main/libfoo_2.0_amd64.deb';
  const bad = Buffer.from(readFileSync(join(repo.dir, path)));
  bad[bad.length - 3] = bad[bad.length - 3]! ^ 0xff;
  repo.overrides.set(path, bad);
  try {
    const r = await run(['fetch', spec], cache);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /libfoo_2\.0_amd64\.deb.*sha256:[0-9a-f]{64}.*sha256:[0-9a-f]{64}/);
    const cached = existsSync(join(cache, 'repro-image/sha256')) ? readdirSync(join(cache, 'repro-image/sha256')) : [];
    const lock = JSON.parse(readFileSync(join(dir, 'tampered/image.lock.json'), 'utf8')) as { packages: Array<{ sha256: string }> };
    assert.equal(cached.includes(lock.packages[0]!.sha256), false);
    assert.deepEqual(cached.filter((f) => f.includes('.tmp')), []);
  } finally {
    repo.overrides.delete(path);
  }
});

test('an unsatisfiable dependency names the chain (exit 2)', async () => {
  const r = await run(['lock', specFile('unsat', ['needs-missing'])], join(dir, 'cache-unsat'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /unsatisfiable Depends: not-there \(>= 1\), needed by \(named in the spec\) → needs-missing/);
});

test('two packages shipping one path without Replaces is an error naming both', async () => {
  const spec = specFile('clash', ['clash-a', 'clash-b']);
  const cache = join(dir, 'cache-clash');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  const r = await run(['build', spec, '--output', `oci:${join(dir, 'clash-image')}:t`], cache);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /usr\/share\/clash\.txt is shipped by both clash-a 1\.0 and clash-b 1\.0, and neither Replaces the other/);
  assert.equal(existsSync(join(dir, 'clash-image')), false);
});

test('a lock that no longer matches its spec is refused with the fix', async () => {
  const spec = specFile('stale', ['hello-base']);
  const cache = join(dir, 'cache-stale');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  writeFileSync(spec, readFileSync(spec, 'utf8').replace('packages: [hello-base]', 'packages: [hello-base, libfoo]'));
  const r = await run(['build', spec, '--output', `oci:${join(dir, 'stale-image')}:t`], cache);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /image\.lock\.json was made for other spec inputs .*run 'repro-image lock .*image\.yaml' again/);
});

test('a cached package that no longer matches its digest is refused at build time', async () => {
  const spec = specFile('rot', ['hello-base']);
  const cache = join(dir, 'cache-rot');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  assert.equal((await run(['fetch', spec], cache)).status, 0);
  const lock = JSON.parse(readFileSync(join(dir, 'rot/image.lock.json'), 'utf8')) as { packages: Array<{ sha256: string }> };
  const cached = join(cache, 'repro-image/sha256', lock.packages[0]!.sha256);
  const bytes = readFileSync(cached);
  bytes[100] = bytes[100]! ^ 1;
  writeFileSync(cached, bytes);
  const r = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'rot-image')}:t`], cache);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /in the cache has sha256:[0-9a-f]{64} .*the lock says sha256:[0-9a-f]{64}.*fetch again/);
  assert.equal(existsSync(join(dir, 'rot-image')), false);
});

test('verify SPEC rebuilds from the lock and proves (or disproves) a published image', async () => {
  const spec = specFile('verify', ['hello-base']);
  const cache = join(dir, 'cache-verify');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  const published = join(dir, 'verify-published');
  const b = await run(['build', spec, '--output', `oci:${published}:v1`], cache);
  assert.equal(b.status, 0, b.stderr);
  const ok = await run(['verify', spec, '--offline', '--against', `oci:${published}:v1`, '--json'], cache);
  assert.equal(ok.status, 0, ok.stderr);
  const record = JSON.parse(ok.stdout) as { verdict: string; inputs: { spec: string; lock: { digest: string }; sourceDateEpoch: number }; rebuilt: { manifest: string } };
  assert.equal(record.verdict, 'reproduced');
  assert.equal(record.rebuilt.manifest, b.stdout.trim());
  assert.equal(record.inputs.sourceDateEpoch, 1700000000);
  assert.match(record.inputs.lock.digest, /^sha256:[0-9a-f]{64}$/);
  // What the spec sets cannot come from the command line, for build and verify alike.
  for (const cmd of [['build', spec, '--output', `oci:${join(dir, 'never')}:x`], ['verify', spec, '--against', `oci:${published}:v1`]]) {
    const r = await run([...cmd, '--compression', 'zstd'], cache);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /image\.yaml: --compression is set in the spec, not on the command line\n$/);
  }
  assert.equal(existsSync(join(dir, 'never')), false);
  // The image config is not part of the lock: a changed cmd rebuilds fine and no longer matches.
  writeFileSync(spec, readFileSync(spec, 'utf8').replace('cmd: [/usr/bin/app-edit]', 'cmd: [/bin/sh]'));
  const bad = await run(['verify', spec, '--offline', '--against', `oci:${published}:v1`], cache);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stdout, /^not reproduced: rebuilt sha256:[0-9a-f]{64}, published sha256:[0-9a-f]{64}/);
  assert.match(bad.stdout, /Cmd/);
});
