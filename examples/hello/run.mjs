#!/usr/bin/env node
// The main job on the bundled example: generate the example rootfs twice (in a different file
// creation order, under a different umask, TZ and LANG, in different temp dirs, at different
// times), build each into an OCI layout, print both manifest digests and check they are equal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeRootfs } from './make-rootfs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../../dist/src/cli/main.js');
const SOURCE_DATE_EPOCH = '1700000000';

function buildOnce(label, reverse, env, umask) {
  const work = mkdtempSync(join(tmpdir(), `repro-image-example-${label}-`));
  const rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, { reverse });
  const out = join(work, 'image');
  const r = spawnSync('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, cli, 'build',
    '--rootfs', rootfs, '--output', `oci:${out}:hello`, '--entrypoint', '["/usr/bin/hello"]',
    '--env', 'PATH=/usr/bin', '--label', 'org.opencontainers.image.title=hello'],
  { env: { ...process.env, ...env, SOURCE_DATE_EPOCH }, encoding: 'utf8' });
  process.stderr.write(r.stderr);
  if (r.status !== 0) process.exit(r.status ?? 3);
  return { digest: r.stdout.trim(), out, work };
}

const a = buildOnce('a', false, { TZ: 'UTC', LANG: 'C.UTF-8' }, '022');
const b = buildOnce('b', true, { TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8' }, '077');
process.stdout.write(`build 1: ${a.digest}  (oci:${a.out}:hello)\nbuild 2: ${b.digest}  (oci:${b.out}:hello)\n`);
if (a.digest !== b.digest) {
  process.stdout.write('DIFFERENT: the two builds do not match\n');
  process.exit(1);
}
process.stdout.write('identical: both builds produced the same image\n');
if (!process.argv.includes('--keep')) for (const w of [a.work, b.work]) rmSync(w, { recursive: true, force: true });
