/**
 * Hermetic Arch Linux builds: signed repositories made by test code (our package writer and the
 * real makepkg, the real repo-add, gpg) served on 127.0.0.1 in the Arch Linux Archive's layout.
 * lock → fetch → build gives a committed golden digest; the pacman database we write is read by the
 * real pacman (-Q, -Qi, -Ql, -Qkk) exactly as the one a pacman -S of the same packages into an empty
 * root leaves, and the trees agree; each way it can go wrong gives a clear error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Cache } from '../../../src/fetch/cache.js';
import { lockArch } from '../../../src/sources/arch/lock.js';
import { parseSpec } from '../../../src/spec/load.js';
import { specDigest } from '../../../src/spec/lockfile.js';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { SNAPSHOT, SNAPSHOT_EPOCH, makeArchRepo, makeKey, makepkg, openUp, type ArchRepo, type TestArchPackage } from '../../helpers/arch-repo.js';
import { readGolden } from '../../helpers/golden.js';

const CORE: TestArchPackage[] = [
  {
    name: 'filesystem', version: '2024.01-1', arch: 'any', backup: ['etc/passwd', 'etc/group'],
    files: {
      'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'etc/group': 'root:x:0:root\n', 'bin': { link: 'usr/bin' }, 'lib': { link: 'usr/lib' },
      'usr/bin': { dir: true }, 'usr/lib': { dir: true }, 'tmp': { dir: true, mode: 0o1777 }, 'var/lib': { dir: true },
    },
  },
  { name: 'glibc', version: '2.39-1', depends: ['filesystem'], provides: ['libc.so=6-64'], files: { 'usr/lib/libc.so.6': 'libc\n' } },
  {
    name: 'bash', version: '5.2.026-2', compression: 'xz', depends: ['readline>=8', 'glibc'], provides: ['sh'], groups: ['shells'],
    files: { 'usr/bin/bash': { data: '#!bash\n', mode: 0o755 }, 'usr/bin/sh': { link: 'bash' } },
  },
  { name: 'dash', version: '0.5.12-1', depends: ['glibc'], provides: ['sh'], groups: ['shells'], files: { 'usr/bin/dash': { data: '#!dash\n', mode: 0o755 } } },
  { name: 'readline', version: '8.2.010-1', compression: 'gz', depends: ['glibc'], provides: ['libreadline.so=8-64'], files: { 'usr/lib/libreadline.so.8': 'readline 8\n' } },
  {
    name: 'hello', version: '1:2.12-3', depends: ['sh', 'libfoo.so=1-64', 'readline>=8.2'], optdepends: ['dash: a smaller sh'],
    backup: ['etc/hello.conf'], install: 'post_install() {\n  echo hello installed\n}\n', license: ['GPL-3.0-or-later', 'custom'],
    files: {
      'usr/bin/hello': { data: '#!/bin/sh\necho hello\n', mode: 0o755 }, 'etc/hello.conf': 'greeting=hi\n',
      'usr/share/doc/hello/read me.txt': 'a name with a space\n', 'usr/share/hello/empty': { dir: true },
    },
  },
  { name: 'needs-missing', version: '1.0-1', depends: ['not-there>=1'], files: { 'usr/share/needs-missing': 'x\n' } },
  { name: 'clash-a', version: '1.0-1', conflicts: ['clash-b'], files: { 'usr/share/clash-a': 'a\n' } },
  { name: 'clash-b', version: '1.0-1', files: { 'usr/share/clash-b': 'b\n' } },
  { name: 'owns-a', version: '1.0-1', files: { 'usr/share/shared.txt': 'a\n' } },
  { name: 'owns-b', version: '1.0-1', files: { 'usr/share/shared.txt': 'b\n' } },
];

const EXTRA: TestArchPackage[] = [
  { name: 'libfoo', version: '1.2-1', depends: ['glibc'], provides: ['libfoo.so=1-64'], files: { 'usr/lib/libfoo.so.1': 'libfoo 1.2\n' } },
  // A newer readline in a later repository: pacman takes the first repository's.
  { name: 'readline', version: '9.0-1', depends: ['glibc'], files: { 'usr/lib/libreadline.so.9': 'readline 9\n' } },
];

const UNSIGNED: TestArchPackage[] = [{ name: 'loose', version: '1.0-1', files: { 'usr/share/loose': 'unsigned\n' } }];

const GREETER_PKGBUILD = `pkgname=greeter
pkgver=0.9
pkgrel=2
pkgdesc="built by the real makepkg"
arch=(x86_64)
url="https://greeter.invalid"
license=(MIT)
depends=(sh 'glibc>=2.39')
provides=('greeting=0.9')
backup=(etc/greeter.conf)
options=(!strip !debug)
install=greeter.install
package() {
  install -Dm755 /dev/stdin "$pkgdir/usr/bin/greeter" <<<'#!/bin/sh'
  install -Dm640 /dev/stdin "$pkgdir/etc/greeter.conf" <<<'name=world'
  ln -s greeter "$pkgdir/usr/bin/greet"
}
`;

let dir: string;
let repo: ArchRepo;
let keyring: string;
let otherKeyring: string;
const golden = readGolden('arch-hermetic.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arch-hermetic-'));
  openUp(dir);
  const signer = makeKey(dir, 'packager');
  keyring = signer.keyring;
  otherKeyring = makeKey(dir, 'stranger').keyring;
  const greeter = makepkg(join(dir, 'makepkg-greeter'), GREETER_PKGBUILD, { 'greeter.install': 'post_install() {\n  :\n}\n' });
  repo = await makeArchRepo(dir, [
    { name: 'core', packages: CORE, signatures: 'database' },
    { name: 'extra', packages: [...EXTRA, greeter], signatures: 'file', db: 'zst' },
    { name: 'unsigned', packages: UNSIGNED, signatures: 'none' },
  ], signer);
});
after(async () => {
  await repo.close();
  for (const k of ['packager', 'stranger', 'pacman-gpg']) spawnSync('gpgconf', ['--homedir', join(dir, `gnupg-${k}`), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, packages: string[], opts: { keyring?: string | null; mirror?: string; repos?: string[] } = {}): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const path = join(d, 'image.yaml');
  const ring = opts.keyring === undefined ? keyring : opts.keyring;
  writeFileSync(path, [
    `name: ${name}`, 'source:', '  distro: arch', `  snapshot: ${SNAPSHOT}`, `  repositories: [${(opts.repos ?? ['core', 'extra']).join(', ')}]`,
    `  mirrors: ["${opts.mirror ?? repo.url}"]`, ...(ring === null ? [] : [`  keyring: ${ring}`]),
    `packages: [${packages.join(', ')}]`, 'config:', '  cmd: [/usr/bin/hello]', '',
  ].join('\n'));
  return path;
}

const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

interface Lock {
  source: { sourceDateEpoch: number; signatures: string; repositories: Array<{ name: string }> };
  packages: Array<{ name: string; version: string; repository: string; reason: string; signature: { in: string } }>;
}
const readLock = (name: string): Lock => JSON.parse(readFileSync(join(dir, name, 'image.lock.json'), 'utf8')) as Lock;

async function unpack(ref: string, name: string): Promise<string> {
  const bundle = join(dir, `${name}-bundle`);
  const u = spawnSync('umoci', ['unpack', '--image', ref, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  return join(bundle, 'rootfs');
}

test('lock → fetch → build gives the golden digest, with packages chosen and ordered as pacman -S would', async () => {
  const spec = specFile('main', ['hello']);
  const cache = join(dir, 'cache-main');
  const l = await run(['lock', spec], cache);
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /6 packages from the 2024\/03\/01 snapshot \(core, extra\)/);
  const lock = readLock('main');
  assert.deepEqual(lock.packages.map((p) => `${p.repository}/${p.name}=${p.version} ${p.reason} ${p.signature.in}`), [
    'core/filesystem=2024.01-1 dependency database',
    'core/glibc=2.39-1 dependency database',
    'core/readline=8.2.010-1 dependency database',
    'core/bash=5.2.026-2 dependency database',
    'extra/libfoo=1.2-1 dependency file',
    'core/hello=1:2.12-3 explicit database',
  ], 'bash is the first provider of sh; readline from the first repository; dependencies first');
  assert.equal(lock.source.sourceDateEpoch, SNAPSHOT_EPOCH, 'SOURCE_DATE_EPOCH defaults to the snapshot day at 00:00 UTC');
  assert.equal(lock.source.signatures, 'verified');
  const f = await run(['fetch', spec], cache);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stdout, /^7 locked files in /, 'six packages and the one .sig file');
  // --offline opens no connection: the spec now names a port where nothing listens.
  writeFileSync(spec, readFileSync(spec, 'utf8').replace(repo.url, 'http://127.0.0.1:9/repos'));
  const out = join(dir, 'main-image');
  const b = await run(['build', spec, '--offline', '--output', `oci:${out}:t`], cache);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), golden['main'], 'packages in zstd, xz and gzip; signatures from the database and from .sig files');
  assert.match(b.stderr, /pacman-database: 6 changed/);

  const root = await unpack(`${out}:t`, 'main');
  const desc = readFileSync(join(root, 'var/lib/pacman/local/hello-1:2.12-3/desc'), 'utf8');
  assert.match(desc, /%INSTALLDATE%\n1709251200\n/);
  assert.match(desc, /%VALIDATION%\npgp\n\n/, 'signature from the database: pacman skips the checksum');
  assert.match(readFileSync(join(root, 'var/lib/pacman/local/libfoo-1.2-1/desc'), 'utf8'), /%REASON%\n1\n\n[^]*%VALIDATION%\nsha256\npgp\n\n/);
  assert.equal(readFileSync(join(root, 'var/lib/pacman/local/ALPM_DB_VERSION'), 'utf8'), '9\n');
  assert.equal(existsSync(join(root, 'etc/pacman.d/gnupg')), false);
  assert.equal(readFileSync(join(root, 'usr/bin/hello'), 'utf8'), '#!/bin/sh\necho hello\n');
});

/** pacman's gpg directory trusting the test packager, as pacman-key --populate would. */
function pacmanGpgDir(): string {
  const home = join(dir, 'gnupg-pacman-gpg');
  if (existsSync(home)) return home;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--quiet', '--import', keyring], { env, stdio: 'pipe' });
  const fpr = execFileSync('gpg', ['--batch', '--with-colons', '--list-keys'], { env, encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  execFileSync('gpg', ['--batch', '--quiet', '--import-ownertrust'], { env, input: `${fpr}:6:\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  return home;
}

/** pacstrap's core: pacman -Sy into an empty root, from the same repositories (no scriptlets, no hooks). */
function pacstrap(root: string, packages: string[]): void {
  mkdirSync(join(root, 'var/lib/pacman'), { recursive: true });
  const conf = join(dir, 'pacman.conf');
  const server = `${pathToFileURL(repo.dir).href}/$repo/os/$arch`;
  writeFileSync(conf, `[options]\nArchitecture = x86_64\nSigLevel = Required DatabaseOptional\n[core]\nServer = ${server}\n[extra]\nServer = ${server}\n`);
  const args = ['--noconfirm', '--noscriptlet', '--config', conf, '-r', root, '--dbpath', join(root, 'var/lib/pacman'), '--cachedir', join(root, 'var/cache/pacman/pkg'),
    '--gpgdir', pacmanGpgDir(), '--logfile', '/dev/null', '--hookdir', join(dir, 'no-hooks'), '-Sy', ...packages];
  const asRoot = process.getuid?.() === 0;
  const r = spawnSync(asRoot ? 'pacman' : 'fakeroot', asRoot ? args : ['pacman', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
}

function pacmanQ(root: string, args: string[]): string {
  const r = spawnSync('pacman', ['-r', root, '--dbpath', join(root, 'var/lib/pacman'), ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  assert.equal(r.status, 0, `pacman ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.replaceAll(root, 'ROOT');
}

/**
 * Every path with type, mode, owner, size and link target, and the times of files and links outside
 * pacman's own directories. Left out: the contents of the sync databases and the package cache,
 * which pacstrap fills and the Arch repro image empties (as we leave them empty), and the size of
 * a directory, which is the file system's (4096 on ext4; on tmpfs it counts the names it held).
 */
function listTree(root: string): string[] {
  const out = execFileSync('find', ['.', '-printf', '%p|%y|%m|%U|%G|%s|%l|%T@\\n'], { cwd: root, encoding: 'utf8' });
  return out.trim().split('\n').filter((l) => !/^\.\/var\/(lib\/pacman\/sync|cache\/pacman\/pkg)\//.test(l)).map((l) => {
    const parts = l.split('|');
    if (parts[1] === 'd') parts[5] = '-';
    const keepTime = (parts[1] === 'f' || parts[1] === 'l') && !parts[0]!.startsWith('./var/lib/pacman/');
    return (keepTime ? parts : parts.slice(0, -1)).join('|');
  }).sort();
}

test('real pacman reads our database exactly as the one pacman -S leaves, and the trees agree', async () => {
  const spec = specFile('compare', ['hello', 'greeter']);
  const cache = join(dir, 'cache-compare');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  // lock leaves every pinned file (packages and .sig files) in the cache: build needs no network.
  const b = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'compare-image')}:t`], cache);
  assert.equal(b.status, 0, b.stderr);
  const ours = await unpack(`${join(dir, 'compare-image')}:t`, 'compare');
  const theirs = join(dir, 'pacstrap-root');
  pacstrap(theirs, ['hello', 'greeter']);

  assert.equal(pacmanQ(ours, ['-Q']), pacmanQ(theirs, ['-Q']));
  assert.equal(pacmanQ(ours, ['-Q']), 'bash 5.2.026-2\nfilesystem 2024.01-1\nglibc 2.39-1\ngreeter 0.9-2\nhello 1:2.12-3\nlibfoo 1.2-1\nreadline 8.2.010-1\n');
  assert.equal(pacmanQ(ours, ['-Ql']), pacmanQ(theirs, ['-Ql']), 'file lists');
  const info = (root: string): string => pacmanQ(root, ['-Qi']).replace(/^Install Date .*$/gm, 'Install Date');
  assert.equal(info(ours), info(theirs), 'every field of -Qi but the install date');
  assert.match(pacmanQ(ours, ['-Qi', 'hello']), /Install Date +: Fri Mar {2}1 00:00:00 2024/);
  assert.equal(pacmanQ(ours, ['-Qkk']), pacmanQ(theirs, ['-Qkk']), 'mtree checks (modes, sizes, times, digests) pass alike');
  assert.match(pacmanQ(ours, ['-Qkk']), /^greeter: 7 total files, 0 altered files$/m);

  const db = join('var/lib/pacman/local');
  for (const pkg of readdirSync(join(theirs, db)).sort()) {
    if (pkg === 'ALPM_DB_VERSION') continue;
    for (const f of readdirSync(join(theirs, db, pkg)).sort()) {
      const a = readFileSync(join(ours, db, pkg, f), 'latin1');
      const t = readFileSync(join(theirs, db, pkg, f), 'latin1');
      if (f === 'desc') assert.equal(a, t.replace(/%INSTALLDATE%\n\d+\n/, '%INSTALLDATE%\n1709251200\n'), `${pkg}/desc`);
      else assert.equal(a, t, `${pkg}/${f}`);
    }
    assert.deepEqual(readdirSync(join(ours, db, pkg)).sort(), readdirSync(join(theirs, db, pkg)).sort(), pkg);
  }
  assert.deepEqual(listTree(ours), listTree(theirs));
});

test('a lock from a file:// copy or a $repo/os/$arch mirror is the same lock', async () => {
  const web = specFile('mirror-web', ['hello']);
  const file = specFile('mirror-file', ['hello'], { mirror: pathToFileURL(repo.dir).href });
  const tmpl = specFile('mirror-tmpl', ['hello'], { mirror: `${repo.url}/$repo/os/$arch` });
  for (const s of [web, file, tmpl]) assert.equal((await run(['lock', s], join(dir, 'cache-mirrors'))).status, 0);
  const text = (n: string): string => readFileSync(join(dir, n, 'image.lock.json'), 'utf8');
  assert.equal(text('mirror-file'), text('mirror-web'));
  assert.equal(text('mirror-tmpl'), text('mirror-web'));
});

test('packages signed by a key outside the keyring are refused (exit 1), and no lock is written', async () => {
  const spec = specFile('badsig', ['hello'], { keyring: otherKeyring });
  const r = await run(['lock', spec], join(dir, 'cache-badsig'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /core\/filesystem-2024\.01-1-any\.pkg\.tar\.zst: signature \(%PGPSIG%\): no valid signature from the keyring/);
  assert.equal(existsSync(join(dir, 'badsig/image.lock.json')), false);
});

test('a database signature, where a mirror has one, must verify', async () => {
  const path = 'core/os/x86_64/core.db.sig';
  const sigs = join(repo.dir, 'extra/os/x86_64');
  repo.overrides.set(path, readFileSync(join(sigs, readdirSync(sigs).find((f) => f.endsWith('.sig'))!)));
  try {
    const r = await run(['lock', specFile('dbsig', ['glibc'])], join(dir, 'cache-dbsig'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /core\/os\/x86_64\/core\.db\.sig: no valid signature from the keyring/);
  } finally {
    repo.overrides.delete(path);
  }
});

test('a .sig that does not match its package is refused (exit 1)', async () => {
  const path = 'extra/os/x86_64/libfoo-1.2-1-x86_64.pkg.tar.zst.sig';
  repo.overrides.set(path, readFileSync(join(repo.dir, 'extra/os/x86_64', readdirSync(join(repo.dir, 'extra/os/x86_64')).find((f) => f.startsWith('readline-9.0') && f.endsWith('.sig'))!)));
  try {
    const r = await run(['lock', specFile('wrongsig', ['libfoo'])], join(dir, 'cache-wrongsig'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /extra\/libfoo-1\.2-1-x86_64\.pkg\.tar\.zst: signature\.sig: no valid signature from the keyring \([0-9a-f]{16}: Signed digest did not match\)/);
  } finally {
    repo.overrides.delete(path);
  }
});

test('a tampered package (right size, wrong bytes) is refused by lock and by fetch, and never enters the cache', async () => {
  const spec = specFile('tampered', ['libfoo']);
  assert.equal((await run(['lock', spec], join(dir, 'cache-tampered-first'))).status, 0);
  const path = 'extra/os/x86_64/libfoo-1.2-1-x86_64.pkg.tar.zst';
  const bad = Buffer.from(readFileSync(join(repo.dir, path)));
  bad[bad.length - 5] = bad[bad.length - 5]! ^ 0xff;
  repo.overrides.set(path, bad);
  try {
    for (const cmd of ['fetch', 'lock']) {
      const cache = join(dir, `cache-tampered-${cmd}`);
      const r = await run([cmd, spec], cache);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /libfoo-1\.2-1-x86_64\.pkg\.tar\.zst.*sha256:[0-9a-f]{64}.*sha256:[0-9a-f]{64}/);
      const cached = existsSync(join(cache, 'repro-image/sha256')) ? readdirSync(join(cache, 'repro-image/sha256')) : [];
      assert.equal(cached.some((f) => f.includes('.tmp')), false);
      assert.equal(cached.includes(createHashHex(bad)), false);
    }
  } finally {
    repo.overrides.delete(path);
  }
});

function createHashHex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('a missing dependency names the chain (exit 2)', async () => {
  const r = await run(['lock', specFile('missing', ['needs-missing'])], join(dir, 'cache-missing'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /cannot resolve "not-there>=1", a dependency of "needs-missing" \(needs-missing ← named in the spec\)/);
  const t = await run(['lock', specFile('notfound', ['no-such-package'])], join(dir, 'cache-missing'));
  assert.equal(t.status, 2);
  assert.match(t.stderr, /target not found: no-such-package/);
});

test('conflicting packages, and two packages shipping one file, are errors naming both', async () => {
  const c = await run(['lock', specFile('conflict', ['clash-a', 'clash-b'])], join(dir, 'cache-conflict'));
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr, /clash-a 1\.0-1 and clash-b 1\.0-1 are in conflict/);
  const spec = specFile('owns', ['owns-a', 'owns-b']);
  const cache = join(dir, 'cache-owns');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  const b = await run(['build', spec, '--output', `oci:${join(dir, 'owns-image')}:t`], cache);
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /conflicting files: \/usr\/share\/shared\.txt exists in both owns-a 1\.0-1 and owns-b 1\.0-1/);
  assert.equal(existsSync(join(dir, 'owns-image')), false);
});

test('without a keyring, or with an unsigned package, lock refuses unless --no-verify-signatures is given', async () => {
  const spec = specFile('nokeyring', ['hello'], { keyring: null });
  const loaded = parseSpec(readFileSync(spec, 'utf8'), spec);
  assert.ok(loaded.source.distro === 'arch');
  await assert.rejects(lockArch({ ...loaded, source: loaded.source }, { specDir: join(dir, 'nokeyring'), cache: new Cache(join(dir, 'cache-nokeyring')), specDigest: specDigest(loaded), verifySignatures: true, hostKeyrings: [] }),
    // The library names its option; the CLI prints the flag (--no-verify-signatures), checked below.
    (e: Error & { code?: string }) => e.code === 'E_SPEC' && /no pacman keyring .*noVerifySignatures/.test(e.message));

  const unsigned = specFile('unsigned', ['loose'], { repos: ['core', 'unsigned'] });
  const r = await run(['lock', unsigned], join(dir, 'cache-unsigned'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /unsigned\/loose-1\.0-1-x86_64\.pkg\.tar\.zst: unsigned \(neither %PGPSIG% in unsigned\.db nor loose-1\.0-1-x86_64\.pkg\.tar\.zst\.sig on any mirror\)/);
  const ok = await run(['lock', unsigned, '--no-verify-signatures'], join(dir, 'cache-unsigned'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /signatures not checked/);
  const b = await run(['build', unsigned, '--output', `oci:${join(dir, 'unsigned-image')}:t`], join(dir, 'cache-unsigned'));
  assert.equal(b.status, 0, b.stderr);
  const root = await unpack(`${join(dir, 'unsigned-image')}:t`, 'unsigned');
  assert.match(readFileSync(join(root, 'var/lib/pacman/local/loose-1.0-1/desc'), 'utf8'), /%VALIDATION%\nsha256\n\n/, 'as pacman with SigLevel = Never');
});

test('a lock that no longer matches its spec is refused with the fix', async () => {
  const spec = specFile('stale', ['libfoo']);
  const cache = join(dir, 'cache-stale');
  assert.equal((await run(['lock', spec], cache)).status, 0);
  writeFileSync(spec, readFileSync(spec, 'utf8').replace('packages: [libfoo]', 'packages: [libfoo, dash]'));
  const r = await run(['build', spec, '--output', `oci:${join(dir, 'stale-image')}:t`], cache);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /image\.lock\.json was made for other spec inputs .*run 'repro-image lock .*image\.yaml' again/);
});
