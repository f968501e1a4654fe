/**
 * An image's layers flattened into one file system (whiteouts and replaced directories applied by
 * `FlatFileSystem`), read once: every entry's type, mode, owner, size and link target, the md5
 * and sha256 of every regular file (hard links sharing their file's, in their layer or one below),
 * and the bytes of the few files a caller asks to keep (a package database, a hard link to a file
 * included). Memory is the entry table and the kept files, whatever the layers weigh. Every
 * layer is checked against its digest.
 *
 * A layer is read one of two ways, with the same result:
 * - where it lies, when it is an uncompressed blob in a local file (an OCI layout's): its tar
 *   headers read at their offsets, the file contents not read here at all, and the hashing (the
 *   blob's sha256, the files' digests) spread over two threads (local-hashes.ts);
 * - else as a stream (a registry, a compressed layer, an archive): the files hashed as their
 *   bytes stream by.
 */
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { openRegularFileSync } from '../fs/read-whole.js';
import type { EntryType } from '../archive/entry.js';
import { matchPath } from '../archive/paths.js';
import { TypeFlag } from '../archive/tar-header.js';
import { readTarAt, type TarMember } from '../archive/tar-reader.js';
import { escapeControl, ioError, MismatchError, ReproError } from '../model/errors.js';
import { layerCompression } from '../model/media-types.js';
import { resolveRecorded } from '../archive/recorded-path.js';
import { hexDigest, streamHashes } from './hash-thread.js';
import { fileTableBuffers, WANT_MD5, WANT_SHA256 } from './local-hash-core.js';
import { startLocalHashes, type LocalHashes } from './local-hashes.js';
import type { LayerReader, LocalTar } from './layer.js';
import { KeptFiles } from './kept-files.js';
import { FlatFileSystem, whiteoutOf, type LayerChanges, type Whiteout } from './whiteouts.js';

export interface FlatEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /**
   * Content size (regular files); 0 otherwise. A hard link to a file (in its layer or one below)
   * is that file: type `file`, its size and digests; `hardlink` is left only for a link that
   * names nothing (its target whited out, never there, or a directory).
   */
  size: number;
  /** Symlink target; for a `hardlink` entry, the path it names. */
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
  /**
   * Runs once every entry is known and the kept files read, before the last layer's digests
   * are (when that layer is read where it lies): the hashing thread hashes meanwhile, and this
   * thread takes its share after. The entries' `md5` and `sha256` of that layer (and of hard
   * links to its files) are absent until then; everything else is final. If it throws, the
   * layer is still checked against its digest, and a mismatch is the error thrown.
   */
  meanwhile?: (image: FlatImage) => void | Promise<void>;
}

export interface FlatImage {
  entries: Map<string, FlatEntry>;
  /** The kept files' bytes by path (in shared chunks, see kept-files.ts); `clear` lets go of them. */
  kept: KeptFiles;
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
  /** Its kept bytes: their handle in the flattening's `KeptFiles`. */
  data?: number;
  /** Where the member's data begins in its layer's tar: what finds a file again (its bytes, for a hard link kept). */
  at: number;
  /** For a hard link made a file: the regular file it is a name of (never itself a link). */
  root?: Kept;
  /**
   * For a file not kept that a kept hard link names: its bytes, read once for all such links
   * (`undefined` until read), charged to the budget once. Never in `kept` under the file's own path.
   */
  linked?: number | undefined;
  /** For a file whose sha256 was not asked for that a hard link's was: taken by `readLinked`. */
  linkedSha?: string;
}

/**
 * What a hard link needs of its file that was not taken when the file was read: its bytes (the
 * link kept, the file not) or its sha256 (asked for the link's path, not the file's). Taken from
 * the file's layer read again (a rare case; see `readLinked`).
 */
interface LateBytes {
  link: Kept;
  root: Kept;
  what: 'bytes' | 'sha256';
}

