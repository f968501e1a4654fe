/**
 * The compatibility table of the README ("Which tools read which layer compression"), checked:
 * an image built with each of gzip, zstd and none, read by Debian bookworm's tools — umoci 0.4.7
 * unpacks gzip and uncompressed layers and refuses zstd (by media type); skopeo 1.9.3 decompresses
 * all three; podman 4.3 runs all three; buildah 1.28 mounts all three.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testStore, type TestStore } from '../helpers/podman.js';
// @ts-expect-error: the example's generator is plain JavaScript
import { GREETING, makeRootfs } from '../../../examples/hello/make-rootfs.mjs';

const COMPRESSIONS = ['gzip', 'zstd', 'none'] as const;
let dir: string;
let store: TestStore;
const layouts: Record<string, string> = {};

before(() => {
  // podman names an image pulled from oci:PATH after the path, which must be lower case.
  dir = join(tmpdir(), `repro-compat-${process.pid}`);
  mkdirSync(dir);
  const rootfs = join(dir, 'rootfs');
  (makeRootfs as (d: string) => void)(rootfs);
  for (const c of COMPRESSIONS) {
    layouts[c] = join(dir, `image-${c}`);
    const r = runCli(['build', '-q', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--entrypoint', '["/usr/bin/hello"]', '--compression', c, '--output', `oci:${layouts[c]}:t`]);
    assert.equal(r.status, 0, r.stderr);
  }
  store = testStore();
});

after(() => {
  store?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const sh = (cmd: string, args: string[]): { status: number; out: string } => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
};

test('umoci 0.4.7 unpacks gzip and uncompressed layers, and refuses zstd', () => {
  for (const c of COMPRESSIONS) {
    const r = sh('umoci', ['unpack', '--image', `${layouts[c]}:t`, join(dir, `bundle-${c}`)]);
    if (c === 'zstd') {
      assert.notEqual(r.status, 0);
      assert.match(r.out, /blob is not correct mediatype: application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd/);
    } else {
      assert.equal(r.status, 0, `${c}: ${r.out}`);
    }
  }
});

test('skopeo 1.9 decompresses all three; podman 4.3 runs all three; buildah 1.28 mounts all three', () => {
  for (const c of COMPRESSIONS) {
    const d = sh('skopeo', ['copy', '-q', '--dest-decompress', `oci:${layouts[c]}:t`, `dir:${join(dir, `dir-${c}`)}`]);
    assert.equal(d.status, 0, `skopeo ${c}: ${d.out}`);
    const id = store.podman(['pull', '-q', `oci:${layouts[c]}:t`]).stdout.trim();
    const ran = store.run(id);
    assert.equal(ran.status, 0, `podman ${c}: ${ran.stderr}`);
    assert.equal(ran.stdout, GREETING);
    const b = sh('buildah', ['--root', store.root, '--runroot', store.runRoot, '--storage-driver', 'vfs', 'from', '-q', `oci:${layouts[c]}:t`]);
    assert.equal(b.status, 0, `buildah ${c}: ${b.out}`);
    const m = sh('buildah', ['--root', store.root, '--runroot', store.runRoot, '--storage-driver', 'vfs', 'mount', b.out.trim()]);
    assert.equal(m.status, 0, `buildah mount ${c}: ${m.out}`);
    sh('buildah', ['--root', store.root, '--runroot', store.runRoot, '--storage-driver', 'vfs', 'rm', b.out.trim()]);
  }
});
