/**
 * A Debian binary package: an ar archive holding `debian-binary`, `control.tar[.gz|.xz|.zst]` and
 * `data.tar[.gz|.xz|.zst]` (deb(5)). The control archive is small and read into memory; the data
 * archive is decompressed once into a file that entries point into by byte range.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { ReproError, ioError } from '../../model/errors.js';
import { decompressBuffer, decompressStream, type DetectedCompression } from '../../archive/compress.js';
import { readTar, type TarMember } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';

export interface ArMember {
  name: string;
  offset: number;
  size: number;
}

const AR_MAGIC = '!<arch>\n';

/** The control archive is read into memory: a few KiB in practice, refused beyond this. */
const CONTROL_LIMIT = 64 << 20;

/** Lists the members of an ar archive (the whole file is only a few headers to read). */
export async function listAr(path: string, where: string): Promise<ArMember[]> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw ioError(e, `${where}: cannot read`);
  }
  try {
    const { size: total } = await fh.stat();
    const magic = Buffer.alloc(8);
    await fh.read(magic, 0, 8, 0);
    if (magic.toString('latin1') !== AR_MAGIC) throw new ReproError('E_BAD_INPUT', `${where}: not a Debian package (no ar magic at byte offset 0)`);
    const out: ArMember[] = [];
    let pos = 8;
    const h = Buffer.alloc(60);
    while (pos < total) {
      const { bytesRead } = await fh.read(h, 0, 60, pos);
      if (bytesRead !== 60 || h.toString('latin1', 58, 60) !== '`\n') {
        throw new ReproError('E_BAD_INPUT', `${where}: bad ar member header at byte offset ${pos}`);
      }
      const name = h.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      // A decimal count of bytes, nothing else (Number() would take '-60', '0x10' or '1e3').
      const sizeText = h.toString('latin1', 48, 58).trimEnd();
      if (!/^[0-9]+$/.test(sizeText)) {
        throw new ReproError('E_BAD_INPUT', `${where}: ar member ${JSON.stringify(name)} at byte offset ${pos}: malformed size field ${JSON.stringify(sizeText)}`);
      }
      const size = Number(sizeText);
      if (!Number.isSafeInteger(size) || pos + 60 + size > total) {
        throw new ReproError('E_BAD_INPUT', `${where}: ar member ${JSON.stringify(name)} at byte offset ${pos} runs past the end of the file`);
      }
      out.push({ name, offset: pos + 60, size });
      pos += 60 + size + (size % 2);
    }
    return out;
  } finally {
    await fh.close();
  }
}

function compressionOf(name: string, where: string): DetectedCompression {
  if (name.endsWith('.tar')) return 'none';
  if (name.endsWith('.tar.gz')) return 'gzip';
  if (name.endsWith('.tar.xz')) return 'xz';
  if (name.endsWith('.tar.zst')) return 'zstd';
  throw new ReproError('E_UNSUPPORTED', `${where}: member ${name} has an unsupported compression`);
}

export interface DebArchive {
  /** Control archive files (`control`, `md5sums`, `conffiles`, maintainer scripts…) by name. */
  control: Map<string, Buffer>;
  /** Modes of the control files (maintainer scripts are executable). */
  controlModes: Map<string, number>;
  data: ArMember & { compression: DetectedCompression };
}

export async function readDeb(path: string, where: string): Promise<DebArchive> {
  const members = await listAr(path, where);
  const version = members[0];
  if (!version || version.name !== 'debian-binary') throw new ReproError('E_BAD_INPUT', `${where}: first ar member is not debian-binary`);
  const control = members.find((m) => m.name.startsWith('control.tar'));
  const data = members.find((m) => m.name.startsWith('data.tar'));
  if (!control || !data) throw new ReproError('E_BAD_INPUT', `${where}: no ${control ? 'data' : 'control'}.tar member`);
  const fh = await open(path, 'r');
  let raw: Buffer;
  try {
    raw = Buffer.alloc(control.size);
    await fh.read(raw, 0, control.size, control.offset);
  } finally {
    await fh.close();
  }
  const tar = await decompressBuffer(compressionOf(control.name, where), raw, `${where}: ${control.name}`, CONTROL_LIMIT);
  const files = new Map<string, Buffer>();
  const modes = new Map<string, number>();
  async function* one(): AsyncGenerator<Buffer> { yield tar; }
  for await (const { member, body } of readTar(one(), `${where}: ${control.name}`)) {
    if (member.typeflag !== TypeFlag.file && member.typeflag !== TypeFlag.oldFile) continue;
    const name = member.name.replace(/^\.\//, '');
    if (name.includes('/')) continue;
    const parts: Buffer[] = [];
    for await (const c of body()) parts.push(c);
    files.set(name, Buffer.concat(parts));
    modes.set(name, member.mode & 0o7777);
  }
  if (!files.has('control')) throw new ReproError('E_BAD_INPUT', `${where}: ${control.name} has no control file`);
  return { control: files, controlModes: modes, data: { ...data, compression: compressionOf(data.name, where) } };
}

/** Streams the decompressed data.tar. */
export function dataTarStream(path: string, deb: DebArchive, where: string): AsyncIterable<Buffer> {
  const { offset, size, compression, name } = deb.data;
  const raw = size === 0 ? (async function* () {})() : createReadStream(path, { start: offset, end: offset + size - 1, highWaterMark: 1 << 20 });
  return decompressStream(compression, raw as AsyncIterable<Buffer>, `${where}: ${name}`);
}

export type { TarMember };
