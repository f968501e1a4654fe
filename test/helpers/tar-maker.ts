/** Builds tar archives member by member, including malformed ones, for reader tests. */
import { encodeHeaders, padding, TypeFlag } from '../../src/archive/tar-header.js';

export interface RawMember {
  name: string;
  type?: keyof typeof TYPES;
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
}

const TYPES = { file: TypeFlag.file, dir: TypeFlag.dir, symlink: TypeFlag.symlink, hardlink: TypeFlag.hardlink } as const;

export function makeTar(members: RawMember[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.from(m.data ?? '');
    const type = m.type ?? 'file';
    parts.push(encodeHeaders({
      name: m.name, mode: m.mode ?? (type === 'dir' ? 0o755 : 0o644), uid: m.uid ?? 0, gid: m.gid ?? 0,
      size: type === 'file' ? data.length : 0, mtime: m.mtime ?? 1600000000, typeflag: TYPES[type],
      linkname: m.linkname ?? '', devmajor: 0, devminor: 0,
    }));
    if (type === 'file') parts.push(data, Buffer.alloc(padding(data.length)));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
