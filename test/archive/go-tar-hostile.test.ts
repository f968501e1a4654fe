/**
 * Hostile input for the Go tar reader and buildah's ADD summary pipe (src/archive/go-tar-reader.ts,
 * go-tar-summary.ts): every outcome is a result or a one-line ReproError naming a byte offset,
 * never a crash, a hang or unbounded memory. Whether Go agrees on each outcome is checked in
 * go-tar-crosscheck.test.ts; the fuzz target `go-tar` (test/fuzz) runs the same pipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TYPE_XGLOBAL, TYPE_XHEADER, ZERO_TIME, formatPAXRecord, goWriteHeader, rawHeader, type GoHeader, type RawGoHeader } from '../../src/archive/go-tar.js';
import { goTarReencode, isGoTarArchive } from '../../src/archive/go-tar-summary.js';
import { ReproError } from '../../src/model/errors.js';

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

type Outcome = { ok: true; bytes: Buffer } | { ok: false; code: string; message: string };

async function run(b: Buffer): Promise<Outcome> {
  try {
    const parts: Buffer[] = [];
    for await (const c of goTarReencode(one(b), 'hostile.tar')) parts.push(c);
    return { ok: true, bytes: Buffer.concat(parts) };
  } catch (e) {
    if (!(e instanceof ReproError)) throw e;
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.match(e.message, /^hostile\.tar: /);
    return { ok: false, code: e.code, message: e.message };
  }
}

function h(x: Partial<GoHeader> & { name: string }): GoHeader {
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1500000000, ...x };
}

function entry(x: Partial<GoHeader> & { name: string }, data = ''): Buffer {
  const body = Buffer.from(data);
  return Buffer.concat([goWriteHeader(rawHeader(h({ ...x, size: body.length }))), body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

function withChecksum(b: Buffer, off = 0): Buffer {
  b.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[off + i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, off + 148, 'latin1');
  return b;
}

function meta(typeflag: number, data: Buffer, name = 'meta'): Buffer {
  const blk = Buffer.alloc(512);
  blk.write(name, 0, 'latin1');
  blk.write('0000644\0', 100, 'latin1');
  blk.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  blk.write('00000000000\0', 136, 'latin1');
  blk[156] = typeflag;
  blk.write('ustar\x0000', 257, 'latin1');
  return Buffer.concat([withChecksum(blk), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** PAX records with correct lengths. */
const records = (...kv: [string, string][]): Buffer => Buffer.from(kv.map(([k, v]) => formatPAXRecord(k, v)).join(''), 'latin1');

const SAMPLE = Buffer.concat([
  entry({ name: 'dir/', type: 'dir', mode: 0o755 }),
  entry({ name: `long/${'x'.repeat(150)}`, uid: 3000000, xattrs: new Map([['user.k', Buffer.from([0, 0xff])]]) }, 'pax entry\n'),
  entry({ name: `gnu/${'y'.repeat(120)}`, format: 'gnu', uname: 'root' }, 'a'.repeat(700)),
  entry({ name: 'link', type: 'symlink', mode: 0o777, linkname: 't'.repeat(150) }),
  Buffer.alloc(1024),
]);

test('every truncation: a result where Go takes it as the end of the archive, else E_TAR_TRUNCATED', async () => {
  const full = await run(SAMPLE);
  assert.ok(full.ok);
  const boundaries = new Set<number>();
  let ends = 0;
  // Every offset through the GNU entry's headers, then every 7th (data and padding repeat themselves).
  for (let n = 0; n < SAMPLE.length; n += n < 4096 ? 1 : 7) {
    const o = await run(SAMPLE.subarray(0, n));
    if (o.ok) {
      ends++;
      boundaries.add(n);
    } else {
      assert.equal(o.code, 'E_TAR_TRUNCATED', `cut at ${n}: ${o.message}`);
    }
  }
  // At 0 (an empty input is an empty archive), at each entry's end, inside padding after data.
  assert.ok(boundaries.has(0) && boundaries.has(512), [...boundaries].slice(0, 10).join());
  // Inside the padding after the PAX entry's 10 bytes of data (its headers take blocks 1 to 3).
  assert.ok(boundaries.has(4 * 512 + 10 + 100) && boundaries.has(4 * 512 + 511));
  assert.ok(!boundaries.has(4 * 512 + 9));
  assert.ok(ends > 200, `${ends} cuts end the archive`);
});

test('every byte of the headers overwritten (checksum fixed): a result or a one-line ReproError', async () => {
  let errors = 0;
  const codes = new Set<string>();
  for (let off = 0; off < 3 * 512; off++) {
    for (const v of [0x00, 0xff, 0x37]) {
      const b = Buffer.from(SAMPLE);
      b[off] = v;
      for (let blk = 0; blk + 512 <= b.length; blk += 512) if (b.toString('latin1', blk + 257, blk + 262) === 'ustar') withChecksum(b, blk);
      const o = await run(b);
      if (!o.ok) {
        errors++;
        codes.add(o.code);
      }
    }
  }
  assert.ok(errors > 100);
  assert.deepEqual([...codes].sort().filter((c) => !['E_TAR_FORMAT', 'E_TAR_TRUNCATED', 'E_UNSUPPORTED'].includes(c)), []);
});

