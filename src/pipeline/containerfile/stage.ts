/**
 * A stage's root directory: made empty (FROM scratch), from an image's layers (FROM image: each
 * layer's entries written with the copier, OCI whiteouts applied as a runtime applies them), or as
 * a copy of an earlier stage's (FROM stage). Also: who a `USER` or `--chown` names, read from the
 * stage's own /etc/passwd and /etc/group, as buildah reads them.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerReader } from '../../image/layer.js';
import type { Digest } from '../../model/digest.js';
import { whiteoutOf } from '../../image/whiteouts.js';
import { resolveInRoot } from '../../fs/confine.js';
import { ReproError } from '../../model/errors.js';
import { entryOfMember, putEntries, type PutEntry } from './copier.js';
import type { FsNode } from './tree.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';

/** A hard link from inside a subtree being materialised to a file outside it. */
export class SubtreeLink extends Error {}

/** Paths a materialisation of `sources` (absolute paths in the image) needs: the sources, what is below them, their parents. */
export function subtreeFilter(sources: readonly string[]): (path: string) => boolean {
  const tops = sources.map((s) => s.split('/').filter((p) => p !== '' && p !== '.').join('/'));
  if (tops.some((t) => t === '' || /[*?[\\]/.test(t))) return () => true;
  return (path) => tops.some((t) => path === t || path.startsWith(`${t}/`) || t.startsWith(`${path}/`));
}

/**
 * A layer given as the entries its tar would give (see layer-tar.ts `itemEntries`): what a layer
 * still in the stage's live directory applies as, without writing and reading its tar.
 */
export interface EntryLayer {
  readonly where: string;
  entries(): AsyncIterable<PutEntry> | Iterable<PutEntry>;
}

/** What one layer's stream was: its sha256 and size (a tar read through to its end). */
export interface AppliedLayer {
  diffId: Digest;
  size: number;
}

async function* memberEntries(layer: LayerReader, tap: ((c: Buffer) => void) | undefined): AsyncGenerator<PutEntry> {
  for await (const { member, body } of layer.members(tap ? { onChunk: tap } : {})) {
    const e = entryOfMember(member, body, layer.where);
    if (e) yield e;
  }
}

/**
 * Asks `applyLayers` for the walk of the root after (tree.ts `walkTree`'s nodes, read with
 * `reader`): set in `nodes` where the apply can vouch for it without walking (one layer, no
 * whiteout, into an empty root: copier.ts `putEntries`).
 */
export interface WalkAfter {
  reader: XattrReader;
  nodes?: FsNode[];
}

/**
 * Writes an image's layers, in order, into `root`, as containers/storage applies them when it
 * makes an image's root file system (times before 1970 become 1970). Each tar layer is read to
 * its end; what it was (sha256 and size of the tar) is returned in order (`undefined` for an
 * entry layer).
 */
export async function applyLayers(root: string, layers: ReadonlyArray<LayerReader | EntryLayer>, where: string, keep?: (path: string) => boolean, walk?: WalkAfter): Promise<Array<AppliedLayer | undefined>> {
  // A root made here is 0755 whatever the umask (as containers/storage makes a layer's root).
  if (mkdirSync(root, { recursive: true }) !== undefined) chmodSync(root, 0o755);
  const applied: Array<AppliedLayer | undefined> = [];
  for (const layer of layers) {
    const isTar = 'members' in layer;
    const hash = isTar ? createHash('sha256') : undefined;
    let size = 0;
    const source = isTar ? memberEntries(layer, (c) => { hash!.update(c); size += c.length; }) : layer.entries();
    // Directories the copier has seen; a whiteout removes paths behind its back, so it is cleared.
    const knownDirs = new Set<string>();
    let whiteouts = false;
    async function* entries(): AsyncGenerator<PutEntry> {
      for await (const e of source) {
        if (e.path === '') continue;
        const w = whiteoutOf(e.path);
        // A whiteout is kept when what it hides is (an opaque one: its directory; at the root, always).
        if (keep && !(w ? (w.opaque ? w.dir === '' || keep(w.dir) : keep(w.path)) : keep(e.path))) continue;
        if (keep && e.kind === 'hardlink' && !keep(e.linkname!)) throw new SubtreeLink();
        if (w) {
          whiteouts = true;
          knownDirs.clear();
          // Hides what the layers below put there (this layer's own entries come after it).
          // Looked up inside the root as a chroot would: a symlink the layers made cannot make
          // us remove anything outside it.
          if (w.opaque) {
            const dir = resolveInRoot(root, w.dir, `${layer.where}: ${e.path}`);
            let names: string[] = [];
            try {
              names = readdirSync(dir);
            } catch { /* nothing below */ }
            for (const n of names) rmSync(join(dir, n), { recursive: true, force: true });
          } else {
            const at = resolveInRoot(root, w.path, `${layer.where}: ${e.path}`, false);
            if (at !== root) rmSync(at, { recursive: true, force: true });
          }
          continue;
        }
        yield e;
      }
    }
    const nodes = await putEntries(root, entries(), { where, storageTimes: true, knownDirs, ...(walk && layers.length === 1 ? { walk: walk.reader } : {}) });
    if (walk && nodes && !whiteouts) walk.nodes = nodes;
    applied.push(hash ? { diffId: `sha256:${hash.digest('hex')}`, size } : undefined);
  }
  return applied;
}


interface Account { name: string; id: number; gid?: number }

function readAccounts(root: string, file: 'passwd' | 'group'): Account[] {
  let text: string;
  try {
    text = readFileSync(resolveInRoot(root, `etc/${file}`, `/etc/${file}`), 'utf8');
  } catch {
    return [];
  }
  const out: Account[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !/^\d+$/.test(f[2] ?? '')) continue;
    const a: Account = { name: f[0]!, id: Number(f[2]) };
    if (file === 'passwd' && /^\d+$/.test(f[3] ?? '')) a.gid = Number(f[3]);
    out.push(a);
  }
  return out;
}

/** `USER`/`--chown` as numbers: `name`, `uid`, `name:group`, `uid:gid`, resolved in the stage. */
export function resolveUser(spec: string, root: string, where: string): { uid: number; gid: number } {
  const [u = '', g] = spec.split(':', 2);
  const users = readAccounts(root, 'passwd');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = users.find((a) => a.id === uid)?.gid;
  } else {
    const a = users.find((x) => x.name === u);
    if (!a) throw new ReproError('E_BAD_INPUT', `${where}: no user ${JSON.stringify(u)} in the stage's /etc/passwd`);
    uid = a.id;
    gid = a.gid;
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grp = readAccounts(root, 'group').find((x) => x.name === g);
      if (!grp) throw new ReproError('E_BAD_INPUT', `${where}: no group ${JSON.stringify(g)} in the stage's /etc/group`);
      gid = grp.id;
    }
  }
  return { uid, gid: gid ?? uid };
}
