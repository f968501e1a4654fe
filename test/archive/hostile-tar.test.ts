/**
 * Issue 13, items 2, 6 and 8: tar numbers out of range, names that are not UTF-8, names longer than
 * PATH_MAX / NAME_MAX and deep made-up paths. Every case is refused with exit 2 and one line naming
 * the member, field or offset, and nothing is written; the writer refuses what it cannot encode.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOCK, TypeFlag, encodeHeaders, encodePaxRecords, padding } from '../../src/archive/tar-header.js';
import { readTar } from '../../src/archive/tar-reader.js';
import { ReproError } from '../../src/model/errors.js';
import { runCli } from '../helpers/cli.js';
import { makeTar, memberBytes, setChecksum } from '../helpers/tar-maker.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'hostile-tar-')); });
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** Builds from `tar`; the build must fail with exit 2, one line matching `pattern`, and no output. */
function buildFails(tar: Buffer | string, pattern: RegExp): void {
  const dir = join(work, `case-${n++}`);
  mkdirSync(dir);
  let input = tar as string;
  if (Buffer.isBuffer(tar)) {
    input = join(dir, 'in.tar');
    writeFileSync(input, tar);
  }
  const out = join(dir, 'out');
  mkdirSync(out);
  for (const dest of [`oci:${join(out, 'layout')}:t`, `oci-archive:${join(out, 'img.tar')}`]) {
    const r = runCli(['build', '--rootfs', input, '--output', dest, '--source-date-epoch', '1700000000']);
    assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, pattern);
    assert.deepEqual(readdirSync(out), []);
  }
}

/** A tar whose first member's ustar header is patched by `patch` (checksum recomputed). */
function patched(members: Parameters<typeof makeTar>[0], patch: (header: Buffer) => void): Buffer {
  const t = makeTar(members);
  const h = t.subarray(0, BLOCK);
  patch(h);
  setChecksum(h);
  return t;
}

async function readAll(tar: Buffer): Promise<void> {
  for await (const { body } of readTar((async function* () { yield tar; })(), 'x.tar')) for await (const _ of body()) { /* drain */ }
}

// ---- item 2: numbers ------------------------------------------------------------------------

test('item 2: pax uid=-1, base-256 uid -1, pax uid=1e23 and pax size=-5 are refused naming member, field and offset', () => {
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { uid: '-1' } }]), /in\.tar: member "f" at byte offset 0: malformed pax uid value "-1"/);
  buildFails(patched([{ name: 'f', data: 'x' }], (h) => h.fill(0xff, 108, 116)),
    /in\.tar: member "f": uid -1 out of range \(0\.\.4294967294\) in tar header at byte offset 108/);
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { uid: '100000000000000000000000' } }]), /member "f" at byte offset 0: malformed pax uid value "1{1}0{23}"/);
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { uid: '4294967295' } }]), /pax uid 4294967295 out of range/);
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { size: '-5' } }]), /malformed pax size value "-5"/);
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { gid: '1.5' } }]), /malformed pax gid value "1\.5"/);
  buildFails(makeTar([{ name: 'f', data: 'x', pax: { mtime: '99999999999999999999' } }]), /pax mtime 99999999999999999999 out of range/);
});

test('item 2: every numeric header field is range-checked, octal and base-256 alike', async () => {
  const cases: Array<[string, number, number, RegExp]> = [
    ['mode', 100, 8, /mode .* out of range|malformed mode/],
    ['gid', 116, 8, /gid -1 out of range .* byte offset 116/],
    ['size', 124, 12, /size -1 out of range .* byte offset 124/],
    ['devmajor', 329, 8, /devmajor -1 out of range .* byte offset 329/],
    ['devminor', 337, 8, /devminor -1 out of range .* byte offset 337/],
  ];
  for (const [field, off, width, re] of cases) {
    const t = patched([{ name: 'f', data: 'x' }], (h) => h.fill(0xff, off, off + width));
    await assert.rejects(readAll(t), (e: unknown) => e instanceof ReproError && e.exitCode === 2 && re.test(e.message), field);
  }
  // A base-256 number too big to be exact, and a first byte that is neither 0x80 nor 0xff.
  const huge = patched([{ name: 'f', data: 'x' }], (h) => { h.fill(0, 124, 136); h[124] = 0x80; h.fill(0x7f, 125, 136); });
  await assert.rejects(readAll(huge), /malformed size field .* byte offset 124/);
  const odd = patched([{ name: 'f', data: 'x' }], (h) => { h[108] = 0x81; });
  await assert.rejects(readAll(odd), /malformed uid field .* byte offset 108/);
  // In range still reads: a base-256 uid of 3000000.
  const big = patched([{ name: 'f', data: 'x' }], (h) => { h.fill(0, 108, 116); h[108] = 0x80; h.writeUInt32BE(3000000, 112); });
  let uid = -1;
  for await (const { member } of readTar((async function* () { yield big; })(), 'x.tar')) uid = member.uid;
  assert.equal(uid, 3000000);
});

