/**
 * A root filesystem from a tar archive (plain, gzip or zstd). Members are resolved as extraction
 * would resolve them (later members replace earlier ones, hard links share the inode of what their
 * target was at that point) and content stays in the archive: an uncompressed archive is read in
 * place, a compressed one is decompressed once into a temporary file that content ranges point at.
 */
import { open, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { ReproError, ioError, option } from '../../model/errors.js';
import { decompressStream, detectCompression } from '../../archive/compress.js';
import { cleanLinkTarget, cleanMemberPath } from '../../archive/paths.js';
import { readTar, type TarMember } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';
import type { Entry, EntryType } from '../../archive/entry.js';
import { completeTree } from './tree.js';

export interface RootfsTree {
  entries: Map<string, Entry>;
  warnings: string[];
  /** Files to delete once the build is done (decompressed copies). */
  cleanup: () => Promise<void>;
}

const TEE_BATCH = 1 << 20;

const TYPES = new Map<number, EntryType>([
  [TypeFlag.file, 'file'], [TypeFlag.oldFile, 'file'], [TypeFlag.contiguous, 'file'],
  [TypeFlag.symlink, 'symlink'], [TypeFlag.char, 'char'], [TypeFlag.block, 'block'],
  [TypeFlag.dir, 'dir'], [TypeFlag.fifo, 'fifo'],
]);

/**
 * Passes chunks through while copying them to a file, written in batches of about 1 MiB. A failed
 * write (a full disk: ENOSPC) is an error naming the file.
 */
export async function* teeToFile(source: AsyncIterable<Buffer>, path: string): AsyncGenerator<Buffer> {
  const fh = await open(path, 'wx', 0o600).catch((e) => { throw ioError(e, `cannot write the decompressed copy ${path}`); });
  let pending: Buffer[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (size === 0) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    await fh.write(data).catch((e) => { throw ioError(e, `cannot write the decompressed copy ${path}`); });
  };
  try {
    for await (const chunk of source) {
      pending.push(chunk);
      size += chunk.length;
      if (size >= TEE_BATCH) await flush();
      yield chunk;
    }
    await flush();
  } finally {
    await fh.close();
  }
}

export async function readTarball(file: string, tmpDir: string): Promise<RootfsTree> {
  let head: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      head = Buffer.alloc(6);
      const { bytesRead } = await fh.read(head, 0, 6, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw ioError(e, `${option('rootfs')} ${file}`);
  }
  const compression = detectCompression(head);
  let dataFile = file;
  let source: AsyncIterable<Buffer> = createReadStream(file, { highWaterMark: 1 << 20 });
  const temp = join(tmpDir, 'rootfs.tar');
  if (compression !== 'none') {
    dataFile = temp;
    source = teeToFile(decompressStream(compression, source, file), temp);
  }
  const cleanup = async (): Promise<void> => {
    if (dataFile === temp) await rm(temp, { force: true });
  };
  try {
    const entries = new Map<string, Entry>();
    const warnings: string[] = [];
    let inodes = 0;
    for await (const { member } of readTar(source, file)) {
      const where = `${file}: member ${JSON.stringify(member.name)} at byte offset ${member.headerOffset}`;
      const path = cleanMemberPath(member.name, where);
      if (path === '') continue; // the root itself
      const entry = memberEntry(member, path, dataFile, where, entries, () => `${file}#${inodes++}`);
      if (!entry) {
        warnings.push(`${where}: skipped (type ${JSON.stringify(String.fromCharCode(member.typeflag))})`);
        continue;
      }
      // Last wins, as on extraction; a directory stated again keeps its children.
      entries.set(path, entry);
    }
    completeTree(entries, file);
    return { entries, warnings, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

export function memberEntry(
  m: TarMember, path: string, dataFile: string, where: string,
  entries: Map<string, Entry>, newInode: () => string,
): Entry | undefined {
  if (m.typeflag === TypeFlag.hardlink) {
    const targetPath = cleanLinkTarget(m.linkname, where);
    const target = entries.get(targetPath);
    if (!target || target.type !== 'file') {
      throw new ReproError('E_TAR_FORMAT', `${where}: hard link to ${JSON.stringify(m.linkname)}, which is not an earlier regular file in the archive`);
    }
    if (target.inode === undefined) target.inode = newInode();
    // A hard link is another name of the target's inode: same metadata, same content.
    return { ...target, path };
  }
  const type = TYPES.get(m.typeflag);
  if (!type) {
    if (m.typeflag === TypeFlag.gnuVolume || m.typeflag === TypeFlag.gnuDumpDir) return undefined;
    throw new ReproError('E_TAR_FORMAT', `${where}: unknown member type ${JSON.stringify(String.fromCharCode(m.typeflag))}`);
  }
  const e: Entry = { path, type, mode: m.mode & 0o7777, uid: m.uid, gid: m.gid, mtime: m.mtime, size: 0 };
  if (type === 'file') {
    e.size = m.size;
    e.content = { kind: 'range', path: dataFile, offset: m.dataOffset };
  } else if (type === 'symlink') {
    if (m.linkname === '') throw new ReproError('E_TAR_FORMAT', `${where}: symlink with an empty target`);
    e.linkname = m.linkname;
  } else if (type === 'char' || type === 'block') {
    e.devmajor = m.devmajor;
    e.devminor = m.devminor;
  }
  if (m.xattrs.size > 0) e.xattrs = new Map(m.xattrs);
  return e;
}
