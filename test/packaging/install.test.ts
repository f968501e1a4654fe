/**
 * The package installs the way Node tools are installed: `npm pack` holds the compiled CLI and
 * library and nothing else (no tests, benches, sources or source maps); `npm install -g` of the
 * tarball into an empty prefix puts a working `repro-image` on PATH (--version, build, verify), its
 * man page where man finds it, and a completion script bash loads. Installed without running
 * install scripts — a host without a C++ compiler, or an npm that does not run them — it still
 * builds and verifies gzip images; zstd is refused in one line and `version` says what is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VERSION = (JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: ROOT, encoding: 'utf8' })) as { version: string }).version;

let dir: string;
let tarball: string;
let files: string[];
let rootfs: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'packaging-'));
  // dist/ is built by `npm test`; prepack (which builds it) is not run again under the running tests.
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const info = (JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/motd'), 'installed\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

function install(prefix: string, extra: string[] = []): void {
  const cwd = join(dir, `empty-${prefix.split('/').at(-1)}`);
  mkdirSync(cwd);
  const r = spawnSync('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ...extra, tarball],
    { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 600_000 });
  assert.equal(r.status, 0, `npm install: ${r.stderr}`);
}

function run(prefix: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('repro-image', args, { encoding: 'utf8', cwd: dir, env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH']}`, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('the tarball holds the compiled CLI and library, the man page, the schema and the README, and nothing else', () => {
  const outside = files.filter((f) => !f.startsWith('dist/src/'));
  assert.deepEqual(outside.sort(), ['README.md', 'docs/image-spec.schema.json', 'package.json', 'repro-image.1']);
  assert.ok(files.includes('dist/src/cli/main.js') && files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'));
  assert.deepEqual(files.filter((f) => f.endsWith('.map') || f.startsWith('dist/test/')), []);
});

test('npm install -g of the tarball: repro-image --version, build, verify, man and completion work', () => {
  const prefix = join(dir, 'prefix');
  install(prefix);
  assert.equal(run(prefix, ['--version']).stdout, `repro-image ${VERSION}\n`);
  const v = JSON.parse(run(prefix, ['version', '--json']).stdout) as { zstd: string | null; xattrs: boolean };
  assert.equal(v.zstd, '1.5.7', 'the zstd addon was built');
  assert.equal(v.xattrs, true, 'the fs-xattr addon was built');
  const out = join(dir, 'image');
  const b = run(prefix, ['build', '-q', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--compression', 'zstd', '--output', `oci:${out}:t`]);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stderr, '');
  const ver = run(prefix, ['verify', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--compression', 'zstd', '--against', `oci:${out}:t`]);
  assert.equal(ver.status, 0, ver.stderr);
  assert.equal(ver.stdout, `reproduced ${b.stdout.trim()}\n`);
  const man = spawnSync('man', ['repro-image'], { encoding: 'utf8', env: { ...process.env, MANPATH: join(prefix, 'share/man'), MANPAGER: 'cat', MANWIDTH: '80' } });
  assert.equal(man.status, 0, man.stderr);
  assert.match(man.stdout, /^NAME\n\s+repro-image - bit-for-bit reproducible/m);
  const bash = spawnSync('bash', ['--norc', '-c', 'source <(repro-image completion bash) && COMP_WORDS=(repro-image ver) COMP_CWORD=1 && _repro_image && echo "${COMPREPLY[@]}"'],
    { encoding: 'utf8', env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH']}` } });
  assert.equal(bash.stdout, 'verify version\n', bash.stderr);
});

test('installed without install scripts (no compiler): a directory needs --no-xattrs, gzip builds and verifies, zstd is refused in one line', () => {
  const prefix = join(dir, 'prefix-noscripts');
  install(prefix, ['--ignore-scripts']);
  const v = run(prefix, ['version']);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^zstd: not available: the zstd-napi addon is not built/m);
  assert.match(v.stdout, /^xattrs: not available: the fs-xattr addon is not built/m);
  const out = join(dir, 'image-noscripts');
  // Extended attributes are never dropped silently: refused in one line, naming the way out.
  const refused = run(prefix, ['build', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', `oci:${out}:t`]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^repro-image: .*cannot read extended attributes: the fs-xattr native addon does not load .*--no-xattrs/m);
  const b = run(prefix, ['build', '--no-xattrs', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', `oci:${out}:t`]);
  assert.equal(b.status, 0, b.stderr);
  const ver = run(prefix, ['verify', '-q', '--no-xattrs', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--against', `oci:${out}:t`]);
  assert.equal(ver.status, 0, ver.stderr);
  const z = run(prefix, ['build', '--no-xattrs', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--compression', 'zstd', '--output', `oci:${out}-zstd`]);
  assert.equal(z.status, 2);
  assert.match(z.stderr, /^repro-image: --compression zstd: zstd needs the zstd-napi native addon, which does not load .*; install it with 'npm ci' or 'npm rebuild zstd-napi' where g\+\+, make and python3 are present, or compress with gzip \(--compression gzip\)\n$/m);
  // Reading a zstd image needs it too: refused in one line, exit 2.
  const zimg = join(dir, 'image');
  const read = run(prefix, ['inspect', `oci:${zimg}:t`]);
  assert.notEqual(read.status, 0);
  assert.match(read.stderr, /zstd needs the zstd-napi native addon, which does not load/);
});
