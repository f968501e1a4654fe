/**
 * A pacman package (`.pkg.tar.zst`, `.xz`, `.gz` or plain): a tar whose members starting with `.`
 * are the package's metadata (`.PKGINFO`, `.MTREE`, `.INSTALL`, `.CHANGELOG`, `.BUILDINFO`) and the
 * rest its files. The tar is decompressed once into a temporary file that the file entries point
 * into; the metadata files are small and read into memory. Nothing starting with `.` goes into the
 * tree, as pacman extracts none of it there.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { decompressBuffer, decompressStream, detectCompression } from '../../archive/compress.js';
import type { Entry } from '../../archive/entry.js';
import { cleanMemberPath } from '../../archive/paths.js';
import { readTar, type TarMember } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';
import { ReproError, ioError } from '../../model/errors.js';
import { memberEntry, teeToFile } from '../rootfs/tarball.js';
import { mtreeFileList, sortFileList } from './mtree.js';
import { parsePkgInfo, type PkgInfo } from './pkginfo.js';

/** A metadata member pacman keeps in its database directory (`mtree`, `install`, `changelog`). */
export interface KeptMember {
  data: Buffer;
  mtime: number;
  uid: number;
  gid: number;
}

export interface PackageFile {
  pkginfo: PkgInfo;
  /** The package's files, in archive order (paths as shipped, cleaned). */
  entries: Entry[];
  /** What pacman's local database lists for it: sorted, directories ending in `/`. */
  fileList: string[];
  mtree?: KeptMember;
  install?: KeptMember;
  changelog?: KeptMember;
}

const KEPT: Record<string, 'mtree' | 'install' | 'changelog'> = { '.MTREE': 'mtree', '.INSTALL': 'install', '.CHANGELOG': 'changelog' };
const METADATA_LIMIT = 64 << 20;

async function readBody(member: TarMember, body: () => AsyncGenerator<Buffer>, where: string): Promise<Buffer> {
  if (member.size > METADATA_LIMIT) throw new ReproError('E_BAD_INPUT', `${where}: ${member.name} is ${member.size} bytes, too large for package metadata`);
  const parts: Buffer[] = [];
  for await (const c of body()) parts.push(c);
  return Buffer.concat(parts);
}

async function compressionOf(path: string, where: string): Promise<ReturnType<typeof detectCompression>> {
  try {
    const fh = await open(path, 'r');
    try {
      const head = Buffer.alloc(6);
      const { bytesRead } = await fh.read(head, 0, 6, 0);
      return detectCompression(head.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw ioError(e, `${where}: cannot read`);
  }
}

/** Reads a package; `dataFile` is where its decompressed tar is kept while the build needs it. */
export async function readPackage(path: string, dataFile: string, where: string): Promise<PackageFile> {
  const compression = await compressionOf(path, where);
  let source: AsyncIterable<Buffer> = createReadStream(path, { highWaterMark: 1 << 20 });
  let contentFile = path;
  if (compression !== 'none') {
    contentFile = dataFile;
    source = teeToFile(decompressStream(compression, source, where), dataFile);
  }
  let pkginfo: PkgInfo | undefined;
  const kept: Partial<Record<'mtree' | 'install' | 'changelog', KeptMember>> = {};
  const local = new Map<string, Entry>();
  const archiveList: string[] = [];
  let inodes = 0;
  for await (const { member, body } of readTar(source, where)) {
    const at = `${where}: member ${JSON.stringify(member.name)} at byte offset ${member.headerOffset}`;
    if (member.name.startsWith('.')) {
      // libalpm: .PKGINFO is parsed, .MTREE/.INSTALL/.CHANGELOG go to the database, any other
      // name starting with '.' (.BUILDINFO…) is reserved and skipped.
      if (member.name === '.PKGINFO') pkginfo = parsePkgInfo((await readBody(member, body, at)).toString('utf8'), `${where}: .PKGINFO`);
      const k = KEPT[member.name];
      if (k) kept[k] = { data: await readBody(member, body, at), mtime: member.mtime, uid: member.uid, gid: member.gid };
      continue;
    }
    const p = cleanMemberPath(member.name, at);
    if (p === '') continue;
    const e = memberEntry(member, p, contentFile, at, local, () => `${where}#${inodes++}`);
    if (!e) throw new ReproError('E_BAD_INPUT', `${at}: unsupported member type ${JSON.stringify(String.fromCharCode(member.typeflag))}`);
    local.set(p, e);
    archiveList.push(member.typeflag === TypeFlag.dir && !member.name.endsWith('/') ? `${member.name}/` : member.name);
  }
  if (!pkginfo) throw new ReproError('E_BAD_INPUT', `${where}: no .PKGINFO (not a pacman package)`);
  // libalpm takes the file list from .MTREE when there is one (the cheap way), else from the archive.
  const mtreeText = kept.mtree ? (await decompressBuffer(detectCompression(kept.mtree.data.subarray(0, 6)), kept.mtree.data, `${where}: .MTREE`)).toString('utf8') : undefined;
  const fileList = sortFileList(mtreeText === undefined ? archiveList : mtreeFileList(mtreeText, `${where}: .MTREE`));
  return { pkginfo, entries: [...local.values()], fileList, ...kept };
}

/** Where a package's decompressed tar goes inside a build's temporary directory. */
export function dataFileFor(tmp: string, index: number): string {
  return join(tmp, `${index}.tar`);
}