/**
 * A hard link resolved at the end of its layer (`LayerBuilder.linkBelow`): to a path the layer
 * had not put anything at when the link was met (what lies there below), or to an entry of the
 * layer (a link met earlier that is itself resolved there, or anything met earlier that the link
 * reached through a symlink below). `via`: the symlinks below the target went through, which the
 * layer's whiteouts may remove.
 */
interface Below {
  kept: Kept;
  target: string | Kept;
  keep: boolean;
  via?: Kept[];
}

/** The limits on kept bytes, over every layer. */
class KeepBudget {
  private used = 0;
  constructor(private readonly limit: number, private readonly total: number) {}

  take(where: string, path: string, size: number): void {
    this.used += size;
    if (size > this.limit) throw new ReproError('E_BAD_INPUT', `${where}: ${escapeControl(path)}: ${size} bytes, more than the ${this.limit} read of a package database file`);
    if (this.used > this.total) throw new ReproError('E_BAD_INPUT', `${where}: ${escapeControl(path)}: the package database files pass ${this.total} bytes in all`);
  }
}

/**
 * One layer's members made into changes, whichever way the bytes are read: `member` makes each
 * one's entry; a regular file's digests and kept bytes are filled in by the reader (streamed or
 * local), a hard link to a file of the layer gets its file's digests at `end`, a hard link to a
 * file of a layer below its file's size and digests at `linkBelow`.
 *
 * A hard link names the file as it is when the link's member is applied (link(2) at extraction:
 * the OCI layer spec has a changeset entry over an existing path unlink it and make it anew, so a
 * file replaced later, in the same layer or a later one, leaves the link with the bytes it had):
 * a file met earlier in the layer, else the layers below as this layer's whiteouts leave them
 * (whiteouts apply first, whatever their place in the tar: umoci and containerd apply each where
 * it is listed, and so make a link listed before its target's whiteout) and as the layer's entries met before
 * the link leave them (a non-directory met earlier over a directory of a layer below took that
 * directory's files with it: GNU tar's and umoci's link(2) then fails, ENOTDIR or ENOENT). A link
 * to nothing (a path whited out or gone so, never there, or a directory) stays a `hardlink` entry
 * naming its target, size 0, no digest. A target's directories are followed through the symlinks
 * the tree has when the link is applied, as link(2) follows them (`throughSymlinks`; the last
 * component is not followed: a link to a symlink is that symlink), as umoci and containerd do, an
 * absolute or `..` symlink kept in the image root (GNU tar, which makes those symlinks last,
 * fails there); a loop or more than 40 links names nothing. A symlink below that the target
 * goes through is there only if the layer's whiteouts leave it, whatever the target (a file or
 * link met earlier in the layer included): whited out, the link names nothing (ENOENT). A hard
 * link of the layer to a symlink below is that symlink, and a target through it follows it.
 */
class LayerBuilder {
  private whiteouts: Whiteout[] = [];
  /** The layer's entries in the order met (its changes: `changes`). */
  private members: Kept[] = [];
  /** The layer's entries met so far by path (the last of a path named twice). */
  private inLayer = new Map<string, Kept>();
  /**
   * Where in the layer (`Kept.at`, which grows member by member) a non-directory was last met at
   * a path where a directory was met since (`replacedAt`; the last entry met at any other path,
   * in `inLayer`, says it: no map slot an entry for the few paths met twice).
   */
  private dirOverReplaced = new Map<string, number>();
  private readonly links: Array<{ entry: FlatEntry; target: FlatEntry }> = [];
  /**
   * Hard links resolved by `linkBelow`, once the layer's whiteouts are known (see `Below`).
   */
  private below: Below[] = [];
  /** The links of the layer in `below`, by their entry: what a link through one of them goes through (`pendingSymlink`). */
  private pending = new Map<Kept, Below>();

