/**
 * Writes an image graph (one image, or an index with its images) into an OCI image layout directory (image-spec `image-layout.md`): blobs first,
 * each to a temporary name then renamed, then `index.json` replaced atomically. A new directory is
 * assembled beside its final name and renamed into place, so a failed write leaves nothing behind.
 * Writers of one existing layout serialise their index.json update with a lock in the layout
 * (`.index.json.lock`, see fs/lock.ts): each re-reads the index under the lock, so every tag
 * written survives, and every field of the other entries and of the index itself is kept.
 * Blobs are written only inside the layout: `blobs` or `blobs/sha256` being a symlink is refused.
 * Temporary names carry their owner (fs/atomic.ts `tempNameFor`): in an existing layout they are in
 * its root (never in `blobs/sha256`, never beside it); a new layout's staging directory is beside it,
 * named after it. Each writer first removes those of dead owners (fs/scratch.ts `removeStaleTemps`).
 */
import { copyFile, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { bytesSource, type BlobSource } from '../../image/image.js';
import { canonicalBytes } from '../../model/canonical-json.js';
import type { Descriptor } from '../../model/descriptor.js';
import { digestHex } from '../../model/digest.js';
import { ReproError, ioError } from '../../model/errors.js';
import { MediaType } from '../../model/media-types.js';
import { REF_NAME, encodeIndex, parseIndex, type ImageIndex } from '../../model/oci-index.js';
import { assertExactIntegers, rawJson, type RawJson } from '../../model/json.js';
import { inOrderCancelling } from '../../fetch/pool.js';
import { withLock } from '../../fs/lock.js';
import { ensureFreeSpace } from '../../fs/space.js';
import { TEMP_NAME, releasePartial, removeStaleTemps } from '../../fs/scratch.js';
import { readInside } from './read.js';
import { tempNameFor, writeFileAtomic } from '../../fs/atomic.js';
import type { ImageGraph } from '../../image/graph.js';
import { allReferrers, graphParts } from '../../image/referrer.js';

const BLOB_CONCURRENCY = 4;

export const OCI_LAYOUT = canonicalBytes({ imageLayoutVersion: '1.0.0' });

/**
 * The index.json entry for a graph's root: its descriptor, with the tag as ref.name and any
 * `annotations` of the caller's (verify --archive records what the proof was made from there).
 */
export function rootEntry(graph: ImageGraph, tag: string | undefined, annotations?: Record<string, string>): Descriptor {
  const { mediaType, digest, size, platform } = graph.root;
  const d: Descriptor = { mediaType, digest, size };
  if (platform) d.platform = platform;
  if (tag !== undefined || annotations !== undefined) d.annotations = { ...annotations, ...(tag !== undefined ? { [REF_NAME]: tag } : {}) };
  return d;
}

/** index.json entries of a graph's referrers: untagged, with their artifactType (as ORAS lays them out). */
export function referrerEntries(graph: ImageGraph): Descriptor[] {
  return allReferrers(graph).map((r) => {
    const { mediaType, digest, size, artifactType, annotations } = r.root;
    return { mediaType, digest, size, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) };
  });
}

/** The index.json of a fresh layout that holds one graph (and its referrers). */
export function graphIndex(graph: ImageGraph, tag: string | undefined, annotations?: Record<string, string>): RawJson<ImageIndex> {
  return encodeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [rootEntry(graph, tag, annotations), ...referrerEntries(graph)] });
}

/** The lock directory writers of one layout share. */
export const LAYOUT_LOCK = '.index.json.lock';

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes `blobs/sha256` in an existing layout, refusing a symlink or a non-directory at `blobs` or
 * `blobs/sha256`: a blob is never written where a link points.
 */
async function blobDirOf(dir: string): Promise<string> {
  let path = dir;
  for (const part of ['blobs', 'sha256']) {
    path = join(path, part);
    await mkdir(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw ioError(e, `cannot create ${path}`);
    });
    const st = await lstat(path).catch((e) => { throw ioError(e, `cannot write ${path}`); });
    if (st.isSymbolicLink()) throw new ReproError('E_BAD_INPUT', `${dir}: ${path.slice(dir.length + 1)} is a symlink; refused (blobs are written only inside the layout)`);
    if (!st.isDirectory()) throw new ReproError('E_BAD_INPUT', `${dir}: ${path.slice(dir.length + 1)} is not a directory`);
  }
  return path;
}

/**
 * Puts one blob into `blobDir` under its digest. Its temporary name goes into `tempDir` (default:
 * `blobDir`): the layout's root for an existing layout, where other tools (umoci, skopeo) ignore
 * dot files but would stumble over a name in `blobs/sha256` that is no digest.
 */
