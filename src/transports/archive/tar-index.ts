import type { FileHandle } from 'node:fs/promises';
import { openRegularFile } from '../../fs/read-whole.js';
import { ReproError, ioError } from '../../model/errors.js';
import { cleanMemberPath } from '../../archive/paths.js';
import { readTar } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';
import { detectCompression } from '../../archive/detect.js';

export interface Member {
  offset: number;
  size: number;
}

/**
 * Indexes the regular files of an uncompressed tar archive by cleaned path (last one wins). The
 * archive must be a regular file: its members are read later where they lie, and a FIFO would
 * block the open for ever (even past SIGTERM), a device (/dev/zero) be read for ever. It is opened
 * without blocking and checked on that descriptor (`openRegularFile`), which the index is read from.
 */
export async function indexArchive(file: string): Promise<Map<string, Member>> {
  const fh = await openArchive(file);
  let c;
  try {
    const head = Buffer.alloc(6);
    await fh.read(head, 0, 6, 0);
    c = detectCompression(head);
  } catch (e) {
    await fh.close();
    throw ioError(e, file);
  }
  if (c !== 'none') {
    await fh.close();
    throw new ReproError('E_UNSUPPORTED', `${file}: a ${c}-compressed archive; decompress it first`);
  }
  const members = new Map<string, Member>();
  // The stream closes the file when it ends, fails or is let go.
  for await (const { member } of readTar(fh.createReadStream({ start: 0, highWaterMark: 1 << 20 }), file)) {
    if (member.typeflag !== TypeFlag.file && member.typeflag !== TypeFlag.oldFile) continue;
    members.set(cleanMemberPath(member.name, file), { offset: member.dataOffset, size: member.size });
  }
  return members;
}

/** The archive opened for reading, when it is a regular file (exit 2 saying why it must be, otherwise). */
async function openArchive(file: string): Promise<FileHandle> {
  try {
    return (await openRegularFile(file)).fh;
  } catch (e) {
    if (e instanceof ReproError) throw new ReproError('E_BAD_INPUT', `${file}: not a regular file (an archive is read where its members lie; save it to a file first)`);
    throw ioError(e, file);
  }
}

/** Documents read whole from an archive (index.json, manifest.json, a config) are at most this. */
export const MEMBER_READ_LIMIT = 64 << 20;

export async function readMember(file: string, members: Map<string, Member>, path: string): Promise<Buffer> {
  const m = members.get(path);
  if (!m) throw new ReproError('E_NOT_FOUND', `${file}: has no ${path}`);
  if (m.size > MEMBER_READ_LIMIT) {
    throw new ReproError('E_BAD_INPUT', `${file}: ${path} is ${m.size} bytes, more than the ${MEMBER_READ_LIMIT} read whole`);
  }
  const fh = await openArchive(file);
  try {
    const buf = Buffer.alloc(m.size);
    const { bytesRead } = await fh.read(buf, 0, m.size, m.offset);
    if (bytesRead !== m.size) throw new ReproError('E_TAR_TRUNCATED', `${file}: ${path} ends after ${bytesRead} of ${m.size} bytes (the file changed?)`);
    return buf;
  } finally {
    await fh.close();
  }
}