test('item 2: the writer refuses values it cannot represent', () => {
  const base = { name: 'f', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: TypeFlag.file, linkname: '', devmajor: 0, devminor: 0 };
  for (const [k, v] of [['uid', -1], ['uid', 1e23], ['uid', 1.5], ['gid', Number.NaN], ['size', -5], ['mtime', 0.5], ['mode', -1], ['devmajor', 2097152], ['uid', 4294967295]] as const) {
    assert.throws(() => encodeHeaders({ ...base, [k]: v }), (e: unknown) => e instanceof ReproError && e.code === 'E_UNSUPPORTED' && e.message.includes(k), `${k}=${v}`);
  }
  assert.ok(encodeHeaders({ ...base, uid: 4294967294, mtime: -1e12 }).length > BLOCK, 'big in-range values go to pax');
});

// ---- item 6: names that are not UTF-8 -------------------------------------------------------

test('item 6: a member name or link target that is not UTF-8 is refused naming the member, never rewritten or merged', () => {
  // Two names that differ only in their invalid byte would both become "a\uFFFD".
  buildFails(patched([{ name: 'aX', data: '1' }, { name: 'aY', data: '2' }], (h) => { h[1] = 0xff; }),
    /tar header at byte offset 0: the name is not valid UTF-8 \(bytes 61ff\)/);
  buildFails(patched([{ name: 'l', type: 'symlink', linkname: 'tX' }], (h) => { h[158] = 0xfe; }),
    /tar header at byte offset 0 \(member "l"\): the link target is not valid UTF-8 \(bytes 74fe\)/);
  // pax path with hdrcharset=BINARY holding bytes that are not UTF-8: refused too.
  buildFails(makeTar([{ name: 'p', data: 'x', pax: { hdrcharset: 'BINARY', path: Buffer.from([0x64, 0x2f, 0xc3, 0x28]) } }]),
    /member "p" at byte offset 0: pax path is not valid UTF-8 \(bytes 642fc328\)/);
  buildFails(makeTar([{ name: 'p', type: 'symlink', linkname: 'x', pax: { linkpath: Buffer.from([0xe2, 0x82]) } }]), /pax linkpath is not valid UTF-8/);
});

test('item 6: valid UTF-8 names keep their exact bytes', async () => {
  const name = 'srv/日本語/ü';
  const t = makeTar([{ name, data: 'x' }]);
  const names: string[] = [];
  for await (const { member } of readTar((async function* () { yield t; })(), 'x.tar')) names.push(member.name);
  assert.deepEqual(names, [name]);
});

test('item 6: a directory input with a symlink whose target is not UTF-8 is refused', () => {
  const root = join(work, 'dir-badlink');
  mkdirSync(root);
  symlinkSync(Buffer.from([0x74, 0xff]) as unknown as string, join(root, 'link'));
  const r = runCli(['build', '--rootfs', root, '--output', `oci:${join(work, 'dir-badlink-out')}`, '--source-date-epoch', '1']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /link is a symlink whose target is not valid UTF-8 \(74ff\)$/);
});

