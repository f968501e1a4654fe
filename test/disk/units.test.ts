/**
 * The small codecs of src/disk: CRC-32C, UUIDs in GPT's mixed-endian form, systemd-repart's
 * derivations from a seed (values systemd-repart 252 and 257 printed for this seed and these
 * definitions, see docs/disk.md), ext4 directory hashes against debugfs, GPT round trips, FAT
 * names and DOS times, verity level sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cRaw } from '../../src/disk/crc32c.js';
import { formatUuid, guidToUuid, makeV4, parseUuid, uuidToGuid } from '../../src/disk/uuid.js';
import { diskGuid, ext4HashSeed, fileSystemUuid, partitionUuid, veritySalt, verityUuid, vfatVolumeId } from '../../src/disk/seed.js';
import { partitionType, defaultFlags, typeName } from '../../src/disk/partition-types.js';
import { dirHash } from '../../src/disk/ext4/hash.js';
import { encodeGpt, readGpt, usableRange } from '../../src/disk/gpt.js';
import { BufferSource } from '../../src/disk/io.js';
import { CommonBytes } from '../../src/diff/disk-diff.js';
import { exactShortName, generateShortName, longNameEntries, shortNameChecksum, fatLabel } from '../../src/disk/vfat/names.js';
import { dosTime } from '../../src/disk/vfat/writer.js';
import { buildVerity, hashDeviceBytes, levelSizes } from '../../src/disk/verity.js';
import { encodeTime, decodeTime } from '../../src/disk/ext4/format.js';
import { FIXTURE_SEED, have, run } from '../helpers/disk.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('CRC-32C: the check value and the raw (no inversion) form ext4 uses', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  // Slicing by 8 and byte at a time agree at every length and offset.
  const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
  for (let len = 0; len < 40; len++) {
    let byByte = 0x12345678;
    for (let i = 3; i < 3 + len; i++) byByte = crc32cRaw(byByte, data.subarray(i, i + 1));
    assert.equal(crc32cRaw(0x12345678, data, 3, 3 + len), byByte, `length ${len}`);
  }
});

test('UUIDs: text, v4 marking, and the GPT mixed-endian form', () => {
  const u = parseUuid('c12a7328-f81f-11d2-ba4b-00a0c93ec93b', 't');
  assert.equal(uuidToGuid(u).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
  assert.equal(formatUuid(guidToUuid(uuidToGuid(u))), 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
  const v = makeV4(Buffer.alloc(16, 0xff));
  assert.equal(formatUuid(v), 'ffffffff-ffff-4fff-bfff-ffffffffffff');
  assert.throws(() => parseUuid('not-a-uuid', 'disk.seed'), /disk\.seed: "not-a-uuid" is not a UUID/);
});

test("seed derivations are systemd-repart's (values it printed for this seed)", () => {
  const seed = parseUuid(FIXTURE_SEED, 'seed');
  const t = (k: Parameters<typeof partitionType>[0]): Buffer => partitionType(k, 'x86-64').uuid;
  assert.equal(formatUuid(diskGuid(seed)), '31918d1c-a93a-45d1-a195-a84a9db04099');
  assert.equal(formatUuid(partitionUuid(seed, t('esp'), 0)), 'cb96a8e9-addc-4be7-b68e-69b6d1ea59cb');
  assert.equal(formatUuid(partitionUuid(seed, t('root'), 0)), '9a914a15-37a6-422c-a924-0380869e7ede');
  assert.equal(formatUuid(partitionUuid(seed, t('root'), 1)), 'bfef1f1c-b066-4303-ad48-d81a7f548a91');
  assert.equal(formatUuid(partitionUuid(seed, t('usr'), 0)), 'cadf0234-5f13-4e17-b584-ed976dc2ec5d');
  assert.equal(formatUuid(partitionUuid(seed, t('swap'), 0)), 'f5ed62ff-6564-4f77-b03a-920e230be710');
  // File systems (mkfs -U / mkfs.vfat -i as systemd-repart 257 runs them).
  assert.equal(formatUuid(fileSystemUuid(partitionUuid(seed, t('root'), 0))), '6de632fe-7638-44c4-917c-ecf4170af3b4');
  assert.equal(formatUuid(fileSystemUuid(partitionUuid(seed, t('usr'), 0))), '9abf8135-821d-477a-a352-6d102b7e18ed');
  assert.equal(vfatVolumeId(fileSystemUuid(partitionUuid(seed, t('esp'), 0))).toString(16), 'e7b87c0d');
  // Verity salt and superblock UUID, and our ext4 hash seed: fixed for the seed.
  assert.equal(veritySalt(seed).length, 32);
  assert.match(formatUuid(verityUuid(seed)), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notDeepEqual(ext4HashSeed(fileSystemUuid(partitionUuid(seed, t('root'), 0))), Buffer.alloc(16));
});

test('partition types, names and default flags follow systemd', () => {
  assert.equal(partitionType('root', 'amd64').name, 'root-x86-64');
  assert.equal(partitionType('usr-verity', 'aarch64').name, 'usr-arm64-verity');
  assert.equal(typeName(partitionType('root-verity', 'x86-64').uuid), 'root-x86-64-verity');
  assert.equal(defaultFlags('root', false, {}), 1n << 59n);
  assert.equal(defaultFlags('usr', true, {}), 1n << 60n);
  assert.equal(defaultFlags('root-verity', false, {}), 1n << 60n);
  assert.equal(defaultFlags('esp', false, {}), 0n);
  assert.equal(defaultFlags('root', false, { growFileSystem: false }), 0n);
  assert.throws(() => partitionType('root', 'riscv128'), /architecture riscv128/);
});

test('ext4 directory hashes agree with debugfs dx_hash (signed and unsigned half-MD4, TEA, legacy)', (t) => {
  if (!have('debugfs') || !have('mke2fs')) { t.skip('e2fsprogs not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'dxhash-'));
  try {
    const img = join(dir, 'x.ext4');
    writeFileSync(img, Buffer.alloc(0));
    assert.equal(run('mke2fs', ['-q', '-F', '-t', 'ext4', img, '8M']).status, 0);
    const seedText = '07070707-0707-0707-0707-070707070707';
    const words = new Uint32Array(4).fill(0x07070707);
    for (const name of ['hello', 'ünïcödé', 'a'.repeat(40), 'x'.repeat(255), '日本語のファイル名']) {
      for (const version of [0, 1, 2, 3, 4, 5]) {
        const r = run('debugfs', ['-R', `dx_hash -h ${version} -s ${seedText} ${name}`, img]);
        const m = /is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/.exec(r.stdout);
        assert.ok(m, r.stdout + r.stderr);
        const ours = dirHash(version, Buffer.from(name), words);
        assert.equal(ours.hash, parseInt(m[1]!, 16), `${name} v${version}`);
        if (version !== 0 && version !== 3) assert.equal(ours.minor, parseInt(m[2]!, 16), `${name} v${version} minor`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ext4 times: two epoch bits around 1970 and 2038', () => {
  for (const s of [-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 34 - 2 ** 31 - 1]) {
    const { lo, extra } = encodeTime(s);
    assert.equal(decodeTime(lo, extra).s, s, String(s));
  }
});

test('GPT: encode, read back, and refuse a damaged entry array', () => {
  const ss = 512;
  const sectors = 8192;
  const r = usableRange(ss, sectors);
  const table = {
    sectorSize: ss, sectors, diskGuid: parseUuid('31918d1c-a93a-45d1-a195-a84a9db04099', 'g'), firstUsableLba: r.first, lastUsableLba: r.last,
    partitions: [{ type: partitionType('esp', 'x86-64').uuid, uuid: parseUuid('cb96a8e9-addc-4be7-b68e-69b6d1ea59cb', 'u'), firstLba: 2048, lastLba: 4095, attributes: 1n << 60n, name: 'ESP ünï' }],
  };
  const { head, tail, tailLba } = encodeGpt(table);
  const disk = Buffer.alloc(sectors * ss);
  head.copy(disk, 0);
  tail.copy(disk, tailLba * ss);
  const back = readGpt(new BufferSource(disk, 'disk'))!;
  assert.deepEqual(back.problems, []);
  assert.equal(formatUuid(back.diskGuid), '31918d1c-a93a-45d1-a195-a84a9db04099');
  assert.equal(back.partitions[0]!.name, 'ESP ünï');
  assert.equal(back.partitions[0]!.attributes, 1n << 60n);
  disk[2 * ss + 60] = disk[2 * ss + 60]! ^ 1;
  assert.deepEqual(readGpt(new BufferSource(disk, 'disk'))!.problems, ['GPT entry array CRC-32 does not match']);
  assert.equal(readGpt(new BufferSource(Buffer.alloc(4096), 'blank')), undefined);
});

test('FAT names: exact 8.3, generated short names with tails, long-name entries', () => {
  assert.ok(exactShortName('EFI'));
  assert.equal(exactShortName('efi'), undefined);
  assert.equal(exactShortName('BOOTX64.EFI')?.toString('latin1'), 'BOOTX64 EFI');
  const taken = new Set<string>();
  const a = generateShortName('loader.conf', taken).toString('latin1');
  taken.add(a);
  assert.equal(a, 'LOADER~1CON'); // the extension is cut: a tail
  assert.equal(generateShortName('systemd-bootx64.efi', taken).toString('latin1'), 'SYSTEM~1EFI');
  taken.add('SYSTEM~1EFI');
  assert.equal(generateShortName('systemd-bootaa64.efi', taken).toString('latin1'), 'SYSTEM~2EFI');
  assert.equal(generateShortName('ünïcödé', new Set()).toString('latin1'), '_N_C_D~1   ');
  const e = longNameEntries('loader.conf', shortNameChecksum(Buffer.from('LOADER~1CON', 'latin1')));
  assert.equal(e.length, 1);
  assert.equal(e[0]![0], 0x41);
  assert.equal(fatLabel('root-x86-64.x'), 'ROOT-X86-64');
  assert.equal(fatLabel('esp'), 'ESP');
});

test('DOS times in UTC, clamped to 1980..2107', () => {
  assert.deepEqual(dosTime(Date.UTC(2023, 10, 14, 22, 13, 20) / 1000), { date: (43 << 9) | (11 << 5) | 14, time: (22 << 11) | (13 << 5) | 10 });
  assert.deepEqual(dosTime(0), { date: (0 << 9) | (1 << 5) | 1, time: 0 });
});

test('verity levels: 128 hashes per block, up to one top block; one data block needs none', () => {
  assert.deepEqual(levelSizes(1), []);
  assert.equal(hashDeviceBytes(4096), 4096);
  assert.deepEqual(levelSizes(128), [1]);
  assert.deepEqual(levelSizes(129), [2, 1]);
  assert.deepEqual(levelSizes(128 * 128 + 1), [129, 2, 1]);
  assert.equal(hashDeviceBytes(4096 * 769), 4096 * (1 + 7 + 1));
});

test('verity hash devices are veritysetup\'s, byte for byte, from 1 to 16385 data blocks', (t) => {
  if (!have('veritysetup')) { t.skip('cryptsetup-bin not installed'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'verity-'));
  try {
    const salt = Buffer.from('5a'.repeat(32), 'hex');
    const uuid = parseUuid('01234567-89ab-4def-8123-456789abcdef', 'u');
    for (const blocks of [1, 2, 127, 128, 129, 16384, 16385]) {
      const data = Buffer.alloc(blocks * 4096);
      for (let i = 0; i < blocks; i++) data.writeUInt32LE(i * 2654435761 >>> 0, i * 4096);
      const dataFile = join(dir, `d${blocks}`);
      const theirs = join(dir, `h${blocks}`);
      writeFileSync(dataFile, data);
      const r = run('veritysetup', ['format', `--salt=${salt.toString('hex')}`, `--uuid=${formatUuid(uuid)}`, '--hash=sha256', '--data-block-size=4096', '--hash-block-size=4096', dataFile, theirs]);
      assert.equal(r.status, 0, r.stderr);
      const ours = buildVerity(new BufferSource(data, 'data'), { salt, uuid, dataBytes: data.length });
      assert.equal(ours.rootHash.toString('hex'), /Root hash:\s+([0-9a-f]+)/.exec(r.stdout)![1], `${blocks} blocks: root hash`);
      assert.ok(ours.hashDevice.equals(readFileSync(theirs)), `${blocks} blocks: hash device bytes`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CommonBytes: equal partitions scan equal; ranges across pieces and grains are equal only where every byte is', () => {
  const size = 3 * CommonBytes.PIECE + 12345;
  const a = Buffer.alloc(size);
  for (let i = 0; i < size; i++) a[i] = (i * 7) & 0xff;
  assert.equal(new CommonBytes(new BufferSource(a), new BufferSource(Buffer.from(a))).scan(), true);
  const b = Buffer.from(a);
  const at = 2 * CommonBytes.PIECE + 5 * CommonBytes.GRAIN + 17; // one byte in piece 2, grain 5
  b[at] = b[at]! ^ 1;
  const c = new CommonBytes(new BufferSource(a), new BufferSource(b));
  assert.equal(c.scan(), false);
  assert.equal(c.same(0, 2 * CommonBytes.PIECE), true);
  // Known per 4 KiB grain: equal up to the grain that holds the changed byte, not into it.
  assert.equal(c.same(CommonBytes.PIECE - 10, CommonBytes.PIECE + 10 + 5 * CommonBytes.GRAIN), true);
  assert.equal(c.same(CommonBytes.PIECE - 10, CommonBytes.PIECE + 11 + 5 * CommonBytes.GRAIN), false);
  assert.equal(c.same(at, 1), false);
  assert.equal(c.same(at + CommonBytes.GRAIN, size - at - CommonBytes.GRAIN), true); // the tail piece, shorter than PIECE
  assert.equal(c.same(size - 1, 2), false); // beyond the end
  assert.equal(c.same(-1, 1), false);
  assert.equal(c.same(0, 0), true);
  // Sizes differ: never equal as a whole; ranges within both still compare.
  const d = new CommonBytes(new BufferSource(a), new BufferSource(a.subarray(0, size - 1)));
  assert.equal(d.scan(), false);
  assert.equal(d.same(0, size - 1), true);
  assert.equal(d.same(0, size), false);
});
