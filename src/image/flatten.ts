/**
 * An image's layers flattened into one file system (whiteouts and replaced directories applied by
 * `FlatFileSystem`), read once: every entry's type, mode, owner, size and link target, the md5
 * and sha256 of every regular file (hashed as its bytes stream by, hard links sharing their
 * target's), and the bytes of the few files a caller asks to keep (a package database). Memory
 * is the entry table and the kept files, whatever the layers weigh. Every layer is checked
 * against its digest as it is read.
 */
import { createHash } from 'node:crypto';
import type { EntryType } from '../archive/entry.js';
import { matchPath } from '../archive/paths.js';
import { TypeFlag } from '../archive/tar-header.js';
import { escapeControl, ReproError } from '../model/errors.js';
import { layerCompression } from '../model/media-types.js';
import { hexDigest, streamHashes } from './hash-thread.js';
import type { LayerReader } from './layer.js';
import { FlatFileSystem, whiteoutOf, type LayerChanges } from './whiteouts.js';

export interface FlatEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Content size (regular files and hard links to them); 0 otherwise. */
  size: number;
  /** Symlink target. */
  linkname?: string;
  /** Hex digests of the content (regular files and hard links), when hashing was asked for. */
  md5?: string;
  sha256?: string;
  /** 1-based layer the entry comes from. */
  layer: number;
}

export interface FlattenOptions {
  /**
   * Keep the bytes of these regular files: at most `keepLimit` bytes each (default 64 MiB) and
   * `keepTotal` in all (default 1 GiB); a file past either is bad input (E_BAD_INPUT), never
   * silently left out.
   */
  keep?: (path: string) => boolean;
  keepLimit?: number;
  keepTotal?: number;
  /** Hash every regular file (md5 and sha256). */
  hash?: boolean;
  /** Finer: md5 of every regular file, and sha256 of those `sha256` selects. */
  md5?: boolean;
  sha256?: (path: string) => boolean;
}

export interface FlatImage {
  entries: Map<string, FlatEntry>;
  kept: Map<string, Buffer>;
}

function typeOf(flag: number): EntryType | undefined {
  switch (flag) {
    case TypeFlag.file:
    case TypeFlag.oldFile:
    case TypeFlag.contiguous:
      return 'file';
    case TypeFlag.dir:
      return 'dir';
    case TypeFlag.symlink:
      return 'symlink';
    case TypeFlag.hardlink:
      return 'hardlink';
    case TypeFlag.char:
      return 'char';
    case TypeFlag.block:
      return 'block';
    case TypeFlag.fifo:
      return 'fifo';
    default:
      return undefined;
  }
}

interface Kept {
  entry: FlatEntry;
  data?: Buffer;
}

export async function flattenLayers(layers: readonly LayerReader[], opts: FlattenOptions = {}): Promise<FlatImage> {
  const fs = new FlatFileSystem<Kept>();
  const limit = opts.keepLimit ?? 64 << 20;
  const total = opts.keepTotal ?? 1 << 30;
  let keptBytes = 0;
  for (const layer of layers) {
    if (layer.descriptor && layerCompression(layer.descriptor.mediaType) === undefined) {
      throw new ReproError('E_UNSUPPORTED', `${layer.where}: media type ${layer.descriptor.mediaType} is not a layer we can read`);
    }
    const changes: LayerChanges<Kept> = { whiteouts: [], entries: [] };
    const inLayer = new Map<string, Kept>();
    // The md5 of the layer's files are taken on another thread when the layer is big (see
    // hash-thread.ts); they come back in order at the end of the layer, and hard links copy
    // their target's then.
    const wantMd5 = opts.hash === true || opts.md5 === true;
    const md5s = wantMd5 ? streamHashes('md5', layer.descriptor?.size ?? 0, layer.where) : undefined;
    const md5Pending: Array<{ entry: FlatEntry; digest: Promise<string> }> = [];
    const links: Array<{ entry: FlatEntry; target: FlatEntry }> = [];
    try {
    for await (const { member, body, whole } of layer.members()) {
      const path = matchPath(member.name);
      if (path === '.' || path === '') continue;
      const w = whiteoutOf(path);
      if (w) {
        changes.whiteouts.push(w);
        continue;
      }
      const type = typeOf(member.typeflag);
      if (type === undefined) continue;
      const entry: FlatEntry = { path, type, mode: member.mode & 0o7777, uid: member.uid, gid: member.gid, size: 0, layer: layer.number };
      let data: Buffer | undefined;
      if (type === 'file') {
        entry.size = member.size;
        const keep = opts.keep?.(path) === true;
        if (keep) {
          keptBytes += member.size;
          if (member.size > limit) throw new ReproError('E_BAD_INPUT', `${layer.where}: ${escapeControl(path)}: ${member.size} bytes, more than the ${limit} read of a package database file`);
          if (keptBytes > total) throw new ReproError('E_BAD_INPUT', `${layer.where}: ${escapeControl(path)}: the package database files pass ${total} bytes in all`);
        }
        const wantSha = opts.hash === true || opts.sha256?.(path) === true;
        if (md5s || wantSha || keep) {
          // A file in the chunk at hand (most) comes whole: hashed here at once, unless the
          // hashing thread takes it (and is not behind).
          const one = whole();
          if (one !== undefined && (md5s === undefined || md5s.inline || md5s.busy())) {
            if (md5s) entry.md5 = hexDigest('md5', one);
            if (wantSha) entry.sha256 = hexDigest('sha256', one);
            if (keep) data = Buffer.concat([one]);
          } else {
            const sha = wantSha ? createHash('sha256') : undefined;
            // While the hashing thread is behind, this thread hashes the file itself.
            const md5 = md5s?.busy() ? createHash('md5') : undefined;
            const parts: Buffer[] = [];
            for await (const c of one !== undefined ? [one] : body()) {
              if (md5) md5.update(c);
              else if (md5s) {
                md5s.update(c);
                const wait = md5s.ready();
                if (wait) await wait;
              }
              sha?.update(c);
              if (keep) parts.push(c);
            }
            if (md5) entry.md5 = md5.digest('hex');
            else if (md5s) md5Pending.push({ entry, digest: md5s.end() });
            if (sha) entry.sha256 = sha.digest('hex');
            if (keep) data = Buffer.concat(parts);
          }
        }
      } else if (type === 'symlink') {
        entry.linkname = member.linkname;
      } else if (type === 'hardlink') {
        // A hard link is its target's content under another name (the target comes first in the layer).
        const target = inLayer.get(matchPath(member.linkname));
        if (target) {
          entry.type = 'file';
          entry.size = target.entry.size;
          links.push({ entry, target: target.entry });
          if (opts.keep?.(path) && target.data) data = target.data;
        } else {
          entry.linkname = member.linkname;
        }
      }
      const kept: Kept = data ? { entry, data } : { entry };
      inLayer.set(path, kept);
      changes.entries.push({ path, dir: type === 'dir', value: kept });
    }
    if (md5s) {
      md5s.flush();
      for (const { entry, digest } of md5Pending) entry.md5 = await digest;
    }
    } finally {
      await md5s?.close();
    }
    for (const { entry, target } of links) {
      if (target.md5) entry.md5 = target.md5;
      if (target.sha256) entry.sha256 = target.sha256;
    }
    fs.apply(changes);
  }
  const entries = new Map<string, FlatEntry>();
  const kept = new Map<string, Buffer>();
  for (const [path, k] of fs.files) {
    entries.set(path, k.entry);
    if (k.data) kept.set(path, k.data);
  }
  return { entries, kept };
}
