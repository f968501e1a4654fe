/**
 * Hostile disk images: seeded corruptions of small ext4, erofs and FAT images and of a GPT disk
 * (bytes flipped in their metadata) are either read or refused with a one-line ReproError —
 * never a crash, a hang or a stack trace. The seeds are the corpus: a failure names its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReproError } from '../../src/model/errors.js';
import { BufferSource, FileOutput } from '../../src/disk/io.js';
import { planExt4, minimumBlocks, writeExt4 } from '../../src/disk/ext4/writer.js';
import { planErofs, writeErofs } from '../../src/disk/erofs/writer.js';
import { planVfat, vfatMinimumBytes, writeVfat } from '../../src/disk/vfat/writer.js';
import { detectContent, fsReader } from '../../src/disk/open.js';
import { encodeGpt as encode, readGpt, usableRange as range } from '../../src/disk/gpt.js';
import type { Entry } from '../../src/archive/entry.js';
import { dirEntry, fileEntry } from '../helpers/disk.js';
import { fsTreeOf } from '../helpers/fstree.js';
import { rng } from '../helpers/rng.js';

const TREE: Entry[] = [
  dirEntry('d'), dirEntry('d/e'), fileEntry('d/e/f', 'hello\n'), fileEntry('g', Buffer.alloc(9000, 7), { xattrs: new Map([['user.x', Buffer.from('y')]]) }),
  { path: 'l', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: 'd/e/f' },
  ...Array.from({ length: 120 }, (_, i) => fileEntry(`d/many-${i}`, `${i}`)),
];
const VFAT_TREE = TREE.filter((e) => e.type !== 'symlink');

function image(kind: 'ext4' | 'erofs' | 'vfat'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  try {
    const path = join(dir, 'img');
    const out = FileOutput.create(path);
    let size: number;
    if (kind === 'ext4') {
      const plan = planExt4(fsTreeOf(TREE), { label: 'x', uuid: Buffer.alloc(16, 1), hashSeed: Buffer.alloc(16, 2), time: 0, where: 'x' });
      size = writeExt4(plan, out, minimumBlocks(plan)).blocks * 4096;
    } else if (kind === 'erofs') {
      size = writeErofs(planErofs(fsTreeOf(TREE), { label: 'x', uuid: Buffer.alloc(16, 1), time: 0, where: 'x' }), out).blocks * 4096;
    } else {
      const plan = planVfat(fsTreeOf(VFAT_TREE), { label: 'x', volumeId: 1, time: 0, sectorSize: 512, hiddenSectors: 0, where: 'x' });
      size = vfatMinimumBytes(plan);
      writeVfat(plan, out, size);
    }
    out.close();
    truncateSync(path, size);
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads everything a reader offers: every entry and every byte. */
function readAll(img: Buffer): void {
  const src = new BufferSource(img, 'fuzzed');
  const reader = fsReader(src, detectContent(src));
  if (!reader) return;
  let n = 0;
  for (const e of reader.walk()) {
    if (++n > 100000) throw new Error('too many entries: a loop');
    // A corrupted size can make a (legitimately sparse) file terabytes long: read 16 MiB at most.
    let read = 0;
    if (e.chunks) for (const c of e.chunks()) if ((read += c.length) > 16 << 20) break;
  }
}

for (const kind of ['ext4', 'erofs', 'vfat'] as const) {
  test(`${kind}: 400 seeded corruptions are read or refused with a ReproError`, () => {
    const good = image(kind);
    readAll(good);
    // Superblocks, descriptors and inode tables live near the start; directories, extent and
    // xattr blocks anywhere: half the flips go to the first 64 KiB, half to the non-zero bytes.
    const live: number[] = [];
    for (let i = 0; i < good.length; i++) if (good[i] !== 0) live.push(i);
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      const img = Buffer.from(good);
      const flips = 1 + Math.floor(r() * 8);
      for (let i = 0; i < flips; i++) {
        const at = r() < 0.5 ? Math.floor(r() * Math.min(good.length, 64 << 10)) : live[Math.floor(r() * live.length)]!;
        img[at] = r() < 0.5 ? Math.floor(r() * 256) : img[at]! ^ (1 << Math.floor(r() * 8));
      }
      try {
        readAll(img);
      } catch (e) {
        assert.ok(e instanceof ReproError, `${kind} seed ${seed}: ${(e as Error).stack}`);
        assert.doesNotMatch(e.message, /\n/, `${kind} seed ${seed}: one line`);
      }
    }
  });
}

test('GPT: 400 seeded corruptions of the table are read or refused with a ReproError', () => {
  const disk = Buffer.alloc(64 << 10);
  const gpt = makeGpt();
  gpt.head.copy(disk, 0);
  gpt.tail.copy(disk, gpt.tailLba * 512);
  for (let seed = 1; seed <= 400; seed++) {
    const r = rng(seed);
    const img = Buffer.from(disk);
    for (let i = 0; i < 4; i++) {
      const at = 512 + Math.floor(r() * (gpt.head.length - 512));
      img[at] = Math.floor(r() * 256);
    }
    try {
      readGpt(new BufferSource(img, 'fuzzed'));
    } catch (e) {
      assert.ok(e instanceof ReproError, `seed ${seed}: ${(e as Error).stack}`);
    }
  }
});

test('GPT: partitions that overlap are refused, naming both (were read as two partitions)', () => {
  const sectors = 128;
  const u = range(512, sectors);
  const part = (n: number, firstLba: number, lastLba: number): Parameters<typeof encode>[0]['partitions'][number] => ({ type: Buffer.alloc(16, 4), uuid: Buffer.alloc(16, n), firstLba, lastLba, attributes: 0n, name: `p${n}` });
  const disk = (partitions: Parameters<typeof encode>[0]['partitions']): Buffer => {
    const gpt = encode({ sectorSize: 512, sectors, diskGuid: Buffer.alloc(16, 3), firstUsableLba: u.first, lastUsableLba: u.last, partitions });
    const img = Buffer.alloc(64 << 10);
    gpt.head.copy(img, 0);
    gpt.tail.copy(img, gpt.tailLba * 512);
    return img;
  };
  // Listed out of order, the second inside the first; then one sector shared.
  assert.throws(() => readGpt(new BufferSource(disk([part(5, 60, 70), part(6, 40, 80)]), 'd.raw')),
    (e: unknown) => e instanceof ReproError && e.code === 'E_BAD_INPUT' && /^d\.raw: .*partitions 2 \(LBAs 40\.\.80\) and 1 \(LBAs 60\.\.70\) overlap$/.test(e.message));
  assert.throws(() => readGpt(new BufferSource(disk([part(5, 40, 60), part(6, 60, 80)]), 'd.raw')), /partitions 1 \(LBAs 40\.\.60\) and 2 \(LBAs 60\.\.80\) overlap/);
  // Adjacent is fine.
  assert.equal(readGpt(new BufferSource(disk([part(5, 40, 59), part(6, 60, 80)]), 'd.raw'))!.partitions.length, 2);
});

function makeGpt(): ReturnType<typeof encode> {
  const sectors = 128;
  const u = range(512, sectors);
  return encode({
    sectorSize: 512, sectors, diskGuid: Buffer.alloc(16, 3), firstUsableLba: u.first, lastUsableLba: u.last,
    partitions: [{ type: Buffer.alloc(16, 4), uuid: Buffer.alloc(16, 5), firstLba: 40, lastLba: 80, attributes: 0n, name: 'p' }],
  });
}