  /**
   * `late` collects kept links whose bytes are read after the layers; `lower` is the file system
   * the layers below made (this layer's whiteouts not applied yet while its members are met; the
   * same map, whited out, at `linkBelow`): the symlinks a link's target goes through; `readAt`,
   * for a layer read where it lies, reads a file of the layer at its offset (the bytes of a file
   * not kept that a kept link names, read once, at once).
   */
  constructor(
    private readonly layer: LayerReader,
    private readonly opts: FlattenOptions,
    private readonly budget: KeepBudget,
    private readonly late: LateBytes[],
    private readonly lower: ReadonlyMap<string, Kept>,
    private readonly readAt?: (file: Kept) => number,
  ) {}

  /** The member's entry (a regular file's `kept` to be completed by the caller), or undefined when it makes none. */
  member(member: TarMember): { kept: Kept; keep: boolean; wantSha: boolean } | undefined {
    const path = matchPath(member.name);
    if (path === '.' || path === '') return undefined;
    const w = whiteoutOf(path);
    if (w) {
      this.whiteouts.push(w);
      return undefined;
    }
    const type = typeOf(member.typeflag);
    if (type === undefined) return undefined;
    const mode = member.mode & 0o7777;
    // A regular file to be hashed has its md5 field from the start (undefined until its digest is
    // taken, as it was absent), where it would have been added: a field added after an object is
    // made costs it a property array, 40 bytes a file.
    const entry: FlatEntry = type === 'file' && (this.opts.hash === true || this.opts.md5 === true)
      ? { path, type, mode, uid: member.uid, gid: member.gid, size: 0, layer: this.layer.number, md5: undefined }
      : { path, type, mode, uid: member.uid, gid: member.gid, size: 0, layer: this.layer.number };
    // `data` in the literal (a field added after costs a property array: 40 bytes a kept file).
    const kept: Kept = { entry, at: member.dataOffset, data: undefined };
    let keep = false;
    let wantSha = false;
    if (type === 'file') {
      entry.size = member.size;
      keep = this.opts.keep?.(path) === true;
      if (keep) this.budget.take(this.layer.where, path, member.size);
      wantSha = this.opts.hash === true || this.opts.sha256?.(path) === true;
    } else if (type === 'symlink') {
      entry.linkname = member.linkname;
    } else if (type === 'hardlink') {
      // A hard link is its target's content under another name (the target comes first in the layer, or lies below).
      // Its directories followed through the symlinks there now (link(2) follows them): undefined, a loop or more than 40 links.
      const written = matchPath(member.linkname);
      const via: Kept[] = [];
      const targetPath = written.includes('/') ? this.throughSymlinks(written, via) : written;
      const met = targetPath === undefined ? undefined : this.inLayer.get(targetPath);
      // Gone, when a non-directory met since (or since the layers below, for a path not met) replaced a directory above it.
      const gone = targetPath === undefined || this.replacedSince(targetPath, met?.at ?? -1);
      const target = gone ? undefined : met;
      if (target !== undefined && via.length > 0) {
        // Through a symlink below: there only if this layer's whiteouts (known at its end) leave it,
        // so the entry met here is named at `linkBelow`, when they are known.
        entry.linkname = member.linkname;
        this.pushBelow({ kept, target, keep: this.opts.keep?.(path) === true, via });
      } else if (target?.entry.type === 'hardlink') {
        // A link to a link whose target lies in a layer below (or names nothing): what that link is, once resolved.
        entry.linkname = target.entry.linkname!;
        this.pushBelow({ kept, target, keep: this.opts.keep?.(path) === true });
      } else if (target?.entry.type === 'symlink' || target?.entry.type === 'char' || target?.entry.type === 'block' || target?.entry.type === 'fifo') {
        // A hard link to a symlink or a device is another name of that symlink or device (link(2)
        // does not follow a symlink), not an empty regular file.
        entry.type = target.entry.type;
        if (target.entry.linkname !== undefined) entry.linkname = target.entry.linkname;
      } else if (target?.entry.type === 'file') {
        // Through a link made a file (a link to a link), to the file itself: its bytes, when
        // this name is kept, even if the middle one is not.
        const root = target.root ?? target;
        entry.type = 'file';
        entry.size = root.entry.size;
        kept.root = root;
        this.links.push({ entry, target: root.entry });
        if (this.opts.keep?.(path)) this.keepLinked(kept, root, true);
        this.shaLinked(kept, root);
      } else {
        entry.linkname = member.linkname;
        if (!met && !gone) this.pushBelow({ kept, target: targetPath, keep: this.opts.keep?.(path) === true, ...(via.length > 0 ? { via } : {}) });
      }
    }
    const earlier = this.inLayer.get(path);
    if (type === 'dir' && earlier !== undefined && earlier.entry.type !== 'dir') this.dirOverReplaced.set(path, earlier.at);
    this.inLayer.set(path, kept);
    this.members.push(kept);
    return { kept, keep, wantSha };
  }

