/**
 * One known difference per pair, in every field of a tar entry: each is reported at the right
 * place (layer 1, the entry's path, the field) under the right finding, and nothing else is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { diff } from '../../src/diff/image-diff.js';
import { sha256 } from '../../src/model/digest.js';
import type { DiffResult } from '../../src/diff/types.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { writeLayout } from './images.js';

let work: string;
let n = 0;
before(() => { work = mkdtempSync(join(tmpdir(), 'diff-entries-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const TOOL = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7 + 3) & 0xff));
const MAN = 'NAME\n  tool - does things\nSYNOPSIS\n  tool [options]\n';
const PYC = Buffer.concat([Buffer.from([0x6f, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), Buffer.from('code object bytes')]);
const DESC = '%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n%INSTALLDATE%\n1700000000\n\n%SIZE%\n42\n';

function gz(text: string, mtime: number): Buffer {
  const b = gzipSync(Buffer.from(text), { level: 9 });
  b.writeUInt32LE(mtime, 4);
  return b;
}

/** The archive every case starts from, in byte order of its paths. */
function base(): RawMember[] {
  return [
    { name: 'dev/', type: 'dir' },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'etc/', type: 'dir' },
    { name: 'etc/conf', data: 'alpha\nbeta\ngamma\n' },
    { name: 'etc/hostname', data: 'box\n', pax: { 'SCHILY.xattr.user.origin': 'test', comment: 'kept' } },
    { name: 'etc/machine-id', data: '0123456789abcdef\n' },
    { name: 'usr/', type: 'dir' },
    { name: 'usr/bin/', type: 'dir' },
    { name: 'usr/bin/link', type: 'symlink', linkname: 'tool' },
    { name: 'usr/bin/tool', data: TOOL, mode: 0o755 },
    { name: 'usr/lib/', type: 'dir' },
    { name: 'usr/lib/python3/', type: 'dir' },
    { name: 'usr/lib/python3/mod.pyc', data: PYC },
    { name: 'usr/share/', type: 'dir' },
    { name: 'usr/share/man/', type: 'dir' },
    { name: 'usr/share/man/tool.1.gz', data: gz(MAN, 0) },
    { name: 'var/', type: 'dir' },
    { name: 'var/cache/', type: 'dir' },
    { name: 'var/cache/ldconfig/', type: 'dir' },
    { name: 'var/cache/ldconfig/aux-cache', data: 'aux 1' },
    { name: 'var/lib/', type: 'dir' },
    { name: 'var/lib/pacman/', type: 'dir' },
    { name: 'var/lib/pacman/local/', type: 'dir' },
    { name: 'var/lib/pacman/local/foo-1.0-1/', type: 'dir' },
    { name: 'var/lib/pacman/local/foo-1.0-1/desc', data: DESC },
  ];
}

function change(members: RawMember[], name: string, patch: Partial<RawMember>): RawMember[] {
  const i = members.findIndex((m) => m.name === name);
  assert.ok(i >= 0, name);
  members[i] = { ...members[i]!, ...patch };
  return members;
}

async function compare(b: RawMember[], opts: { endBlocks?: number; diffOpts?: Parameters<typeof diff>[2] } = {}): Promise<DiffResult> {
  const a = writeLayout(join(work, `a${n}`), { layers: [{ tar: makeTar(base()) }] });
  const bb = writeLayout(join(work, `b${n++}`), { layers: [{ tar: makeTar(b, { endBlocks: opts.endBlocks ?? 2 }) }] });
  return diff(a, bb, opts.diffOpts);
}

const seen = (r: DiffResult): string[][] => r.differences.map((d) => [d.location.path ?? `(${d.location.level})`, d.field, d.finding]);

