/**
 * Layer strategies on an Arch Linux build (hermetic signed pacman repository): the same rules as
 * Debian's, read from pacman's database; the layers applied in order give the single-layer tree;
 * pacman's local database goes into the last layer; golden digests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers } from '../../src/image/flatten.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeArchRepo, makeKey, openUp, SNAPSHOT, type ArchRepo, type TestArchPackage } from '../helpers/arch-repo.js';
import { readGolden } from '../helpers/golden.js';

const CORE: TestArchPackage[] = [
  {
    name: 'filesystem', version: '2024.01-1', arch: 'any', backup: ['etc/passwd', 'etc/group'],
    files: {
      'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'etc/group': 'root:x:0:root\n', 'bin': { link: 'usr/bin' }, 'lib': { link: 'usr/lib' },
      'usr/bin': { dir: true }, 'usr/lib': { dir: true }, 'tmp': { dir: true, mode: 0o1777 }, 'var/lib': { dir: true },
    },
  },
  { name: 'glibc', version: '2.39-1', depends: ['filesystem'], provides: ['libc.so=6-64'], files: { 'usr/lib/libc.so.6': 'libc\n' } },
  { name: 'bash', version: '5.2.026-2', depends: ['readline>=8', 'glibc'], provides: ['sh'], files: { 'usr/bin/bash': { data: '#!bash\n', mode: 0o755 }, 'usr/bin/sh': { link: 'bash' } } },
  { name: 'readline', version: '8.2.010-1', depends: ['glibc'], provides: ['libreadline.so=8-64'], files: { 'usr/lib/libreadline.so.8': 'readline 8\n' } },
  { name: 'libfoo', version: '1.2-1', depends: ['glibc'], files: { 'usr/lib/libfoo.so.1': 'libfoo 1.2\n' } },
  { name: 'hello', version: '2.12-3', depends: ['sh', 'libfoo', 'readline>=8.2'], backup: ['etc/hello.conf'], files: { 'usr/bin/hello': { data: '#!/bin/sh\necho hello\n', mode: 0o755 }, 'etc/hello.conf': 'greeting=hi\n' } },
];

let dir: string;
let repo: ArchRepo;
let keyring: string;
const golden = readGolden('layers-arch.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'layers-arch-'));
  openUp(dir);
  const signer = makeKey(dir, 'packager');
  keyring = signer.keyring;
  repo = await makeArchRepo(dir, [{ name: 'core', packages: CORE, signatures: 'database' }], signer);
});
after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-packager'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: undefined } });

async function build(name: string, layers: string | undefined): Promise<{ out: string; digest: string }> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const spec = join(d, 'image.yaml');
  writeFileSync(spec, [
    `name: ${name}`, 'source:', '  distro: arch', `  snapshot: ${SNAPSHOT}`, '  repositories: [core]', `  mirrors: ["${repo.url}"]`, `  keyring: ${keyring}`,
    'packages: [hello]', ...(layers === undefined ? [] : [`layers: ${layers}`]), '',
  ].join('\n'));
  const l = await run(['lock', spec]);
  assert.equal(l.status, 0, l.stderr);
  const out = join(dir, `${name}-image`);
  const b = await run(['build', spec, '--output', `oci:${out}:t`]);
  assert.equal(b.status, 0, b.stderr);
  return { out, digest: b.stdout.trim() };
}

async function imageOf(out: string): Promise<Awaited<ReturnType<typeof readImage>>> {
  return readImage(await openImage(parseImageRef(`oci:${out}:t`)), out);
}

test('Arch: auto: 4 puts filesystem and glibc alone, pacman\'s database last, and flattens to the single-layer tree', async () => {
  const single = await build('single', undefined);
  const auto = await build('auto', '{ auto: 4 }');
  assert.deepEqual({ 'arch-single': single.digest, 'arch-auto': auto.digest }, { 'arch-single': golden['arch-single'], 'arch-auto': golden['arch-auto'] });
  const image = await imageOf(auto.out);
  assert.deepEqual((image.config.value.history ?? []).map((h) => h.comment),
    ['packages: filesystem', 'packages: glibc', 'packages: bash, hello, libfoo, readline', 'database and unowned files']);
  const a = await flattenLayers(image.layers, { hash: true });
  const s = await flattenLayers((await imageOf(single.out)).layers, { hash: true });
  assert.deepEqual([...a.entries.keys()].sort(), [...s.entries.keys()].sort());
  for (const [p, e] of s.entries) assert.deepEqual({ ...a.entries.get(p), layer: 1 }, e, p);
  const layerOf = (p: string): number | undefined => a.entries.get(p)?.layer;
  assert.equal(layerOf('usr/lib/libc.so.6'), 2);
  assert.equal(layerOf('usr/bin/hello'), 3);
  assert.equal(layerOf('bin'), 1, 'filesystem ships the /bin link');
  assert.equal(layerOf('usr/lib'), 1);
  const db = [...a.entries.values()].filter((e) => e.path.startsWith('var/lib/pacman/local/') && e.type === 'file');
  assert.ok(db.length > 0);
  for (const e of db) assert.equal(e.layer, 4, e.path);
});
