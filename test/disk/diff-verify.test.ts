/**
 * `diff` and `verify` on disk images: two disks that differ in one file of the ext4 root and in
 * the ESP's volume id are reported with both (and nothing else); identical disks are identical;
 * a disk is not compared with an image; verify --against disk: reproduces a published disk and,
 * when it does not, says why.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, openSync, rmSync, statSync, utimesSync, writeFileSync, writeSync, closeSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_EPOCH, makeFixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURE_DISK_YAML } from '../helpers/disk.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020') as new (o: object) => { compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } };

interface Diff { identical: boolean; a: { kind: string; partitions: number }; differences: Array<{ location: { level: string; partition?: number; path?: string }; field: string; a?: unknown; b?: unknown; finding: string }>; findings: Array<{ id: string }> }

let work: string;
let rootfs: string;
let yaml: string;
let diskA: string;
let diskB: string;

function build(tree: string, out: string): void {
  const r = runCli(['build', '--rootfs', tree, '--disk', yaml, '--output', `disk:${out}`, '--source-date-epoch', String(FIXTURE_EPOCH)]);
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'disk-diff-'));
  rootfs = join(work, 'rootfs');
  await makeFixture(rootfs);
  yaml = join(work, 'disk.yaml');
  writeFileSync(yaml, FIXTURE_DISK_YAML);
  diskA = join(work, 'a.raw');
  build(rootfs, diskA);
  // B: one more line in etc/hostname (its time kept), and another volume id in the ESP's boot sector.
  const other = join(work, 'rootfs-b');
  await makeFixture(other);
  const st = statSync(join(rootfs, 'etc/hostname'));
  appendFileSync(join(other, 'etc/hostname'), 'changed\n');
  utimesSync(join(other, 'etc/hostname'), st.atime, st.mtime);
  diskB = join(work, 'b.raw');
  build(other, diskB);
  const fd = openSync(diskB, 'r+');
  writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, (1 << 20) + 39); // FAT16 BPB volume id
  closeSync(fd);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('a changed file in the ext4 root and the ESP volume id: both named, nothing else', () => {
  const r = runCli(['diff', diskA, diskB, '--format', 'json']);
  assert.equal(r.status, 1, r.stderr);
  const d = JSON.parse(r.stdout) as Diff;
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(join(GOLDEN_DIR, '../../docs/diff-schema.json'), 'utf8')) as object);
  assert.ok(validate(d), JSON.stringify(validate.errors));
  assert.equal(d.a.kind, 'disk');
  assert.equal(d.a.partitions, 5);
  const what = d.differences.map((x) => `${x.location.partition}:${x.location.path ?? ''}:${x.field}`);
  assert.deepEqual(what, ['1::volume-id', '2:etc/hostname:content']);
  assert.deepEqual(d.differences[0]!.a, 'E7B8-7C0D');
  assert.deepEqual(d.differences[0]!.b, 'EFBE-ADDE');
  assert.deepEqual(d.findings.map((f) => f.id), ['file-system', 'content']);
  const text = runCli(['diff', diskA, diskB]);
  assert.match(text.stdout, /partition 1 \(esp\): volume-id: "E7B8-7C0D" -> "EFBE-ADDE"/);
  assert.match(text.stdout, /partition 2 \(root-x86-64\) \/ etc\/hostname: content: 8 bytes .* -> 16 bytes/);
  assert.match(text.stdout, /\+changed/);
});

test('identical disks are identical (the disk: prefix works too)', () => {
  const copy = join(work, 'copy.raw');
  cpSync(diskA, copy);
  const r = runCli(['diff', `disk:${diskA}`, copy]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\nidentical\n$/);
});

test('a byte changed in place in a file of each file system (same size, same extents): each named', () => {
  // The content of files with the same extents is compared through the partitions' bytes: a change
  // inside a data block (nothing else on the disk changed) must still be found, in ext4, erofs and FAT.
  const copy = join(work, 'flipped.raw');
  cpSync(diskA, copy);
  const bytes = readFileSync(copy);
  let flipped = 0;
  for (const [from, to] of [['has a capability\n', 'has a capabilitY\n'], ['astral plane name\n', 'astral plane namE\n'], ['older than SOURCE_DATE_EPOCH\n', 'older than SOURCE_DATE_EPOCh\n']] as const) {
    for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) {
      bytes.write(to, at, 'utf8');
      flipped++;
    }
  }
  assert.equal(flipped, 3); // old-file in the root, bin/capable in /usr, emoji-😀 in the ESP
  writeFileSync(copy, bytes);
  const r = runCli(['diff', diskA, copy, '--format', 'json']);
  assert.equal(r.status, 1, r.stderr);
  const d = JSON.parse(r.stdout) as Diff;
  assert.deepEqual(d.differences.map((x) => `${x.location.partition}:${x.location.path ?? ''}:${x.field}`).sort(),
    ['1:emoji-😀:content', '2:old-file:content', '3:bin/capable:content']);
});

test('a disk is compared with a disk only', () => {
  const r = runCli(['diff', diskA, rootfs]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /A is a disk image and B is not; a disk is compared with a disk/);
});

test('--ignore volume-id leaves only the content', () => {
  const r = runCli(['diff', diskA, diskB, '--ignore', 'volume-id', '--format', 'json']);
  const d = JSON.parse(r.stdout) as Diff;
  assert.deepEqual(d.differences.map((x) => x.field), ['content']);
});

test('verify --against disk: reproduces the published disk, and says why not when it is not', () => {
  const ok = runCli(['verify', '--rootfs', rootfs, '--disk', yaml, '--against', `disk:${diskA}`, '--source-date-epoch', String(FIXTURE_EPOCH)]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^reproduced sha256:[0-9a-f]{64}\n$/);
  const bad = runCli(['verify', '--rootfs', rootfs, '--disk', yaml, '--against', `disk:${diskB}`, '--source-date-epoch', String(FIXTURE_EPOCH), '--json']);
  assert.equal(bad.status, 1);
  const j = JSON.parse(bad.stdout) as { verdict: string; findings: Array<{ path: string; message: string }> };
  assert.equal(j.verdict, 'not-reproduced');
  assert.deepEqual(j.findings.map((f) => f.path), ['diff.file-system', 'diff.content']);
  assert.match(j.findings[1]!.message, /etc\/hostname/);
});
