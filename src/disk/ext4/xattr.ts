/**
 * ext4 extended attributes: names split into a prefix index and a suffix, POSIX ACLs in ext4's
 * own disk format (not the VFS xattr format), entries sorted as the kernel keeps xattr blocks
 * (index, name length, name), each entry hashed, values 4-byte aligned. One encoder serves the
 * space inside the inode and an external xattr block.
 */
import { ReproError } from '../../model/errors.js';

/** Longest prefix first, as e2fsprogs' ea_names table matches. */
const PREFIXES: Array<[string, number]> = [
  ['system.posix_acl_default', 3],
  ['system.posix_acl_access', 2],
  ['system.richacl', 8],
  ['security.', 6],
  ['trusted.', 4],
  ['system.', 7],
  ['user.', 1],
];

export const XATTR_MAGIC = 0xea020000;

export interface XattrEntry {
  index: number;
  name: Buffer;
  value: Buffer;
}

export function splitXattrName(full: string, where: string): { index: number; name: Buffer } {
  for (const [p, i] of PREFIXES) {
    if (full.startsWith(p)) {
      const name = Buffer.from(full.slice(p.length), 'utf8');
      if ((i === 2 || i === 3) && name.length !== 0) break;
      if (name.length > 255) throw new ReproError('E_UNSUPPORTED', `${where}: extended attribute name ${full} is too long`);
      return { index: i, name };
    }
  }
  throw new ReproError('E_UNSUPPORTED', `${where}: extended attribute ${JSON.stringify(full)} has no prefix ext4 can store (user., trusted., security., system.)`);
}

export function joinXattrName(index: number, name: Buffer): string | undefined {
  const p = PREFIXES.find(([, i]) => i === index)?.[0];
  return p === undefined ? undefined : p + name.toString('utf8');
}

const ACL_USER_OBJ = 0x01, ACL_USER = 0x02, ACL_GROUP_OBJ = 0x04, ACL_GROUP = 0x08, ACL_MASK = 0x10, ACL_OTHER = 0x20;

/** VFS POSIX ACL (version 2, 8-byte entries) → ext4's (version 1, 4- or 8-byte entries). */
export function aclToDisk(v: Buffer, where: string): Buffer {
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== 2) throw new ReproError('E_BAD_INPUT', `${where}: malformed POSIX ACL`);
  const out: Buffer[] = [Buffer.from([1, 0, 0, 0])];
  for (let o = 4; o < v.length; o += 8) {
    const tag = v.readUInt16LE(o);
    if (tag === ACL_USER || tag === ACL_GROUP) out.push(v.subarray(o, o + 8));
    else if (tag === ACL_USER_OBJ || tag === ACL_GROUP_OBJ || tag === ACL_MASK || tag === ACL_OTHER) out.push(v.subarray(o, o + 4));
    else throw new ReproError('E_BAD_INPUT', `${where}: POSIX ACL entry with tag ${tag}`);
  }
  return Buffer.concat(out);
}

/** ext4's ACL format back to the VFS one (readers). */
export function aclFromDisk(v: Buffer, where: string): Buffer {
  if (v.length < 4 || v.readUInt32LE(0) !== 1) throw new ReproError('E_BAD_INPUT', `${where}: malformed ext4 ACL`);
  const out: Buffer[] = [Buffer.from([2, 0, 0, 0])];
  for (let o = 4; o < v.length;) {
    if (o + 4 > v.length) throw new ReproError('E_BAD_INPUT', `${where}: truncated ext4 ACL`);
    const tag = v.readUInt16LE(o);
    const e = Buffer.alloc(8);
    v.copy(e, 0, o, o + 4);
    if (tag === ACL_USER || tag === ACL_GROUP) {
      if (o + 8 > v.length) throw new ReproError('E_BAD_INPUT', `${where}: truncated ext4 ACL`);
      v.copy(e, 4, o + 4, o + 8);
      o += 8;
    } else {
      e.writeUInt32LE(0xffffffff, 4);
      o += 4;
    }
    out.push(e);
  }
  return Buffer.concat(out);
}

/** The node's xattrs as sorted ext4 entries (values converted where ext4 stores them differently). */
export function ext4Xattrs(xattrs: Map<string, Buffer> | undefined, where: string): XattrEntry[] {
  if (!xattrs) return [];
  const out: XattrEntry[] = [];
  for (const [full, v] of xattrs) {
    const { index, name } = splitXattrName(full, where);
    out.push({ index, name, value: index === 2 || index === 3 ? aclToDisk(v, `${where}: ${full}`) : v });
  }
  return out.sort((a, b) => a.index - b.index || a.name.length - b.name.length || Buffer.compare(a.name, b.name));
}

const pad4 = (n: number): number => (n + 3) & ~3;

export function entryHash(e: XattrEntry): number {
  let hash = 0;
  for (const c of e.name) hash = (((hash << 5) | (hash >>> 27)) ^ c) >>> 0;
  if (e.value.length > 0) {
    const padded = Buffer.alloc(pad4(e.value.length));
    e.value.copy(padded);
    for (let o = 0; o < padded.length; o += 4) hash = (((hash << 16) | (hash >>> 16)) ^ padded.readUInt32LE(o)) >>> 0;
  }
  return hash;
}

/** Bytes the entries need: descriptors (+ the 4-byte end marker) and values. */
export function xattrSpace(entries: XattrEntry[]): number {
  let n = 4;
  for (const e of entries) n += pad4(16 + e.name.length) + pad4(e.value.length);
  return n;
}

/**
 * Writes entries into `area` (descriptors from the start, values packed from the end);
 * `valueBase` is where value offsets count from, relative to `area` (in-inode: 0 = the first entry;
 * a block: -32, i.e. the block start). Returns each entry's hash.
 */
export function encodeXattrs(entries: XattrEntry[], area: Buffer, valueBase: number): number[] {
  let d = 0;
  let v = area.length;
  const hashes: number[] = [];
  for (const e of entries) {
    v -= pad4(e.value.length);
    area[d] = e.name.length;
    area[d + 1] = e.index;
    area.writeUInt16LE(e.value.length === 0 ? 0 : v - valueBase, d + 2);
    area.writeUInt32LE(0, d + 4);
    area.writeUInt32LE(e.value.length, d + 8);
    const h = entryHash(e);
    area.writeUInt32LE(h, d + 12);
    e.name.copy(area, d + 16);
    e.value.copy(area, v);
    hashes.push(h);
    d += pad4(16 + e.name.length);
  }
  if (d + 4 > v) throw new Error('encodeXattrs: entries do not fit');
  return hashes;
}

/** The xattr block header's hash over its entries' hashes (0 if any is 0). */
export function blockHash(hashes: number[]): number {
  let h = 0;
  for (const e of hashes) {
    if (e === 0) return 0;
    h = (((h << 16) | (h >>> 16)) ^ e) >>> 0;
  }
  return h;
}