const CASES: Array<[string, () => RawMember[], string[][]]> = [
  ['mode', () => change(base(), 'etc/conf', { mode: 0o600 }), [['etc/conf', 'mode', 'mode']]],
  ['redundant mode bits', () => change(base(), 'etc/conf', { mode: 0o100644 }), [['etc/conf', 'mode-type-bits', 'mode-type-bits']]],
  ['uid', () => change(base(), 'etc/conf', { uid: 1000 }), [['etc/conf', 'uid', 'owners']]],
  ['gid', () => change(base(), 'etc/conf', { gid: 1000 }), [['etc/conf', 'gid', 'owners']]],
  ['user name', () => change(base(), 'etc/conf', { uname: 'root' }), [['etc/conf', 'uname', 'owner-names']]],
  ['group name', () => change(base(), 'etc/conf', { gname: 'wheel' }), [['etc/conf', 'gname', 'owner-names']]],
  ['mtime newer than SOURCE_DATE_EPOCH', () => change(base(), 'etc/conf', { mtime: 1700000500 }), [['etc/conf', 'mtime', 'mtime-after-epoch']]],
  ['older mtime', () => change(base(), 'etc/conf', { mtime: 1500000000 }), [['etc/conf', 'mtime', 'mtime']]],
  ['symlink target', () => change(base(), 'usr/bin/link', { linkname: 'other' }), [['usr/bin/link', 'link-target', 'link-target']]],
  ['entry type', () => change(base(), 'etc/conf', { type: 'fifo', data: '' }), [['etc/conf', 'type', 'entry-type']]],
  ['device numbers', () => change(base(), 'dev/null', { devminor: 5 }), [['dev/null', 'devices', 'devices']]],
  ['xattr', () => change(base(), 'etc/hostname', { pax: { 'SCHILY.xattr.user.origin': 'other', comment: 'kept' } }), [['etc/hostname', 'xattrs', 'xattrs']]],
  ['pax record', () => change(base(), 'etc/hostname', { pax: { 'SCHILY.xattr.user.origin': 'test', comment: 'changed' } }), [['etc/hostname', 'pax', 'pax-records']]],
  ['pax atime', () => change(base(), 'etc/hostname', { pax: { 'SCHILY.xattr.user.origin': 'test', comment: 'kept', atime: '1600000001' } }), [['etc/hostname', 'atime', 'atime-ctime']]],
  ['tar dialect', () => change(base(), 'etc/conf', { magic: 'gnu' }), [['etc/conf', 'tar-format', 'tar-format']]],
  ['leading ./', () => change(base(), 'etc/conf', { name: './etc/conf' }), [['etc/conf', 'name', 'name-form']]],
  ['text content', () => change(base(), 'etc/conf', { data: 'alpha\nBETA\ngamma\n' }), [['etc/conf', 'content', 'content']]],
  ['binary content', () => change(base(), 'usr/bin/tool', { data: Buffer.concat([TOOL.subarray(0, 300), Buffer.from([0xee]), TOOL.subarray(301)]) }), [['usr/bin/tool', 'content', 'content']]],
  ['gzip header time', () => change(base(), 'usr/share/man/tool.1.gz', { data: gz(MAN, 1700000000) }), [['usr/share/man/tool.1.gz', 'content', 'gzip-header-time']]],
  ['gzip content', () => change(base(), 'usr/share/man/tool.1.gz', { data: gz(MAN.replace('things', 'stuff'), 0) }), [['usr/share/man/tool.1.gz', 'content', 'content']]],
  ['.pyc timestamp', () => change(base(), 'usr/lib/python3/mod.pyc', { data: Buffer.concat([PYC.subarray(0, 8), Buffer.from([9, 9, 9, 9]), PYC.subarray(12)]) }), [['usr/lib/python3/mod.pyc', 'content', 'pyc-timestamp']]],
  ['machine-id', () => change(base(), 'etc/machine-id', { data: 'fedcba9876543210\n' }), [['etc/machine-id', 'content', 'machine-id']]],
  ['ldconfig aux-cache', () => change(base(), 'var/cache/ldconfig/aux-cache', { data: 'aux 2' }), [['var/cache/ldconfig/aux-cache', 'content', 'ldconfig-aux-cache']]],
  ['pacman install date', () => change(base(), 'var/lib/pacman/local/foo-1.0-1/desc', { data: DESC.replace('1700000000', '1700009999') }), [['var/lib/pacman/local/foo-1.0-1/desc', 'content', 'pacman-installdate']]],
  ['pacman version (not only the install date)', () => change(base(), 'var/lib/pacman/local/foo-1.0-1/desc', { data: DESC.replace('1.0-1', '1.0-2') }), [['var/lib/pacman/local/foo-1.0-1/desc', 'content', 'content']]],
  ['entry added', () => [...base(), { name: 'zz-new', data: 'new' }], [['zz-new', 'presence', 'added']]],
  ['entry removed', () => base().filter((m) => m.name !== 'etc/conf'), [['etc/conf', 'presence', 'removed']]],
  ['random-seed added', () => [...base(), { name: 'var/lib/systemd/random-seed', data: 'seed' }], [['var/lib/systemd/random-seed', 'presence', 'random-seed']]],
  ['entry order', () => { const m = base(); const [x] = m.splice(3, 1); m.push(x!); return m; }, [['etc/conf', 'order', 'entry-order']]],
  ['a path written twice', () => [...base(), { name: 'etc/conf', data: 'again\n' }], [['etc/conf', 'presence', 'added']]],
  ['an entry for the root directory', () => [{ name: './', type: 'dir' }, ...base()], [['.', 'root-entry', 'name-form']]],
];

