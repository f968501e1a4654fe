/**
 * containers-storage:NAME through Debian's podman (4.3), by its own CLI, in a private vfs store:
 * what we write `podman run` runs; what we read back keeps its config digest and diff_ids (the
 * store keeps layers uncompressed, so the manifest digest does not survive a read); `verify
 * --against containers-storage:…` proves the rebuild at the content level; `diff` agrees at that
 * level (--semantic: identical); a missing image is one line, exit 2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { testStore, type TestStore } from '../helpers/podman.js';
import { makeIndexLayout } from './registry/images.js';
// @ts-expect-error: the example's generator is plain JavaScript
import { GREETING, makeRootfs } from '../../../examples/hello/make-rootfs.mjs';

let dir: string;
let rootfs: string;
let store: TestStore;
const BUILD = ['--source-date-epoch', '1700000000', '--entrypoint', '["/usr/bin/hello"]'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'containers-storage-'));
  rootfs = join(dir, 'rootfs');
  (makeRootfs as (d: string) => void)(rootfs);
  store = testStore();
});

after(() => {
  store?.remove();
  rmSync(dir, { recursive: true, force: true });
});

interface Built { manifest: { digest: string }; config: { digest: string }; layers: Array<{ diffId: string }> }

const scratch = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('repro-image-podman-'));

test('build into the store; podman runs it; read back, its config digest and diff_ids are unchanged', () => {
  const before = new Set(scratch());
  const r = runCli(['build', '--rootfs', rootfs, ...BUILD, '--output', store.ref('localhost/hello:1'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const built = JSON.parse(r.stdout) as Built;
  // podman keeps the loaded manifest: its Digest is ours, its ID the config's.
  const [id, digest] = store.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', 'localhost/hello:1']).stdout.trim().split(' ');
  assert.equal(`sha256:${id}`, built.config.digest);
  assert.equal(digest, built.manifest.digest);
  const ran = store.run('localhost/hello:1');
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stdout, GREETING);
  // Read back with copy: same config bytes, same diff_ids; the manifest is podman's (recompressed layers).
  const out = join(dir, 'back');
  const c = runCli(['copy', store.ref('localhost/hello:1'), `oci:${out}:back`]);
  assert.equal(c.status, 0, c.stderr);
  assert.notEqual(c.stdout.trim(), built.manifest.digest, 'the manifest digest cannot survive the store');
  const cfg = runCli(['inspect', '--config', `oci:${out}:back`]);
  assert.equal(cfg.status, 0, cfg.stderr);
  assert.equal(`sha256:${createHash('sha256').update(cfg.stdout).digest('hex')}`, built.config.digest);
  assert.deepEqual((JSON.parse(cfg.stdout) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, built.layers.map((l) => l.diffId));
  // Every blob read back was verified (inspect checks every digest and diff_id).
  assert.equal(runCli(['inspect', `oci:${out}:back`]).status, 0);
  assert.deepEqual(scratch().filter((f) => !before.has(f)), [], 'no scratch left behind');
});

test('verify --against containers-storage: reproduced at the content level; a different epoch is not', () => {
  const against = store.ref('localhost/hello:1');
  const ok = runCli(['verify', '--rootfs', rootfs, ...BUILD, '--against', against, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const v = JSON.parse(ok.stdout) as { verdict: string; level: string; rebuilt: { config: string }; published: { config: string } };
  assert.equal(v.verdict, 'reproduced');
  assert.equal(v.level, 'content');
  assert.equal(v.rebuilt.config, v.published.config);
  const text = runCli(['verify', '--rootfs', rootfs, ...BUILD, '--against', against]);
  assert.match(text.stdout, /^reproduced sha256:[0-9a-f]{64} \(content: config sha256:[0-9a-f]{64} and its diff_ids; containers-storage keeps no manifest digest\)\n$/);
  const off = runCli(['verify', '--rootfs', rootfs, '--source-date-epoch', '1700000001', '--entrypoint', '["/usr/bin/hello"]', '--against', against]);
  assert.equal(off.status, 1);
  assert.match(off.stdout, /the two builds used different SOURCE_DATE_EPOCH values/);
});

test('diff against the store: only the compression differs; --semantic finds them identical', () => {
  const local = join(dir, 'local');
  assert.equal(runCli(['build', '-q', '--rootfs', rootfs, ...BUILD, '--output', `oci:${local}`]).status, 0);
  const d = runCli(['diff', `oci:${local}`, store.ref('localhost/hello:1'), '--format', 'json']);
  assert.equal(d.status, 1, d.stderr);
  assert.deepEqual((JSON.parse(d.stdout) as { findings: Array<{ id: string }> }).findings.map((f) => f.id), ['compression']);
  const s = runCli(['diff', '--semantic', `oci:${local}`, store.ref('localhost/hello:1')]);
  assert.equal(s.status, 0, s.stdout + s.stderr);
  assert.match(s.stdout, /^identical$/m);
});

test('a missing image, or a multi-platform index, is one line and exit 2', () => {
  const missing = runCli(['inspect', store.ref('localhost/nothing:here')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^repro-image: containers-storage: podman save: .*image not known\n$/);
  const multi = join(dir, 'multi');
  makeIndexLayout(dir, multi);
  const index = runCli(['copy', `oci:${multi}:multi`, store.ref('localhost/multi:1')]);
  assert.equal(index.status, 2);
  assert.match(index.stderr, /a store holds one image per name, and the source is a multi-platform index; choose one with --platform\n$/);
  const one = runCli(['copy', '--platform', 'linux/arm64', `oci:${multi}:multi`, store.ref('localhost/multi:arm64')]);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(store.podman(['image', 'inspect', '--format', '{{.Architecture}}', 'localhost/multi:arm64']).stdout.trim(), 'arm64');
});
