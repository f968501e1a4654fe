/**
 * The library is as good as the CLI. The package is packed as `npm pack` packs it, unpacked into
 * a fresh project's node_modules (its dependencies beside it), and examples/library/run.mjs,
 * which only imports 'repro-image', locks, fetches, builds from a spec and from a rootfs, diffs
 * with an HTML report, copies and verifies. What it gets must be what the CLI prints for the same
 * calls: the same digests, the same diff report, the same verify findings.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCliAsync } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo } from '../helpers/debian-repo.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let dir: string;
let repo: Repo;
let app: string;
let spec: string;
let rootfs: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'library-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, [
    { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'from hello-base\n' } },
    { name: 'greeter', version: '1.0', fields: { Depends: 'hello-base' }, files: { '/usr/bin/greet': { data: '#!/bin/sh\necho hi\n', mode: 0o755 } } },
  ], signer);
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec', 'image.yaml');
  writeFileSync(spec, `name: lib\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\npackages: [greeter]\n`);
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
  writeFileSync(join(rootfs, 'usr/bin/greet'), '#!/bin/sh\necho hello\n', { mode: 0o755 });

  // npm pack, as a user's install gets it (dist/ is built by `npm test`; no scripts run here).
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const tarball = join(dir, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
  app = join(dir, 'app');
  const pkg = join(app, 'node_modules', 'repro-image');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1']);
  for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
    if (dep.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
  }
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true,"type":"module"}\n');
});

after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('the packed package holds the compiled library and CLI, and nothing of the tests', () => {
  const files: string[] = [];
  const walk = (d: string, rel = ''): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else files.push(`${rel}${e.name}`);
    }
  };
  walk(join(app, 'node_modules', 'repro-image'));
  assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts') && files.includes('dist/src/cli/main.js'), files.slice(0, 20).join(' '));
  assert.deepEqual(files.filter((f) => f.startsWith('dist/test/') || f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('src/')), []);
});

test('a program that imports the package gets what the CLI gets', async () => {
  const work = join(dir, 'lib-work');
  mkdirSync(work);
  const script = join(app, 'run.mjs');
  writeFileSync(script, readFileSync(join(ROOT, 'examples/library/run.mjs')));
  // Asynchronously: the repository is served from this process.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((ok, fail) => {
    const env = { ...process.env };
    delete env['SOURCE_DATE_EPOCH'];
    const child = spawn(process.execPath, [script, spec, rootfs, work], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', fail);
    child.on('close', (status) => ok({ status, stdout, stderr }));
  });
  assert.equal(r.status, 0, r.stderr);
  const lib = JSON.parse(r.stdout) as {
    lock: { packages: number }; fetched: number; builds: { spec: string; rootfs: string };
    diff: { identical: boolean; findings: unknown[] }; copy: { digest: string; digestKept: boolean };
    inspect: { problems: string[] };
    verify: { same: { verdict: string; findings: unknown[] }; other: { verdict: string; findings: Array<{ path: string }> } };
  };
  assert.equal(lib.lock.packages, 2);
  assert.equal(lib.fetched, 2);
  assert.equal(lib.copy.digest, lib.builds.spec);
  assert.deepEqual(lib.inspect.problems, []);
  assert.equal(lib.diff.identical, false);
  assert.match(readFileSync(join(work, 'report.html'), 'utf8'), /^<!doctype html>/);
  assert.equal(lib.verify.same.verdict, 'reproduced');
  assert.equal(lib.verify.other.verdict, 'not-reproduced');
  // The library's verify runs the diff engine too: file-level findings, not only digests.
  assert.ok(lib.verify.other.findings.some((f) => f.path.startsWith('diff.')), JSON.stringify(lib.verify.other.findings));

  // The CLI, on the same inputs.
  const env = { XDG_CACHE_HOME: join(dir, 'cli-cache'), SOURCE_DATE_EPOCH: undefined };
  const images = join(dir, 'cli-images');
  assert.equal((await runCliAsync(['lock', spec], { env })).status, 0);
  const s = await runCliAsync(['build', spec, '--output', `oci:${images}:spec`], { env });
  assert.equal(s.stdout.trim(), lib.builds.spec, s.stderr);
  const t = await runCliAsync(['build', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', `oci:${images}:rootfs`], { env });
  assert.equal(t.stdout.trim(), lib.builds.rootfs, t.stderr);
  const d = await runCliAsync(['diff', `oci:${join(work, 'images')}:spec`, `oci:${join(work, 'images')}:rootfs`, '--format', 'json'], { env });
  assert.deepEqual(JSON.parse(d.stdout), lib.diff);
  const v = await runCliAsync(['verify', spec, '--offline', '--against', `oci:${join(work, 'images')}:rootfs`, '--json'], { env });
  assert.equal(v.status, 1, v.stderr);
  assert.deepEqual((JSON.parse(v.stdout) as { findings: unknown[] }).findings, lib.verify.other.findings);
});
