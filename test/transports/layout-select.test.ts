/**
 * Untagged images in a layout are reachable (issue 15, defect 5): `oci:DIR:@sha256:…` and
 * `oci-archive:FILE:@sha256:…` name an image of index.json by its digest, `:@N` by its place (as
 * skopeo spells a source index); with several untagged images, the refusal lists how to name each;
 * `oci:DIR@sha256:…` (no colon) is answered with the right spelling; writing to a digest is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageRef, formatImageRef } from '../../src/transports/reference.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let rootfs: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'layout-select-'));
  rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  writeFileSync(join(rootfs, 'file'), 'x\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

function build(output: string, epoch: string): string {
  const r = runCli(['build', '--rootfs', rootfs, '--source-date-epoch', epoch, '--output', output]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('two untagged builds into one layout: each is reached by :@DIGEST and :@N', () => {
  const layout = join(dir, 'layout');
  const one = build(`oci:${layout}`, '1700000000');
  const two = build(`oci:${layout}`, '1700000001');
  assert.notEqual(one, two);
  const refused = runCli(['inspect', `oci:${layout}`]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, new RegExp(`holds 2 images; name one with :TAG or :@DIGEST \\(:@${one}, :@${two}\\)`));
  for (const [ref, want] of [[`oci:${layout}:@${one}`, one], [`oci:${layout}:@${two}`, two], [`oci:${layout}:@0`, one], [`oci:${layout}:@1`, two]] as const) {
    const r = runCli(['inspect', '--raw', ref]);
    assert.equal(r.status, 0, `${ref}: ${r.stderr}`);
    const raw = runCli(['inspect', ref]);
    assert.match(raw.stdout, new RegExp(`Manifest: +${want}`), ref);
  }
  // Copy out by digest keeps the digest; an oci-archive is read the same way.
  const archive = join(dir, 'two.tar');
  const copied = runCli(['copy', `oci:${layout}:@${two}`, `oci-archive:${archive}`]);
  assert.equal(copied.status, 0, copied.stderr);
  assert.equal(copied.stdout.trim(), two);
  const fromArchive = runCli(['inspect', `oci-archive:${archive}:@${two}`]);
  assert.equal(fromArchive.status, 0, fromArchive.stderr);
  const absent = runCli(['inspect', `oci:${layout}:@sha256:${'0'.repeat(64)}`]);
  assert.equal(absent.status, 2);
  assert.match(absent.stderr, /index\.json lists no sha256:0{64}/);
  assert.match(runCli(['inspect', `oci:${layout}:@2`]).stderr, /lists 2 images; there is no @2/);
});

test('oci:DIR@sha256:… is answered with the spelling that works; a digest is no destination', () => {
  const layout = join(dir, 'layout2');
  const d = build(`oci:${layout}`, '1700000000');
  const r = runCli(['inspect', `oci:${layout}@${d}`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`a digest follows a colon: write oci:${layout}:@${d}`));
  const w = runCli(['build', '--rootfs', rootfs, '--source-date-epoch', '1', '--output', `oci:${layout}:@${d}`]);
  assert.equal(w.status, 2);
  assert.match(w.stderr, /:@DIGEST and :@N name an image already there; write with :TAG or none/);
  assert.match(runCli(['inspect', `oci:${layout}:@sha256:abc`]).stderr, /after ":@" expected a manifest digest/);
});

test('references round-trip through parse and format', () => {
  for (const s of [
    'oci:/a/b:tag', `oci:/a:@sha256:${'a'.repeat(64)}`, 'oci:/a:@3', `oci-archive:f.tar:@sha256:${'b'.repeat(64)}`,
    'docker-archive:f.tar:n/m:t', 'dir:/x/y', 'containers-storage:localhost/x:1', 'containers-storage:[vfs@/r+/rr:o=1]x',
    'containers-storage:[/var/lib/containers/storage]alpine', 'docker://example.com/a/b:c',
  ]) assert.equal(formatImageRef(parseImageRef(s)), s);
  assert.throws(() => parseImageRef('containers-storage:[vfs@relative]x'), /absolute paths/);
  assert.throws(() => parseImageRef('containers-storage:'), /no image name/);
  assert.throws(() => parseImageRef('containers-storage:[/r'), /no closing \]/);
});
