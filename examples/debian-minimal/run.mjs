#!/usr/bin/env node
// The main job: the bundled Debian example, pinned by its committed lock, fetched into the cache
// and built twice: the second time --offline, with a separate temp dir, another umask, TZ and
// LANG. Prints both manifest digests and checks they are equal. Then the same for its two-platform
// variant (multiarch.yaml, amd64 and arm64 in one OCI index), printing both index digests.
// If the mirror no longer serves a locked version (Debian point releases replace packages), the
// spec is locked again and the run says so: the digest then differs from the one in the README.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../../dist/src/cli/main.js');
const spec = join(here, 'image.yaml');

function run(args, { env = {}, umask = '022', quiet = false } = {}) {
  const r = spawnSync('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, cli, ...args],
    { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'] });
  return { status: r.status ?? 3, stdout: r.stdout.trim(), stderr: r.stderr ?? '' };
}

function must(r, what) {
  if (r.status !== 0) {
    process.stderr.write(`${r.stderr}${what} failed (exit ${r.status})\n`);
    process.exit(r.status);
  }
  return r;
}

// Setup: .deb data is xz-compressed and read through the xz program. On a Debian host without it,
// install it when we may (as root); otherwise say what is missing.
if (spawnSync('sh', ['-c', 'command -v xz']).status !== 0) {
  const root = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (!root || !apt) {
    process.stderr.write('the example needs the xz program: install xz-utils (apt-get install xz-utils) and run it again\n');
    process.exit(2);
  }
  process.stderr.write('installing xz-utils (needed to read .deb data)\n');
  const r = spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xz-utils'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(3);
}

/** Locks (if there is no lock), fetches and builds SPEC twice, the second time --offline under
 * another umask, TZ, LANG and temp dir; prints both digests and returns whether they are equal. */
function buildTwice(spec, lock, what) {
  if (!existsSync(join(here, lock))) must(run(['lock', spec]), `lock ${what}`);
  let fetched = run(['fetch', spec], { quiet: true });
  if (fetched.status !== 0 && /HTTP 404|no source served/.test(fetched.stderr)) {
    process.stderr.write(`the mirror no longer has every package ${lock} pins: locking ${what} again\n`);
    must(run(['lock', spec]), `lock ${what}`);
    fetched = run(['fetch', spec], { quiet: true });
  }
  must(fetched, `fetch ${what}`);
  process.stderr.write(`${fetched.stdout}\n`);
  const a = mkdtempSync(join(tmpdir(), 'repro-image-debian-a-'));
  const b = mkdtempSync(join(tmpdir(), 'repro-image-debian-b-'));
  const one = must(run(['build', spec, '--output', `oci:${a}/image:latest`], { env: { TZ: 'UTC', LANG: 'C.UTF-8' } }), `build 1 of ${what}`).stdout;
  const two = must(run(['build', spec, '--offline', '--output', `oci:${b}/image:latest`], { env: { TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', TMPDIR: b }, umask: '077' }), `build 2 of ${what}`).stdout;
  process.stdout.write(`${what}\nbuild 1: ${one}  (oci:${a}/image:latest)\nbuild 2: ${two}  (oci:${b}/image:latest, --offline)\n`);
  if (!process.argv.includes('--keep')) for (const d of [a, b]) rmSync(d, { recursive: true, force: true });
  return one === two;
}

// The image of one platform (image.yaml), then its two-platform variant (multiarch.yaml: amd64
// and arm64 in one OCI index, whose digest the builds print).
const single = buildTwice(spec, 'image.lock.json', 'debian-minimal (linux/amd64): manifest digest');
const multi = buildTwice(join(here, 'multiarch.yaml'), 'multiarch.lock.json', 'debian-minimal-multiarch (linux/amd64, linux/arm64/v8): index digest');
if (!single || !multi) {
  process.stdout.write('DIFFERENT: the two builds do not match\n');
  process.exit(1);
}
process.stdout.write('identical: both builds of each produced the same image\n');