  /**
   * A hard link's target path with its directories resolved through the symlinks the tree has
   * when the link's member is applied (`resolveRecorded`: the last component not followed, `..`
   * and absolute targets kept in the image root as in a chroot, a loop or more than 40 links
   * undefined): a symlink met earlier in the layer and not replaced since, else one of the layers
   * below that the layer has not replaced (those go to `via`: this layer's whiteouts, known at
   * its end, may still remove them), or a hard link of the layer to a symlink below (made that
   * symlink at `linkBelow`; followed here as what it will be: `pendingSymlink`).
   */
  private throughSymlinks(path: string, via: Kept[]): string | undefined {
    return resolveRecorded({
      linkOf: (p) => {
        const met = this.inLayer.get(p);
        if (this.replacedSince(p, met?.at ?? -1)) return undefined;
        if (met) return met.entry.type === 'symlink' ? met.entry.linkname : met.entry.type === 'hardlink' ? this.pendingSymlink(met, via) : undefined;
        const low = this.lower.get(p);
        if (low?.entry.type !== 'symlink') return undefined;
        via.push(low);
        return low.entry.linkname;
      },
    }, path);
  }

  private pushBelow(b: Below): void {
    this.below.push(b);
    this.pending.set(b.kept, b);
  }

  /**
   * The target of a hard link of the layer not resolved yet (in `below`), when it will be a
   * symlink (of a layer below, or of the layer through a symlink below): link(2) made the link
   * another name of that symlink, and a path through it follows it. The symlinks below that it
   * takes (its own, the one it names, those of the links it goes through) go to `via`: whited
   * out by the layer, the link names nothing and neither does a path through it.
   */
  private pendingSymlink(link: Kept, via: Kept[]): string | undefined {
    const took: Kept[] = [];
    for (let b = this.pending.get(link); b !== undefined;) {
      if (b.via) took.push(...b.via);
      const t = typeof b.target === 'string' ? this.lower.get(b.target) : b.target;
      if (t === undefined) return undefined;
      if (typeof b.target === 'string') took.push(t);
      if (t.entry.type === 'symlink') {
        via.push(...took);
        return t.entry.linkname;
      }
      b = t.entry.type === 'hardlink' ? this.pending.get(t) : undefined;
    }
    return undefined;
  }

