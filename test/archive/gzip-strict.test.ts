/**
 * strictGunzip: a layer blob counts as "this tar, gzip-compressed" only when it is exactly one
 * plain gzip member. Node's own gunzip accepts some of the bad cases below (it reads concatenated
 * members and ignores trailing zeros); this reader refuses each, naming the offset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { strictGunzip, type GzipMemberInfo } from '../../src/archive/gzip-strict.js';

const data = Buffer.alloc(3 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
const gz = gzipSync(data);

async function read(buf: Buffer, step = 65536): Promise<{ out: Buffer; info?: GzipMemberInfo }> {
  async function* src(): AsyncGenerator<Buffer> { for (let i = 0; i < buf.length; i += step) yield buf.subarray(i, i + step); }
  const parts: Buffer[] = [];
  let info: GzipMemberInfo | undefined;
  for await (const c of strictGunzip(src(), 'blob', (i) => { info = i; })) parts.push(c);
  return info ? { out: Buffer.concat(parts), info } : { out: Buffer.concat(parts) };
}

test('one plain member is read, whatever the chunking', async () => {
  for (const step of [1, 7, 65536, 1 << 22]) {
    const r = await read(gz, step === 1 ? 4096 : step);
    assert.ok(r.out.equals(data));
    assert.deepEqual(r.info, { mtime: 0, xfl: 0, os: 3, compressedSize: gz.length, uncompressedSize: data.length });
  }
});

test('what Node would accept and a proof must not', async () => {
  const withName = Buffer.from(gz);
  withName[3] = 0x08;
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 6]! ^= 1;
  const cases: Array<[string, Buffer, RegExp]> = [
    ['trailing garbage', Buffer.concat([gz, Buffer.from('x')]), /1 bytes after its trailer \(from byte offset \d+\)/],
    ['trailing zeros', Buffer.concat([gz, Buffer.alloc(10)]), /10 bytes after its trailer/],
    ['a second member', Buffer.concat([gz, gz]), new RegExp(`${gz.length} bytes after its trailer`)],
    ['a name in the header', withName, /header flags 0x08 at byte offset 3/],
    ['a wrong CRC', badCrc, /trailer CRC-32/],
    ['truncated', gz.subarray(0, gz.length - 100), /corrupt deflate data|no trailer/],
    ['empty', Buffer.alloc(0), /only 0 bytes/],
  ];
  for (const [name, buf, re] of cases) {
    if (name === 'trailing zeros' || name === 'a second member') assert.doesNotThrow(() => gunzipSync(buf), 'Node itself accepts it');
    await assert.rejects(read(buf), (e: Error & { code?: string }) => e.code === 'E_BAD_INPUT' && /^blob: not one plain gzip member: /.test(e.message) && re.test(e.message), name);
  }
});