for (const [name, make, expected] of CASES) {
  test(`one difference: ${name}`, async () => {
    const r = await compare(make());
    assert.deepEqual(seen(r), expected);
    assert.equal(r.identical, false);
    const d = r.differences[0]!;
    assert.equal(d.location.level, 'layer');
    assert.equal(d.location.layer, 1);
    assert.match(d.location.layerDigest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(r.findings.map((f) => [f.id, f.count]), [[expected[0]![2]!, 1]]);
  });
}

test('a path written twice is matched occurrence by occurrence', async () => {
  const r = await compare([...base(), { name: 'etc/conf', data: 'again\n' }]);
  assert.equal(r.differences[0]!.location.occurrence, 2);
});

test('text content: a unified diff with the changed line', async () => {
  const r = await compare(change(base(), 'etc/conf', { data: 'alpha\nBETA\ngamma\n' }));
  const c = r.differences[0]!.content!;
  assert.equal(c.kind, 'text');
  assert.equal(c.firstDifference, 6);
  assert.equal(c.diff, '--- a/etc/conf\n+++ b/etc/conf\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n');
  assert.deepEqual(r.differences[0]!.a, { size: 17, sha256: sha256('alpha\nbeta\ngamma\n') });
  assert.deepEqual(r.differences[0]!.b, { size: 17, sha256: sha256('alpha\nBETA\ngamma\n') });
});

test('binary content: the first differing offset and a hex view', async () => {
  const r = await compare(change(base(), 'usr/bin/tool', { data: Buffer.concat([TOOL.subarray(0, 300), Buffer.from([0xee]), TOOL.subarray(301)]) }));
  const c = r.differences[0]!.content!;
  assert.equal(c.kind, 'binary');
  assert.equal(c.firstDifference, 300);
  assert.ok(c.hex && c.hex.a.length > 0 && c.hex.a.length === c.hex.b.length);
  assert.match(c.hex.a[0]!, /^00000110 {2}/); // the 16-byte row before the one holding byte 300 (0x12c)
  assert.ok(c.hex.b.some((row) => / ee /.test(row)));
});

test('gzip files are compared decompressed', async () => {
  const r = await compare(change(base(), 'usr/share/man/tool.1.gz', { data: gz(MAN.replace('things', 'stuff'), 0) }));
  const c = r.differences[0]!.content!;
  assert.equal(c.gzip?.decompressedEqual, false);
  assert.equal(c.kind, 'text');
  assert.match(c.diff ?? '', /^-  tool - does things$/m);
  assert.match(c.diff ?? '', /^\+  tool - does stuff$/m);
  const t = await compare(change(base(), 'usr/share/man/tool.1.gz', { data: gz(MAN, 1700000000) }));
  assert.deepEqual(t.differences[0]!.content!.gzip, { decompressedEqual: true, headerMtime: [0, 1700000000] });
});

test('end-of-archive padding is a layer-level difference', async () => {
  const r = await compare(base(), { endBlocks: 20 });
  assert.deepEqual(seen(r), [['(layer)', 'tar-padding', 'tar-padding']]);
  assert.deepEqual([r.differences[0]!.a, r.differences[0]!.b], [1024, 10240]);
});

test('--max-content-diff bounds the diff and marks it cut', async () => {
  const long = Array.from({ length: 400 }, (_, i) => `line ${i}`).join('\n');
  const b = [...base(), { name: 'zz-long', data: `${long}\n` }];
  const a = writeLayout(join(work, `ml-a`), { layers: [{ tar: makeTar([...base(), { name: 'zz-long', data: `${long.replace(/line/g, 'LINE')}\n` }]) }] });
  const bb = writeLayout(join(work, `ml-b`), { layers: [{ tar: makeTar(b) }] });
  const r = await diff(a, bb, { maxContentDiff: 512 });
  const c = r.differences[0]!.content!;
  assert.equal(c.truncated, true);
  assert.ok(Buffer.byteLength(c.diff ?? '') <= 512, `${Buffer.byteLength(c.diff ?? '')} bytes`);
});