  /** Whether a non-directory was met after `since` (a place in the layer, `Kept.at`; -1: its start) at a directory above `path`. */
  private replacedSince(path: string, since: number): boolean {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const at = this.replacedAt(path.slice(0, i));
      if (at !== undefined && at > since) return true;
    }
    return false;
  }

  /** Where in the layer a non-directory was last met at this path (undefined: never). A hard link's type changes at `linkBelow`, never to a directory. */
  private replacedAt(path: string): number | undefined {
    const last = this.inLayer.get(path);
    return last !== undefined && last.entry.type !== 'dir' ? last.at : this.dirOverReplaced.get(path);
  }

  /** The layer's changes, its entries' made as `apply` reads them. */
  get changes(): LayerChanges<Kept> {
    const members = this.members;
    return {
      whiteouts: this.whiteouts,
      entries: (function* () {
        for (const kept of members) yield { path: kept.entry.path, dir: kept.entry.type === 'dir', value: kept };
      })(),
    };
  }

  /**
   * A kept hard link's bytes: its file's when the file is kept; else the file's bytes are read for
   * it (charged to the budget once, shared by every kept link to that file): at once where the
   * layer lies in a local file and the file is of this layer, else after the layers (`late`).
   */
  private keepLinked(link: Kept, root: Kept, inThisLayer: boolean): void {
    if (root.data !== undefined) {
      link.data = root.data;
      return;
    }
    if (!('linked' in root)) {
      this.budget.take(this.layer.where, link.entry.path, root.entry.size);
      root.linked = inThisLayer && this.readAt ? this.readAt(root) : undefined;
    }
    if (root.linked !== undefined) link.data = root.linked;
    else this.late.push({ link, root, what: 'bytes' });
  }

  /** A hard link whose path asks for a sha256 its file's path does not (`opts.sha256`): the file's, taken after the layers. */
  private shaLinked(link: Kept, root: Kept): void {
    const sha = this.opts.sha256;
    if (this.opts.hash !== true && sha !== undefined && sha(link.entry.path) && !sha(root.entry.path)) this.late.push({ link, root, what: 'sha256' });
  }

  /**
   * Hard links to what the layers below hold at their targets' paths (`files`: the file system
   * once this layer's whiteouts are applied, before its entries are): a file's size and digests
   * (known: the layers below are read), or the symlink or device it is; nothing when a symlink
   * below on the target's way (`via`) is whited out. A link to an entry of the layer is what that
   * entry is, a link of the layer being what it was made just before (it comes earlier in `below`).
   */
  linkBelow(files: ReadonlyMap<string, Kept>): void {
    for (const { kept, target: to, keep, via } of this.below) {
      // A symlink below that the target went through, whited out by this layer: the path is not there.
      if (via?.some((s) => files.get(s.entry.path) !== s)) continue;
      const target = typeof to === 'string' ? files.get(to) : to;
      if (!target) continue;
      const entry = kept.entry;
      const t = target.entry;
      if (t.type === 'symlink' || t.type === 'char' || t.type === 'block' || t.type === 'fifo') {
        entry.type = t.type;
        if (t.linkname !== undefined) entry.linkname = t.linkname;
        else delete entry.linkname;
      } else if (t.type === 'file') {
        const root = target.root ?? target;
        entry.type = 'file';
        entry.size = root.entry.size;
        delete entry.linkname;
        if (root.entry.md5) entry.md5 = root.entry.md5;
        if (root.entry.sha256) entry.sha256 = root.entry.sha256;
        kept.root = root;
        const inThisLayer = root.entry.layer === this.layer.number;
        // A file of the layer read where it lies has its digests at `end`, after this.
        if (inThisLayer) this.links.push({ entry, target: root.entry });
        if (keep) this.keepLinked(kept, root, inThisLayer);
        this.shaLinked(kept, root);
      }
    }
  }

  /**
   * Lets go of what only reading the layer and applying it needed (its entries by path, where
   * non-directories were met, its changes, its links resolved below): one object or map slot an
   * entry, as many as the image has entries, that would otherwise be held while the last layer's
   * files are hashed and the caller works meanwhile. `end` still gives the links their digests.
   */
  applied(): void {
    this.whiteouts = [];
    this.members = [];
    this.inLayer = new Map();
    this.dirOverReplaced = new Map();
    this.below = [];
    this.pending = new Map();
  }

  /** Hard links take their targets' digests (known once the layer is read). */
  end(): void {
    for (const { entry, target } of this.links) {
      if (target.md5) entry.md5 = target.md5;
      if (target.sha256) entry.sha256 = target.sha256;
    }
  }
}

/**
 * What hard links need of their files that was not taken when the files were read (`LateBytes`:
 * the bytes of a file not kept that a kept link names, where they were not at hand when the link
 * was met, a file of a streamed layer already gone by or of a layer below; the sha256 of a file
 * asked for its link's path only): each layer holding such files read again, once, as a stream
 * (and so checked against its digest again). Only an image with a package database file that is
 * a hard link to a file outside the database, or a hard link whose sha256 is wanted (pacman's
 * mtree, a modified file) to a file whose sha256 is not, pays this; links that a later layer
 * replaced are left out.
 */
