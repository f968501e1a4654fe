/**
 * `verify --containerfile --compat podman` writes only what it needs (no podman needed: the
 * published image is our own build of the hard-case scratch shape). A reproduced verify writes no
 * file as large as the layer tar: the tar is hashed, not written, and no layout of the rebuilt
 * image is made (run under an RLIMIT_FSIZE one byte below the layer's size, any such write fails
 * with EFBIG, as `build` of the same image does); with several layers in the target stage, none
 * of them is written. A verify that fails still writes the rebuilt image for the diff engine
 * (where the target stage has layers below its last, after a second build that keeps their
 * tars), which names the changed file.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { CLI, runCliAsync } from '../helpers/cli.js';
import { writeContext } from '../helpers/podman-contexts.js';

const SDE = 1700000000;
const work = mkdtempSync(join(tmpdir(), 'verify-writes-'));
after(() => rmSync(work, { recursive: true, force: true }));

const noPrlimit = spawnSync('prlimit', ['--version']).status === 0 ? false : 'needs prlimit (util-linux) to limit the size of files written';

/** The CLI under RLIMIT_FSIZE `bytes` (Node ignores SIGXFSZ: a larger write fails with EFBIG). */
function cliLimited(bytes: number, args: string[]): { status: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work };
  delete env['SOURCE_DATE_EPOCH'];
  const r = spawnSync('prlimit', [`--fsize=${bytes}`, process.execPath, CLI, ...args], { env, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('a reproduced verify writes no file as large as its layer tar; a failed one still names the changed file', { skip: noPrlimit }, async () => {
  const ctx = join(work, 'ctx');
  writeContext('scratch-add', ctx);
  const published = join(work, 'published');
  const built = await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${published}:latest`, tmpDir: work });
  assert.equal(built.layers.length, 1);
  const limit = built.layers[0]!.uncompressedSize - 1;

  // The limit bites: building the uncompressed image writes the layer tar.
  const b = cliLimited(limit, ['build', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--source-date-epoch', String(SDE), '--compression', 'none', '--output', `oci:${join(work, 'limited')}`]);
  assert.notEqual(b.status, 0, b.stderr);
  assert.match(b.stderr, /cannot write/);

  const v = cliLimited(limit, ['verify', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--against', `oci:${published}:latest`]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.stdout, `reproduced ${built.manifest.digest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`);

  // One byte of one file in the context: the rebuilt image is written after all, and the diff
  // engine names the file.
  const changed = join(work, 'changed');
  cpSync(ctx, changed, { recursive: true });
  const tar = readFileSync(join(changed, 'rootfs.tar'));
  tar[tar.indexOf('capped\n')] = 'C'.charCodeAt(0);
  writeFileSync(join(changed, 'rootfs.tar'), tar);
  const c = await runCliAsync(['verify', '--containerfile', join(changed, 'Containerfile'), '--compat', 'podman', '--against', `oci:${published}:latest`], { env: { SOURCE_DATE_EPOCH: undefined, TMPDIR: work } });
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stdout, /^not reproduced: published sha256:[0-9a-f]{64} /);
  assert.match(c.stdout, /usr\/sbin\/capped/);
});

test('a reproduced verify of a target stage of several layers writes none of them; a failed one builds again to name the changed file', { skip: noPrlimit }, async () => {
  // The instructions shape: ADD, COPY, COPY, three layers; the middle one is the largest.
  const ctx = join(work, 'layers-ctx');
  writeContext('instructions', ctx);
  const published = join(work, 'layers-published');
  const built = await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${published}:latest`, tmpDir: work });
  const sizes = built.layers.map((l) => l.uncompressedSize);
  assert.equal(sizes.length, 3);
  assert.equal(Math.max(...sizes), sizes[1], 'the largest layer is not the last');
  const limit = sizes[1]! - 1;

  const v = cliLimited(limit, ['verify', '--containerfile', join(ctx, 'Containerfile'), '--compat', 'podman', '--against', `oci:${published}:latest`]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(v.stdout, `reproduced ${built.manifest.digest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`);

  // The last layer's file changed: the proof fails, the image is built again with its layer tars
  // written for the diff engine, which names the file.
  const changed = join(work, 'layers-changed');
  cpSync(ctx, changed, { recursive: true });
  writeFileSync(join(changed, 'hello.txt'), 'HELLO\n');
  const c = await runCliAsync(['verify', '--containerfile', join(changed, 'Containerfile'), '--compat', 'podman', '--against', `oci:${published}:latest`], { env: { SOURCE_DATE_EPOCH: undefined, TMPDIR: work } });
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stdout, /^not reproduced: published sha256:[0-9a-f]{64} /);
  assert.match(c.stdout, /hello\.txt/);
});