export async function putBlob(blobDir: string, desc: Descriptor, src: BlobSource, signal?: AbortSignal, tempDir?: string): Promise<void> {
  const dest = join(blobDir, digestHex(desc.digest));
  try {
    // A regular file of the right size is the blob (content-addressed); a symlink or anything else
    // there is replaced, never written through.
    const s = await lstat(dest);
    if (s.isFile() && s.size === desc.size) return;
  } catch { /* absent */ }
  if (src.ref?.kind === 'file' && src.movable) {
    // A scratch file on the same filesystem is renamed into place (atomic, no copy).
    try {
      await rename(src.ref.path, dest);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw ioError(e, `cannot write blob ${desc.digest}`);
    }
  }
  if (src.ref?.kind === 'file') {
    const tmp = tempNameFor(dest, tempDir !== undefined ? { where: tempDir } : {});
    try {
      await copyFile(src.ref.path, tmp);
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { force: true });
      throw ioError(e, `cannot write blob ${desc.digest}`);
    } finally {
      releasePartial(tmp);
    }
  } else {
    await writeFileAtomic(dest, src.open(), { ...(signal ? { signal } : {}), ...(tempDir !== undefined ? { tempDir } : {}) });
  }
}

export async function writeLayoutInto(dir: string, graph: ImageGraph, index: RawJson<ImageIndex>, shown = dir): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true }).catch((e) => { throw ioError(e, `cannot write ${shown}`); });
  await putBlobs(blobDir, graph, shown);
  await writeFileAtomic(join(dir, 'oci-layout'), OCI_LAYOUT);
  await writeFileAtomic(join(dir, 'index.json'), index.bytes);
}

/** Bytes the graph will add to `blobDir`: blobs not there yet, except scratch files moved in. */
async function bytesToWrite(blobDir: string, graph: ImageGraph): Promise<number> {
  let n = 0;
  const { blobs, documents } = graphParts(graph);
  for (const b of [...blobs, ...documents.map((d) => ({ descriptor: d.descriptor, source: undefined }))]) {
    if (b.source?.movable) continue;
    const st = await lstat(join(blobDir, digestHex(b.descriptor.digest))).catch(() => undefined);
    if (!(st?.isFile() && st.size === b.descriptor.size)) n += b.descriptor.size;
  }
  return n;
}

async function putBlobs(blobDir: string, graph: ImageGraph, dest: string, tempDir?: string): Promise<void> {
  // Declared sizes are checked against the free space before a byte is written.
  const parts = graphParts(graph);
  await ensureFreeSpace(blobDir, await bytesToWrite(blobDir, graph), `${dest}: writing ${parts.blobs.length + parts.documents.length} blobs`);
  // A few blobs at a time: a layer that streams from a registry overlaps with the others; when one
  // fails, the others stop.
  const { blobs, documents } = graphParts(graph);
  await inOrderCancelling(blobs.length, BLOB_CONCURRENCY, (i, signal) => putBlob(blobDir, blobs[i]!.descriptor, blobs[i]!.source, signal, tempDir));
  for (const d of documents) await putBlob(blobDir, d.descriptor, bytesSource(d.bytes), undefined, tempDir);
}

/**
 * The index with `entry` added under `tag` (replacing the entry of the same tag, or for no tag an
 * untagged entry of the same digest), and the untagged `referrers` entries it does not list yet.
 * Every other entry and every field of the index, unknown ones included, is kept as it was read;
 * the result is canonical JSON.
 */
export function addToIndex(existing: Buffer | undefined, where: string, entry: Descriptor, tag: string | undefined, referrers: Descriptor[] = []): RawJson<ImageIndex> {
  let raw: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  let parsed: Descriptor[] = [];
  if (existing !== undefined) {
    parsed = parseIndex(existing, where).value.manifests; // validates every entry
    raw = JSON.parse(existing.toString('utf8')) as Record<string, unknown>;
    assertExactIntegers(raw, where);
  }
  const rawEntries = raw['manifests'] as unknown[];
  const kept = rawEntries.filter((_, i) => {
    const m = parsed[i]!;
    return tag === undefined ? m.digest !== entry.digest || m.annotations?.[REF_NAME] !== undefined : m.annotations?.[REF_NAME] !== tag;
  });
  const keptParsed = parsed.filter((_, i) => kept.includes(rawEntries[i]));
  const added = referrers.filter((r) => !keptParsed.some((m) => m.digest === r.digest && m.annotations?.[REF_NAME] === undefined));
  const bytes = canonicalBytes({ ...raw, manifests: [...kept, entry, ...added] });
  return rawJson(bytes, parseIndex(bytes, where).value);
}

/** Adds the graph's root to the index of the existing layout `dir`, under the layout's lock. */
async function updateIndex(dir: string, graph: ImageGraph, tag: string | undefined, annotations?: Record<string, string>): Promise<RawJson<ImageIndex>> {
  return withLock(join(dir, LAYOUT_LOCK), async () => {
    // index.json and oci-layout are only ever written under this lock: a temporary copy of either
    // found now was left by a holder that was killed, and is removed.
    for (const name of await readdir(dir)) {
      if (/^\.(index\.json|oci-layout)\.tmp-/.test(name)) await rm(join(dir, name), { force: true });
    }
    const existing = await readInside(dir, 'index.json', { missingOk: true });
    const next = addToIndex(existing, join(dir, 'index.json'), rootEntry(graph, tag, annotations), tag, referrerEntries(graph));
    if (!(await exists(join(dir, 'oci-layout')))) await writeFileAtomic(join(dir, 'oci-layout'), OCI_LAYOUT);
    await writeFileAtomic(join(dir, 'index.json'), next.bytes);
    return next;
  }, { what: dir });
}