async function readLinked(layers: readonly LayerReader[], late: readonly LateBytes[], files: ReadonlyMap<string, Kept>, store: KeptFiles): Promise<void> {
  const wanted = late.filter(({ link }) => files.get(link.entry.path) === link);
  const byLayer = new Map<number, Map<number, { root: Kept; bytes: boolean; sha: boolean }>>();
  for (const { root, what } of wanted) {
    if (what === 'bytes' ? root.linked !== undefined : root.linkedSha !== undefined) continue;
    let roots = byLayer.get(root.entry.layer);
    if (!roots) byLayer.set(root.entry.layer, (roots = new Map()));
    let need = roots.get(root.at);
    if (!need) roots.set(root.at, (need = { root, bytes: false, sha: false }));
    if (what === 'bytes') need.bytes = true;
    else need.sha = true;
  }
  for (const [number, roots] of byLayer) {
    const layer = layers.find((l) => l.number === number);
    if (!layer) throw new Error(`internal: flatten: no layer ${number} to read a hard link's file from`);
    for await (const { member, body, whole } of layer.members()) {
      const need = roots.get(member.dataOffset);
      if (!need || typeOf(member.typeflag) !== 'file' || member.size !== need.root.entry.size) continue;
      const one = whole();
      const parts: Buffer[] = [];
      const sha = need.sha ? createHash('sha256') : undefined;
      for await (const c of one !== undefined ? [one] : body()) {
        sha?.update(c);
        if (need.bytes) parts.push(c);
      }
      if (need.bytes) need.root.linked = store.store(parts);
      if (sha) need.root.linkedSha = sha.digest('hex');
    }
  }
  for (const { link, root, what } of wanted) {
    const got = what === 'bytes' ? root.linked : root.linkedSha;
    if (got === undefined) throw new Error(`internal: flatten: ${root.entry.path} (layer ${root.entry.layer}) was not found again for the hard link ${link.entry.path}`);
    if (typeof got === 'string') link.entry.sha256 = got;
    else link.data = got;
  }
}

/** A layer read as a stream: each file hashed as its bytes go by (md5s on another thread where that pays, see hash-thread.ts). */
async function streamedLayer(layer: LayerReader, opts: FlattenOptions, budget: KeepBudget, store: KeptFiles, late: LateBytes[], lower: ReadonlyMap<string, Kept>): Promise<LayerBuilder> {
  const b = new LayerBuilder(layer, opts, budget, late, lower);
  // The md5 of the layer's files are taken on another thread when the layer is big (see
  // hash-thread.ts); they come back in order at the end of the layer.
  const wantMd5 = opts.hash === true || opts.md5 === true;
  const md5s = wantMd5 ? streamHashes('md5', layer.descriptor?.size ?? 0, layer.where) : undefined;
  const md5Pending: Array<{ entry: FlatEntry; digest: Promise<string> }> = [];
  try {
    for await (const { member, body, whole } of layer.members()) {
      const made = b.member(member);
      if (!made || made.kept.entry.type !== 'file' || member.typeflag === TypeFlag.hardlink) continue;
      const { kept: { entry }, keep, wantSha } = made;
      if (!(md5s || wantSha || keep)) continue;
      // A file in the chunk at hand (most) comes whole: hashed here at once, unless the
      // hashing thread takes it (and is not behind).
      const one = whole();
      if (one !== undefined && (md5s === undefined || md5s.inline || md5s.busy())) {
        if (md5s) entry.md5 = hexDigest('md5', one);
        if (wantSha) entry.sha256 = hexDigest('sha256', one);
        if (keep) made.kept.data = store.store(one);
        continue;
      }
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
      if (keep) made.kept.data = store.store(parts);
    }
    if (md5s) {
      md5s.flush();
      for (const { entry, digest } of md5Pending) entry.md5 = await digest;
    }
  } finally {
    await md5s?.close();
  }
  b.end();
  return b;
}

