/**
 * strictGunzip: a layer blob counts as "this tar, gzip-compressed" only when it is exactly one
 * plain gzip member. Node's own gunzip accepts some of the bad cases below (it reads concatenated
 * members and ignores trailing zeros); this reader refuses each, naming the offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { crc32 } from '../../src/archive/crc32.js';
import { strictGunzip, type GzipMemberInfo } from '../../src/archive/gzip-strict.js';
import { ReproError } from '../../src/model/errors.js';

const data = Buffer.alloc(3 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
const gz = gzipSync(data);
const withName = Buffer.from(gz);
withName[3] = 0x08;
const badCrc = Buffer.from(gz);
badCrc[badCrc.length - 6]! ^= 1;
/**
 * Bigger than a few writes to inflate: pseudo-random bytes, as one plain member, and as a member
 * whose deflate data breaks after them (a block of the reserved type 3).
 */
const big = Buffer.alloc(10 << 20);
for (let i = 0, x = 12345; i < big.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; big[i] = x & 0xff; }
const header = gz.subarray(0, 10);
const trailer = Buffer.alloc(8);
trailer.writeUInt32LE(crc32(big, 0), 0);
trailer.writeUInt32LE(big.length, 4);
const bigGz = Buffer.concat([header, deflateRawSync(big, { level: 1 }), trailer]);
const corrupt = Buffer.concat([header, deflateRawSync(big, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }), Buffer.from([0x07]), trailer]);

async function* chunks(buf: Buffer, step: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += step) yield buf.subarray(i, i + step);
}

async function read(buf: Buffer, step = 65536): Promise<{ out: Buffer; info?: GzipMemberInfo }> {
  const parts: Buffer[] = [];
  let info: GzipMemberInfo | undefined;
  for await (const c of strictGunzip(chunks(buf, step), 'blob', (i) => { info = i; })) parts.push(c);
  return info ? { out: Buffer.concat(parts), info } : { out: Buffer.concat(parts) };
}

test('one plain member is read, whatever the chunking', async () => {
  for (const step of [1, 7, 65536, 1 << 22]) {
    const r = await read(gz, step === 1 ? 4096 : step);
    assert.ok(r.out.equals(data));
    assert.deepEqual(r.info, { mtime: 0, xfl: 0, os: 3, compressedSize: gz.length, uncompressedSize: data.length });
  }
  const r = await read(bigGz);
  assert.ok(r.out.equals(big));
});

const cases: Array<[string, Buffer, RegExp]> = [
  ['trailing garbage', Buffer.concat([gz, Buffer.from('x')]), /1 bytes after its trailer \(from byte offset \d+\)/],
  ['trailing zeros', Buffer.concat([gz, Buffer.alloc(10)]), /10 bytes after its trailer/],
  ['a second member', Buffer.concat([gz, gz]), new RegExp(`${gz.length} bytes after its trailer`)],
  ['a name in the header', withName, /header flags 0x08 at byte offset 3/],
  ['a wrong CRC', badCrc, /trailer CRC-32/],
  ['truncated', gz.subarray(0, gz.length - 100), /corrupt deflate data|no trailer/],
  ['corrupt deflate data (it hung the reader)', corrupt, /corrupt deflate data \(invalid block type\)/],
  ['empty', Buffer.alloc(0), /only 0 bytes/],
];

const refused = (re: RegExp) => (e: Error & { code?: string }): boolean =>
  e instanceof ReproError && e.code === 'E_BAD_INPUT' && /^blob: not one plain gzip member: /.test(e.message) && re.test(e.message);

test('what Node would accept and a proof must not', async () => {
  for (const [name, buf, re] of cases) {
    if (name === 'trailing zeros' || name === 'a second member') assert.doesNotThrow(() => gunzipSync(buf), 'Node itself accepts it');
    await assert.rejects(read(buf), refused(re), name);
  }
});
