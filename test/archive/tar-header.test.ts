import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeader, decodePaxRecords, encodeHeaders, encodePaxRecord, splitUstarName, BLOCK, TypeFlag } from '../../src/archive/tar-header.js';

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1700000000, typeflag: TypeFlag.file, linkname: '', devmajor: 0, devminor: 0 };

test('pax record length counts its own digits, across a digit boundary', () => {
  for (let n = 0; n < 120; n++) {
    const rec = encodePaxRecord('path', Buffer.from('a'.repeat(n)));
    const len = parseInt(rec.toString().split(' ')[0]!, 10);
    assert.equal(len, rec.length, `value of ${n} bytes`);
    assert.equal(rec.at(-1), 0x0a);
  }
});

test('a short ASCII name is a plain ustar header: one block, no pax', () => {
  const h = encodeHeaders({ ...base, name: 'etc/hostname' });
  assert.equal(h.length, BLOCK);
  assert.equal(h.toString('latin1', 257, 265), 'ustar\x0000');
  assert.equal(h.toString('latin1', 265, 329).replace(/\0/g, ''), '', 'uname and gname are empty');
  const d = decodeHeader(h, 0, 'test');
  assert.equal(d.name, 'etc/hostname');
  assert.equal(d.mtime, 1700000000);
});

test('names up to 255 bytes use the ustar prefix, longer or non-ASCII ones a pax path', () => {
  const n120 = `${'d'.repeat(60)}/${'n'.repeat(59)}`;
  assert.deepEqual(splitUstarName(n120), ['d'.repeat(60), 'n'.repeat(59)]);
  assert.equal(encodeHeaders({ ...base, name: n120 }).length, BLOCK);
  const n300 = `${'d'.repeat(60)}/${'x'.repeat(239)}`;
  const h = encodeHeaders({ ...base, name: n300 });
  assert.equal(h[156], TypeFlag.paxLocal);
  const paxSize = decodeHeader(h, 0, 't').size;
  assert.equal(decodePaxRecords(h.subarray(BLOCK, BLOCK + paxSize), 0, 't').get('path')?.toString(), n300);
  const u = encodeHeaders({ ...base, name: 'srv/日本語' });
  assert.equal(u[156], TypeFlag.paxLocal, 'non-ASCII names go to pax');
});

test('ids above 2097151, negative times and xattrs go to sorted pax records', () => {
  const h = encodeHeaders({ ...base, name: 'f', uid: 3000000, gid: 4000000, mtime: -5, pax: new Map([['SCHILY.xattr.user.b', Buffer.from('2')], ['SCHILY.xattr.security.capability', Buffer.from([0, 1, 0, 255])]]) });
  const size = decodeHeader(h, 0, 't').size;
  const recs = decodePaxRecords(h.subarray(BLOCK, BLOCK + size), 0, 't');
  assert.deepEqual([...recs.keys()], ['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.b', 'gid', 'mtime', 'uid']);
  assert.equal(recs.get('uid')?.toString(), '3000000');
  assert.equal(recs.get('mtime')?.toString(), '-5');
  assert.deepEqual([...recs.get('SCHILY.xattr.security.capability')!], [0, 1, 0, 255]);
  assert.ok(![...recs.keys()].some((k) => k === 'atime' || k === 'ctime'));
});

test('a corrupted header is refused with its byte offset', () => {
  const h = encodeHeaders({ ...base, name: 'x' });
  h[0] = 0x79;
  assert.throws(() => decodeHeader(h, 1024, 'in.tar'), /bad tar header checksum at byte offset 1024/);
});