const layoutOrEmpty = (names: string[]): boolean =>
  names.includes('index.json') || names.includes('oci-layout') || names.every((n) => n === LAYOUT_LOCK || n === 'blobs' || TEMP_NAME.test(n));

/** `dir` is a layout, or an empty directory that would become one (false when unreadable). */
export async function isLayoutOrEmpty(dir: string): Promise<boolean> {
  return layoutOrEmpty(await readdir(dir).catch(() => ['?']));
}

/** An existing destination must be a layout, or an empty directory that becomes one. */
async function checkLayoutOrEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new ReproError('E_BAD_INPUT', `${dir}: exists and is not a directory`);
    throw ioError(e, `cannot write ${dir}`);
  }
  if (!layoutOrEmpty(names)) {
    throw new ReproError('E_BAD_INPUT', `${dir}: exists and is not an OCI image layout (no oci-layout or index.json)`);
  }
}

/** Moves the blobs of a staged layout into an existing one (same file system). */
async function adoptBlobs(staging: string, dir: string): Promise<void> {
  const from = join(staging, 'blobs', 'sha256');
  const to = await blobDirOf(dir);
  for (const name of await readdir(from)) {
    const dest = join(to, name);
    const st = await lstat(dest).catch(() => undefined);
    if (st?.isFile()) continue;
    await rename(join(from, name), dest).catch((e) => { throw ioError(e, `cannot write blob ${name} into ${dir}`); });
  }
}

/**
 * Writes a graph into the layout at `dir` under `tag`; returns the index.json written.
 * `annotations` go on the root's index.json entry (beside the tag).
 */
export async function writeLayout(dir: string, graph: ImageGraph, tag: string | undefined, annotations?: Record<string, string>): Promise<RawJson<ImageIndex>> {
  // What killed writers of this layout left: staging directories and layer files beside it (named
  // after it), temporary blobs and index files in it. Only those of dead owners (fs/scratch.ts).
  await removeStaleTemps(dirname(dir), basename(dir));
  if (!(await exists(dir))) {
    await mkdir(dirname(dir), { recursive: true }).catch((e) => { throw ioError(e, `cannot create ${dirname(dir)}`); });
    // mkdir, not mkdtemp: the layout gets the usual umask-derived mode, not 0700.
    const staging = tempNameFor(dir);
    await mkdir(staging).catch((e) => { throw ioError(e, `cannot write ${dir}`); });
    try {
      const index = graphIndex(graph, tag, annotations);
      await writeLayoutInto(staging, graph, index, dir);
      try {
        await rename(staging, dir);
        return index;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw ioError(e, `cannot write ${dir}`);
      }
      // Another writer created the layout meanwhile: join it.
      await adoptBlobs(staging, dir);
      return await updateIndex(dir, graph, tag, annotations);
    } finally {
      await rm(staging, { recursive: true, force: true });
      releasePartial(staging);
    }
  }
  // An existing layout: add the blobs, then point the tag at the new manifest.
  await checkLayoutOrEmpty(dir);
  await removeStaleTemps(dir);
  await putBlobs(await blobDirOf(dir), graph, dir, dir);
  return updateIndex(dir, graph, tag, annotations);
}

/**
 * Adds referrers (artifact manifests whose subject is already in the layout) to an existing
 * layout: their blobs, then their untagged index.json entries under the layout's lock; every
 * other entry is kept as it is. Nothing is written if `dir` is not a layout.
 */
export async function addReferrersToLayout(dir: string, referrers: ImageGraph[]): Promise<RawJson<ImageIndex>> {
  if (!(await exists(join(dir, 'index.json')))) throw new ReproError('E_NOT_FOUND', `${dir}: not an OCI image layout (no index.json)`);
  const blobDir = await blobDirOf(dir);
  // As for any write into an existing layout: temporary names in its root, dead writers' removed first.
  await removeStaleTemps(dir);
  for (const r of referrers) await putBlobs(blobDir, r, dir, dir);
  return withLock(join(dir, LAYOUT_LOCK), async () => {
    const existing = await readInside(dir, 'index.json');
    const where = join(dir, 'index.json');
    const parsed = parseIndex(existing, where).value.manifests;
    const raw = JSON.parse(existing.toString('utf8')) as Record<string, unknown>;
    assertExactIntegers(raw, where);
    const entries = referrers.flatMap((g) => referrerEntries({ root: g.root, documents: [], blobs: [], referrers: [g] }));
    const added = entries.filter((e, i) => !parsed.some((m) => m.digest === e.digest && m.annotations?.[REF_NAME] === undefined) && entries.findIndex((x) => x.digest === e.digest) === i);
    const bytes = canonicalBytes({ ...raw, manifests: [...(raw['manifests'] as unknown[]), ...added] });
    const next = rawJson(bytes, parseIndex(bytes, where).value);
    if (added.length > 0) await writeFileAtomic(where, next.bytes);
    return next;
  }, { what: dir });
}
