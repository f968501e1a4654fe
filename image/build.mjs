#!/usr/bin/env node
// The tool's own container image, built by the tool from its own package, reproducibly:
//   1. npm pack (prepare builds dist/): the package exactly as npm would publish it;
//   2. that tarball installed, with its dependencies at the versions package.json pins and
//      without the optional native addons or any install script, into image/stage/;
//   3. repro-image build image/repro-image.yaml: Debian trixie's Node.js (pinned by
//      image/repro-image.lock.json) with the staged package as files.
// Prints the manifest digest and writes the image to oci:image/out:repro-image (or OUTPUT).
//
//   node image/build.mjs [--output REF]     build once
//   node image/build.mjs --check            build twice — the second time from a fresh pack and
//                                           stage, --offline, under another umask, TZ, LANG and
//                                           temp dir — require the same digest, then prove it
//                                           with `repro-image verify` against the first build
//   node image/build.mjs --verify REF       stage the package as above, then prove REF (a published
//                                           image, e.g. docker://HOST/repro-image:TAG) with
//                                           `repro-image verify`
//   node image/build.mjs --lock             lock the Debian packages again (network)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cli = join(root, 'dist/src/cli/main.js');
const spec = join(here, 'repro-image.yaml');
const stage = join(here, 'stage');
const args = process.argv.slice(2);

function run(cmd, argv, { env = {}, umask = '022', cwd = root, quiet = false } = {}) {
  const r = spawnSync('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, cmd, ...argv],
    { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(`${r.stderr ?? ''}${cmd} ${argv.join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 3);
  }
  return r.stdout.trim();
}

/** Removes from DIR/node_modules every package that DIR's dependencies (not optional) do not need. */
function pruneTo(dir) {
  const modules = join(dir, 'node_modules');
  const need = new Set();
  const visit = (pkgDir) => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    for (const name of Object.keys(pkg.dependencies ?? {})) {
      if (need.has(name)) continue;
      need.add(name);
      visit(join(modules, name));
    }
  };
  visit(dir);
  for (const entry of readdirSync(modules)) {
    if (entry === '.bin' || entry.startsWith('.package-lock')) continue;
    const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) if (!need.has(name)) rmSync(join(modules, name), { recursive: true, force: true });
    if (entry.startsWith('@') && readdirSync(join(modules, entry)).length === 0) rmSync(join(modules, entry), { recursive: true });
  }
  // Links in .bin to packages now gone.
  const bin = join(modules, '.bin');
  for (const l of existsSync(bin) ? readdirSync(bin) : []) if (!existsSync(join(bin, l))) rmSync(join(bin, l));
}

/** npm pack, then the tarball installed into image/stage (no optional addons, no scripts). */
function makeStage({ umask }) {
  const packDir = mkdtempSync(join(tmpdir(), 'repro-image-pack-'));
  try {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], { quiet: true, umask }));
    const tarball = join(packDir, packed[0].filename);
    rmSync(stage, { recursive: true, force: true });
    mkdirSync(stage);
    run('npm', ['install', '--global', '--prefix', stage, '--omit=optional', '--omit=dev', '--ignore-scripts',
      '--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier', tarball], { quiet: true, umask });
    // npm installs optional dependencies into a global prefix even with --omit=optional: keep only
    // what the package's dependencies need (the native addons would be unbuilt here anyway).
    pruneTo(join(stage, 'lib/node_modules/repro-image'));
    // The README names this image's digest: leaving it out keeps the image from depending on it.
    rmSync(join(stage, 'lib/node_modules/repro-image/README.md'));
    // npm's own record of the install (paths, not content): not part of the tool.
    rmSync(join(stage, 'lib/node_modules/repro-image/node_modules/.package-lock.json'), { force: true });
    // The directories a container needs that no package of the image ships: /tmp and /root.
    for (const d of ['tmp', 'root']) mkdirSync(join(stage, 'skel', d), { recursive: true });
    return readdirSync(join(stage, 'lib/node_modules/repro-image/node_modules')).filter((d) => !d.startsWith('.'));
  } finally {
    rmSync(packDir, { recursive: true, force: true });
  }
}

function build(output, { offline = false, env = {}, umask = '022' } = {}) {
  return run(process.execPath, [cli, 'build', '-q', spec, ...(offline ? ['--offline'] : []), '--output', output], { env, umask });
}

if (args[0] === '--lock') {
  for (const d of ['lib/node_modules/repro-image', 'skel']) mkdirSync(join(stage, d), { recursive: true });
  run(process.execPath, [cli, 'lock', spec]);
  process.exit(0);
}

if (args[0] === '--check') {
  const a = mkdtempSync(join(tmpdir(), 'repro-image-self-a-'));
  const b = mkdtempSync(join(tmpdir(), 'repro-image-self-b-'));
  try {
    const deps = makeStage({ umask: '022' });
    const one = build(`oci:${a}/image:repro-image`, { env: { TZ: 'UTC', LANG: 'C.UTF-8' } });
    makeStage({ umask: '077' });
    const two = build(`oci:${b}/image:repro-image`, { offline: true, env: { TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', TMPDIR: b }, umask: '077' });
    process.stdout.write(`build 1: ${one}\nbuild 2: ${two}  (fresh pack and stage, --offline, umask 077, other TZ, LANG, temp dir)\n`);
    process.stdout.write(`dependencies in the image: ${deps.join(', ')}\n`);
    if (one !== two) {
      process.stdout.write('DIFFERENT: the two builds do not match\n');
      run(process.execPath, [cli, 'diff', `oci:${a}/image:repro-image`, `oci:${b}/image:repro-image`]);
      process.exit(1);
    }
    const proof = run(process.execPath, [cli, 'verify', spec, '--offline', '--against', `oci:${a}/image:repro-image`]);
    process.stdout.write(`${proof}\n`);
  } finally {
    for (const d of [a, b]) rmSync(d, { recursive: true, force: true });
  }
  process.exit(0);
}

if (args[0] === '--verify') {
  if (!args[1]) {
    process.stderr.write('usage: node image/build.mjs --verify REF\n');
    process.exit(2);
  }
  makeStage({ umask: '022' });
  const r = spawnSync(process.execPath, [cli, 'verify', spec, '--against', ...args.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 3);
}

const o = args.indexOf('--output');
const output = o >= 0 ? args[o + 1] : `oci:${join(here, 'out')}:repro-image`;
makeStage({ umask: '022' });
process.stdout.write(`${build(output)}\n`);