test('named cases: each refused with its own reason', async () => {
  const file = entry({ name: 'f' }, 'abc');
  const cases: [string, Buffer, string, RegExp][] = [
    ['a zero block then a header', Buffer.concat([Buffer.alloc(512), file]), 'E_TAR_FORMAT', /byte offset 512: a zero block followed by a header/],
    ['a bad checksum', (() => { const b = Buffer.from(file); b[0] = 0x67; return b; })(), 'E_TAR_FORMAT', /byte offset 0: invalid tar header/],
    ['a PAX record longer than its header', Buffer.concat([meta(TYPE_XHEADER, Buffer.from('99 path=x\n')), file]), 'E_TAR_FORMAT', /malformed PAX record/],
    ['a PAX record without "="', Buffer.concat([meta(TYPE_XHEADER, Buffer.from('9 pathx\n\n')), file]), 'E_TAR_FORMAT', /malformed PAX record/],
    ['a PAX size that is not a number', Buffer.concat([meta(TYPE_XHEADER, records(['size', '-x'])), file]), 'E_TAR_FORMAT', /malformed number or time/],
    ['a negative PAX size', Buffer.concat([meta(TYPE_XHEADER, records(['size', '-5'])), file]), 'E_TAR_FORMAT', /negative size -5/],
    ['a 2 MiB PAX header', Buffer.concat([meta(TYPE_XHEADER, Buffer.alloc(2 << 20, 0x61)), file]), 'E_TAR_FORMAT', /longer than Go's limit of 1048576 bytes/],
    ['a 2 MiB GNU long name', Buffer.concat([meta(0x4c, Buffer.alloc(2 << 20, 0x61), '././@LongLink'), file]), 'E_TAR_FORMAT', /longer than Go's limit/],
    ['a directory with a size', Buffer.concat([goWriteHeader(rawHeader(h({ name: 'd/', type: 'dir', size: 10 }))), Buffer.alloc(1024)]), 'E_TAR_FORMAT', /type-5 entry with size 10; Go reads no data for it/],
    ['a size no input has', Buffer.concat([goWriteHeader({ ...rawHeader(h({ name: 'huge' })), size: 2n ** 53n }), Buffer.alloc(1024)]), 'E_UNSUPPORTED', /beyond any input/],
    ['data cut short', file.subarray(0, 514), 'E_TAR_TRUNCATED', /ends inside the data of "f"/],
    ['a sparse PAX member', Buffer.concat([meta(TYPE_XHEADER, records(['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'])), file]), 'E_UNSUPPORTED', /sparse member "f"/],
    ['a GNU sparse header that is not GNU', (() => { const b = Buffer.from(file); b[156] = 0x53; return withChecksum(b); })(), 'E_TAR_FORMAT', /GNU sparse header that is not in GNU format/],
    ['a global header with a bad uid beside a path', Buffer.concat([meta(TYPE_XGLOBAL, records(['uid', 'x'], ['path', 'ab'])), file]), 'E_UNSUPPORTED', /random map order/],
    ['a file name ending in a slash (Go\'s writer refuses it)', Buffer.concat([(() => { const b = Buffer.from(file); b.write('f/', 0, 'latin1'); return withChecksum(b); })()]), 'E_UNSUPPORTED', /trailing slash/],
  ];
  for (const [what, input, code, message] of cases) {
    const o = await run(input);
    assert.ok(!o.ok, `${what}: refused`);
    assert.equal(o.code, code, `${what}: ${o.message}`);
    assert.match(o.message, message, what);
  }
});

test('a global header with a bad number and no path or xattr is Go\'s: kept, its records dropped', async () => {
  const o = await run(Buffer.concat([meta(TYPE_XGLOBAL, records(['uid', 'x'])), entry({ name: 'f' }, 'abc'), Buffer.alloc(1024)]));
  assert.ok(o.ok);
  // The global header is written again with no records (Go lost them), then the file.
  assert.equal(o.bytes[156], TYPE_XGLOBAL);
  assert.equal(o.bytes.toString('latin1', 124, 135), '00000000000');
});

test('100000 PAX headers in a row: bounded memory, each one replacing the last, as in Go', async () => {
  const x = meta(TYPE_XHEADER, records(['comment', 'aaaa']));
  const many = Buffer.concat([...Array<Buffer>(100000).fill(x), meta(TYPE_XHEADER, records(['comment', 'last'])), entry({ name: 'f' }, 'abc'), Buffer.alloc(1024)]);
  const started = performance.now();
  const o = await run(many);
  assert.ok(o.ok);
  assert.ok(o.bytes.toString('latin1').includes('16 comment=last\n'));
  assert.ok(!o.bytes.toString('latin1').includes('comment=aaaa'));
  assert.ok(performance.now() - started < 20_000);
});

test('isGoTarArchive: what buildah\'s isArchivePath answers after decompression', async () => {
  assert.equal(await isGoTarArchive(one(Buffer.alloc(0))), false);
  assert.equal(await isGoTarArchive(one(Buffer.alloc(1024))), false);
  assert.equal(await isGoTarArchive(one(Buffer.from('#!/bin/sh\necho not a tar\n'))), false);
  assert.equal(await isGoTarArchive(one(SAMPLE)), true);
  // Only the first entry is read: a broken second entry does not make it "not an archive".
  assert.equal(await isGoTarArchive(one(Buffer.concat([entry({ name: 'f' }, 'abc'), Buffer.alloc(512, 0x61)]))), true);
  // A global header alone is an entry.
  assert.equal(await isGoTarArchive(one(meta(TYPE_XGLOBAL, records(['comment', 'aaaa'])))), true);
  const raw: RawGoHeader = { ...rawHeader(h({ name: 's', size: 0 })), typeflag: 0x53, format: 8, modTime: ZERO_TIME };
  assert.equal(await isGoTarArchive(one(Buffer.concat([goWriteHeader(raw), Buffer.alloc(1024)]))), true); // GNU sparse: Go reads it
});