test('item 6: the writer refuses a name with a lone surrogate or a NUL', () => {
  const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: TypeFlag.file, linkname: '', devmajor: 0, devminor: 0 };
  assert.throws(() => encodeHeaders({ ...base, name: 'a\ud800b' }), /lone surrogate/);
  assert.throws(() => encodeHeaders({ ...base, name: 'a\0b' }), /NUL/);
  assert.throws(() => encodeHeaders({ ...base, name: 'l', typeflag: TypeFlag.symlink, linkname: '\udc00' }), /link target is not valid Unicode/);
});

// ---- item 8: PATH_MAX, NAME_MAX and deep paths ----------------------------------------------

test('item 8: a pax path longer than PATH_MAX, a component longer than NAME_MAX and a long GNU name are refused', () => {
  buildFails(makeTar([{ name: 'p', data: 'x', pax: { path: 'a/'.repeat(3000) + 'f' } }]), /pax path of 6001 bytes is longer than PATH_MAX \(4096\)/);
  buildFails(makeTar([{ name: 'p', data: 'x', pax: { path: `d/${'n'.repeat(256)}` } }]), /has a component longer than NAME_MAX \(255 bytes\)/);
  buildFails(makeTar([{ name: 'p', data: 'x', pax: { path: `d/${'é'.repeat(128)}` } }]), /has a component longer than NAME_MAX/);
  buildFails(makeTar([{ name: 'l', type: 'symlink', linkname: 'x', pax: { linkpath: 'y'.repeat(5000) } }]), /pax linkpath of 5000 bytes is longer than PATH_MAX/);
  const longName = Buffer.from(`${'a/'.repeat(2100)}f\0`);
  const gnu = Buffer.concat([
    encodeHeaders({ name: '././@LongLink', mode: 0o644, uid: 0, gid: 0, size: longName.length, mtime: 0, typeflag: TypeFlag.gnuLongName, linkname: '', devmajor: 0, devminor: 0 }),
    longName, Buffer.alloc(padding(longName.length)), ...memberBytes({ name: 'short', data: 'x' }), Buffer.alloc(2 * BLOCK),
  ]);
  buildFails(gnu, /GNU long name of 4201 bytes at byte offset 0 is longer than PATH_MAX/);
});

test('item 8: deep made-up paths within PATH_MAX no longer explode the output', () => {
  // Each member names a path 4000 bytes and 2000 directories deep that the archive leaves out.
  const members = [];
  for (let i = 0; i < 12; i++) members.push({ name: 'p', data: 'x', pax: { path: `${i}/${'a/'.repeat(1998)}f` } });
  const tar = makeTar(members);
  assert.ok(tar.length < 80_000);
  const started = process.hrtime.bigint();
  buildFails(tar, /leaves out more than \d+ parent directories .* more than 64 MiB of headers; put the directories in the input/);
  assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 30, 'refused quickly');
});

test('item 8: an archive that leaves out its ordinary directories still builds', () => {
  const members = [];
  for (let i = 0; i < 200; i++) members.push({ name: `usr/share/doc/pkg${i}/copyright`, data: `${i}` });
  const dir = join(work, 'implied-ok');
  mkdirSync(dir);
  writeFileSync(join(dir, 'in.tar'), makeTar(members));
  const r = runCli(['build', '--rootfs', join(dir, 'in.tar'), '--output', `oci:${join(dir, 'out')}:t`, '--source-date-epoch', '1']);
  assert.equal(r.status, 0, r.stderr);
});

test('item 2/8: the pax body limit and record syntax hold for hostile records', async () => {
  const body = encodePaxRecords(new Map([['path', Buffer.from('ok')]]));
  const bad = Buffer.concat([Buffer.from('7 =abc\n'), body]);
  const h = encodeHeaders({ name: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: bad.length, mtime: 0, typeflag: TypeFlag.paxLocal, linkname: '', devmajor: 0, devminor: 0 });
  const t = Buffer.concat([h, bad, Buffer.alloc(padding(bad.length)), ...memberBytes({ name: 'f', data: 'x' }), Buffer.alloc(1024)]);
  await assert.rejects(readAll(t), /pax record without a key/);
  const lib = makeTar([{ name: 'f', data: 'x', pax: { 'LIBARCHIVE.xattr.%E0%A4%A': 'eA==' } }]);
  await assert.rejects(readAll(lib), (e: unknown) => e instanceof ReproError && /malformed percent-encoding/.test(e.message));
});