test('readNumeric and decodeName: the byte-loop fast paths agree with the string forms on random fields', async () => {
  const { rng } = await import('../helpers/rng.js');
  const { readNumeric: fast, decodeName: name } = await import('../../src/archive/tar-header.js');
  const slow = (b: Buffer, off: number, width: number): number => {
    const s = b.toString('latin1', off, off + width).replace(/[\0 ]+$/, '').replace(/^ +/, '');
    if (s === '') return 0;
    if (!/^[0-7]+$/.test(s)) return NaN;
    const n = parseInt(s, 8);
    return Number.isSafeInteger(n) ? n : NaN;
  };
  const r = rng(16);
  const alphabet = [0, 0x20, 0x30, 0x31, 0x37, 0x38, 0x2d, 0x41, 0x7f];
  for (let k = 0; k < 20000; k++) {
    const width = [8, 12, 20][k % 3]!;
    const b = Buffer.alloc(width + 2);
    for (let i = 1; i <= width; i++) b[i] = r() < 0.7 ? 0x30 + Math.floor(r() * 8) : alphabet[Math.floor(r() * alphabet.length)]!;
    if (b[1]! & 0x80) continue;
    assert.deepEqual(fast(b, 1, width), slow(b, 1, width), b.toString('hex'));
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (let k = 0; k < 5000; k++) {
    const b = Buffer.alloc(Math.floor(r() * 120));
    for (let i = 0; i < b.length; i++) b[i] = r() < 0.9 ? Math.floor(r() * 0x80) : Math.floor(r() * 256);
    let want: string | undefined;
    try {
      want = utf8.decode(b);
    } catch { /* refused */ }
    if (want === undefined) assert.throws(() => name(b, 'x'), /not valid UTF-8/);
    else assert.equal(name(b, 'x'), want);
  }
});

test('decodeHeader: the checksum is accepted as the unsigned or the signed sum, and refused otherwise, on random headers', async () => {
  const { rng } = await import('../helpers/rng.js');
  const r = rng(148);
  for (let k = 0; k < 3000; k++) {
    const b = encodeHeaders({ ...base, name: `f${k}` });
    const h = b.subarray(b.length - BLOCK);
    // Random bytes where they do not make the header malformed: the owner names and the padding.
    for (let i = 265; i < 329; i++) h[i] = r() < 0.5 ? 0 : Math.floor(r() * 256);
    for (let i = 500; i < BLOCK; i++) h[i] = Math.floor(r() * 256);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const v = i >= 148 && i < 156 ? 0x20 : h[i]!;
      unsigned += v;
      signed += v > 127 ? v - 256 : v;
    }
    const which = [unsigned, signed, unsigned + 1 + Math.floor(r() * 50)][k % 3]!;
    if (which < 0) continue;
    h.write(`${which.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    const ok = which === unsigned || which === signed;
    if (ok) assert.equal(decodeHeader(h, 0, 'T').name, `f${k}`);
    else assert.throws(() => decodeHeader(h, 0, 'T'), /bad tar header checksum/);
  }
});

test('headerSums: four bytes at a time gives the byte-by-byte sums, aligned or not, on 20,000 random blocks', async () => {
  const { headerSums } = await import('../../src/archive/tar-header.js');
  let seed = 3;
  const r = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const plain = (b: Uint8Array): { unsigned: number; signed: number } => {
    let unsigned = 256;
    let signed = 256;
    for (let i = 0; i < 512; i++) {
      if (i >= 148 && i < 156) continue;
      unsigned += b[i]!;
      signed += b[i]! > 127 ? b[i]! - 256 : b[i]!;
    }
    return { unsigned, signed };
  };
  const store = new Uint8Array(1024 + 3);
  for (let n = 0; n < 20000; n++) {
    const at = n % 4; // aligned, then each misalignment
    const block = store.subarray(at, at + 512);
    const kind = n % 3;
    for (let i = 0; i < 512; i++) block[i] = kind === 0 ? Math.floor(r() * 256) : kind === 1 ? 0xff : r() < 0.5 ? 0 : 0x80 + Math.floor(r() * 128);
    assert.deepEqual(headerSums(block), plain(block), `block ${n}`);
  }
});