/** Header reads are served from a window of this many bytes read at once (measured: 4 to 8 KiB reads beat bigger ones). */
const WINDOW = 8 << 10;

/** A layer whose entries are read and whose digests are being taken: `finish` waits for them (and checks the blob), `close` lets go of the file and the thread either way. */
interface PendingLayer {
  builder: LayerBuilder;
  finish(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A layer read where it lies (`local`): the headers at their offsets (through a window, as most
 * headers lie close together), the kept files read at theirs, and the blob's sha256 and the
 * files' digests taken by local-hashes.ts, the hashing thread starting on them at once. The
 * layer's bytes are its descriptor's, or nothing of it is used (`finish` fails).
 */
async function localLayer(layer: LayerReader, local: LocalTar, opts: FlattenOptions, budget: KeepBudget, store: KeptFiles, late: LateBytes[], lower: ReadonlyMap<string, Kept>): Promise<PendingLayer> {
  const { path, descriptor: d } = local;
  const where = layer.where;
  let opened: { fd: number; size: number };
  try {
    // Without blocking, and checked on the descriptor: a FIFO put in the blob's place since the
    // store looked would otherwise hold this thread in the open for ever, deaf to SIGTERM.
    opened = openRegularFileSync(path);
  } catch (e) {
    if (e instanceof ReproError) throw new ReproError(e.code, `${where}: ${e.message}`);
    throw ioError(e, `${where}: cannot read`);
  }
  const { fd, size } = opened;
  let hashes: LocalHashes | undefined;
  const close = async (): Promise<void> => {
    try {
      await hashes?.close();
    } finally {
      closeSync(fd);
    }
  };
  try {
    if (size > d.size) throw new MismatchError('E_SIZE_MISMATCH', `${where}: blob ${d.digest} is longer than its ${d.size} bytes`, d, { size, overrun: true });
    if (size < d.size) throw new MismatchError('E_SIZE_MISMATCH', `${where}: blob ${d.digest} ended after ${size} of ${d.size} bytes`, d, { size });
    hashes = startLocalHashes({ fd, path, position: 0, length: size, where });
    // One window, reused: what a member keeps of it is copied (readTarAt, and the kept files below).
    const window = Buffer.allocUnsafeSlow(WINDOW);
    let windowAt = 0;
    let windowLength = 0;
    const readAt = (position: number, length: number): Buffer => {
      if (position >= windowAt && position + length <= windowAt + windowLength) return window.subarray(position - windowAt, position - windowAt + length);
      const buf = length > WINDOW ? Buffer.allocUnsafe(length) : window;
      let n = 0;
      try {
        for (let r = -1; r !== 0 && n < buf.length && position + n < size; n += r) r = readSync(fd, buf, n, buf.length - n, position + n);
      } catch (e) {
        throw ioError(e, `${where}: cannot read ${path}`);
      }
      if (buf === window) {
        windowAt = position;
        windowLength = n;
      }
      return buf.subarray(0, Math.min(length, n));
    };
    const b = new LayerBuilder(layer, opts, budget, late, lower, (file) => store.store(readAt(file.at, file.entry.size)));
    const wantMd5 = opts.hash === true || opts.md5 === true;
    // The files to hash: their entries, and apart (not an object each, held while they are hashed) where their data begins and what is wanted of them.
    const entries: FlatEntry[] = [];
    const starts: number[] = [];
    const wanted: number[] = [];
    for (const { member } of readTarAt(readAt, size, where)) {
      const made = b.member(member);
      if (!made || made.kept.entry.type !== 'file' || member.typeflag === TypeFlag.hardlink) continue;
      const want = (wantMd5 ? WANT_MD5 : 0) | (made.wantSha ? WANT_SHA256 : 0);
      if (want !== 0) {
        entries.push(made.kept.entry);
        starts.push(member.dataOffset);
        wanted.push(want);
      }
      if (made.keep) made.kept.data = store.store(readAt(member.dataOffset, member.size));
    }
    // Biggest first: the threads' last claims are small files, so they end together.
    const order = new Uint32Array(entries.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((x, y) => entries[y]!.size - entries[x]!.size || x - y);
    const t = fileTableBuffers(entries.length);
    const positions = new Float64Array(t.positions);
    const sizes = new Float64Array(t.sizes);
    const wants = new Uint8Array(t.wants);
    const files = new Array<FlatEntry>(entries.length);
    for (let i = 0; i < order.length; i++) {
      const j = order[i]!;
      files[i] = entries[j]!;
      positions[i] = starts[j]!;
      sizes[i] = entries[j]!.size;
      wants[i] = wanted[j]!;
    }
    entries.length = 0;
    starts.length = 0;
    wanted.length = 0;
    hashes.begin(t);
    const started = hashes;
    return {
      builder: b,
      close,
      finish: async () => {
        const sha256 = `sha256:${await started.finish(t)}`;
        if (sha256 !== d.digest) throw new MismatchError('E_DIGEST_MISMATCH', `${where}: blob ${d.digest} has the wrong content (it hashes to ${sha256})`, d, { digest: sha256, size });
        const md5 = Buffer.from(t.md5);
        const sha = Buffer.from(t.sha256);
        files.forEach((entry, i) => {
          if (wants[i]! & WANT_MD5) entry.md5 = md5.toString('hex', 16 * i, 16 * i + 16);
          if (wants[i]! & WANT_SHA256) entry.sha256 = sha.toString('hex', 32 * i, 32 * i + 32);
        });
        b.end();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function flattenLayers(layers: readonly LayerReader[], opts: FlattenOptions = {}): Promise<FlatImage> {
  const fs = new FlatFileSystem<Kept>();
  const budget = new KeepBudget(opts.keepLimit ?? 64 << 20, opts.keepTotal ?? 1 << 30);
  // The kept bytes, named by their paths at the end (bytes of a kept file a later layer replaced
  // stay stored, unnamed: within the budget, which counts them too).
  const store = new KeptFiles();
  const image = (): FlatImage => {
    const entries = new Map<string, FlatEntry>();
    for (const [path, k] of fs.files) {
      entries.set(path, k.entry);
      if (k.data !== undefined) store.name(path, k.data);
    }
    return { entries, kept: store };
  };
  let last: PendingLayer | undefined;
  const late: LateBytes[] = [];
  // A layer's hard links to files below are resolved once its whiteouts are applied, before its entries.
  const apply = (b: LayerBuilder): void => {
    fs.apply(b.changes, (files) => b.linkBelow(files));
    b.applied();
  };
  try {
    for (const [i, layer] of layers.entries()) {
      if (layer.descriptor && layerCompression(layer.descriptor.mediaType) === undefined) {
        throw new ReproError('E_UNSUPPORTED', `${layer.where}: media type ${layer.descriptor.mediaType} is not a layer we can read`);
      }
      const local = await layer.localTar();
      if (!local) {
        apply(await streamedLayer(layer, opts, budget, store, late, fs.files));
        continue;
      }
      const pending = await localLayer(layer, local, opts, budget, store, late, fs.files);
      apply(pending.builder);
      if (i < layers.length - 1) {
        // One layer's hashing at a time (one thread): the digests of a layer below are taken before the next is read.
        try {
          await pending.finish();
        } finally {
          await pending.close();
        }
      } else {
        last = pending;
      }
    }
    if (late.length > 0) await readLinked(layers, late, fs.files, store);
    // The entries are the final ones (the last layer's digests are filled into them in place).
    // The file system that made them is let go of: a map slot and an object an entry.
    const flat = image();
    fs.clear();
    // What meanwhile read is not checked yet: the layer's digest is, before its error is thrown.
    let failed: { error: unknown } | undefined;
    try {
      await opts.meanwhile?.(flat);
    } catch (error) {
      failed = { error };
    }
    await last?.finish();
    if (failed) throw failed.error;
    return flat;
  } finally {
    await last?.close();
  }
}
