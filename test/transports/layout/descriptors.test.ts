/**
 * Issue 13, item 9: every descriptor is checked, not only the first of a digest. One digest given
 * two sizes (in one manifest, across the manifests of an index), or embedded `data` that is not the
 * bytes its digest names, is refused; before, the first descriptor was checked and the copy exited 0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { BLOCK, TypeFlag, encodeHeaders, padding } from '../../../src/archive/tar-header.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { makeTar } from '../../helpers/tar-maker.js';

let work: string;
let layout: string;
let manifest: { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number; mediaType: string }>; [k: string]: unknown };

const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.slice(7));
/** Stores a document as a blob and returns its descriptor. */
function put(doc: unknown, mediaType: string): { mediaType: string; digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  writeFileSync(blob(digest), bytes);
  return { mediaType, digest, size: bytes.length };
}
function tag(name: string, d: object): void {
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: object[] };
  idx.manifests.push({ ...d, annotations: { 'org.opencontainers.image.ref.name': name } });
  writeFileSync(join(layout, 'index.json'), JSON.stringify(idx));
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'descriptors-'));
  writeFileSync(join(work, 'in.tar'), makeTar([{ name: 'f', data: 'content' }]));
  layout = join(work, 'src');
  assert.equal(runCli(['build', '--rootfs', join(work, 'in.tar'), '--output', `oci:${layout}:good`, '--source-date-epoch', '1']).status, 0);
  const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  manifest = JSON.parse(readFileSync(blob(idx.manifests[0]!.digest), 'utf8')) as typeof manifest;
});
after(() => rmSync(work, { recursive: true, force: true }));

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

test('item 9: a manifest listing one layer digest twice with different sizes is refused by copy and inspect', () => {
  const l = manifest.layers[0]!;
  tag('twice', put({ ...manifest, layers: [l, { ...l, size: l.size + 1 }] }, OCI_MANIFEST));
  const c = runCli(['copy', `oci:${layout}:twice`, `oci:${join(work, 'dst1')}:t`]);
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr.trim(), new RegExp(`layers\\[1\\]: ${l.digest} has size ${l.size + 1}, but .*layers\\[0\\] gives it size ${l.size}$`));
  const i = runCli(['inspect', `oci:${layout}:twice`]);
  assert.equal(i.status, 2, i.stderr);
});

test('item 9: two manifests of an index giving one layer different sizes are refused', () => {
  const l = manifest.layers[0]!;
  const a = put(manifest, OCI_MANIFEST);
  const b = put({ ...manifest, layers: [{ ...l, size: l.size + 7 }], annotations: { v: 'b' } }, OCI_MANIFEST);
  tag('pair', put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [a, b] }, 'application/vnd.oci.image.index.v1+json'));
  const c = runCli(['copy', `oci:${layout}:pair`, `oci:${join(work, 'dst2')}:t`]);
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr.trim(), new RegExp(`gives ${l.digest} size ${l.size + 7}, elsewhere it has size ${l.size}$`));
});

test('item 9: an index listing one manifest twice with different sizes is refused', () => {
  const a = put(manifest, OCI_MANIFEST);
  tag('dup', put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [a, { ...a, size: a.size + 1 }] }, 'application/vnd.oci.image.index.v1+json'));
  const c = runCli(['copy', `oci:${layout}:dup`, `oci:${join(work, 'dst3')}:t`]);
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr, /manifests\[1\]: sha256:[0-9a-f]+ has size \d+, but .*manifests\[0\] gives it size \d+/);
});

test('item 9: embedded data that is not the bytes of its digest is refused', () => {
  const cfg = { ...manifest.config, data: Buffer.from('{"not":"the config"}').toString('base64') };
  tag('data', put({ ...manifest, config: cfg }, OCI_MANIFEST));
  const c = runCli(['copy', `oci:${layout}:data`, `oci:${join(work, 'dst4')}:t`]);
  assert.equal(c.status, 1, c.stderr);
  assert.match(c.stderr.trim(), /config\.data: the embedded data is not the \d+ bytes of sha256:/);
  const ok = { ...manifest.config, data: readFileSync(blob(manifest.config.digest)).toString('base64') };
  tag('gooddata', put({ ...manifest, config: ok }, OCI_MANIFEST));
  assert.equal(runCli(['copy', `oci:${layout}:gooddata`, `oci:${join(work, 'dst5')}:t`]).status, 0);
});

test('an archive whose index.json is larger than a document can be is refused, not allocated', () => {
  // A 4.3 GB member, sparse on disk: reading it whole used to throw a RangeError (a stack trace).
  const size = 4_300_000_000;
  const header = encodeHeaders({ name: 'index.json', mode: 0o644, uid: 0, gid: 0, size, mtime: 0, typeflag: TypeFlag.file, linkname: '', devmajor: 0, devminor: 0 });
  const file = join(work, 'huge-index.tar');
  const fd = openSync(file, 'w');
  writeSync(fd, header, 0, header.length, 0);
  ftruncateSync(fd, BLOCK + size + padding(size) + 2 * BLOCK);
  closeSync(fd);
  const r = runCli(['inspect', `oci-archive:${file}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /huge-index\.tar: index\.json is 4300000000 bytes, more than the 67108864 read whole$/);
});
