/**
 * oci-archive: an OCI image layout in one tar file. Ours is byte-reproducible: entries in byte
 * order, owner 0:0, modes 0755/0644, every time set to SOURCE_DATE_EPOCH.
 */
import type { Entry } from '../../archive/entry.js';
import { orderEntries, tarChunks } from '../../archive/tar-writer.js';
import { fileSource } from '../../image/file-source.js';
import { bytesSource, type BlobSource } from '../../image/image.js';
import { digestHex, type Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import type { RawJson } from '../../model/json.js';
import { parseIndex, type ImageIndex } from '../../model/oci-index.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import type { ImageGraph } from '../../image/graph.js';
import { OCI_LAYOUT, graphIndex } from '../layout/write.js';
import { selectFromIndex, type IndexSelector } from '../../image/select.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';
import { indexArchive, readMember } from './tar-index.js';
import { graphParts } from '../../image/referrer.js';

export function archiveEntry(path: string, src: BlobSource, size: number, mtime: number): Entry {
  if (!src.ref) throw new ReproError('E_IO', `${path}: blob source has no location`);
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size, content: src.ref };
}

export function archiveDir(path: string, mtime: number): Entry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 };
}

/** The bytes of an oci-archive holding `graph` (every blob must have a file location or bytes). */
export function ociArchiveChunks(graph: ImageGraph, tag: string | undefined, mtime: number, where: string): { index: RawJson<ImageIndex>; chunks: Iterable<Buffer> } {
  const index = graphIndex(graph, tag);
  const entries: Entry[] = [archiveDir('blobs', mtime), archiveDir('blobs/sha256', mtime)];
  const seen = new Set<string>();
  const parts = graphParts(graph);
  const blobs = [...parts.blobs, ...parts.documents.map((d) => ({ descriptor: d.descriptor, source: bytesSource(d.bytes) }))];
  for (const b of blobs) {
    const path = `blobs/sha256/${digestHex(b.descriptor.digest)}`;
    if (seen.has(path)) continue;
    seen.add(path);
    entries.push(archiveEntry(path, b.source, b.descriptor.size, mtime));
  }
  entries.push(archiveEntry('index.json', bytesSource(index.bytes), index.bytes.length, mtime));
  entries.push(archiveEntry('oci-layout', bytesSource(OCI_LAYOUT), OCI_LAYOUT.length, mtime));
  return { index, chunks: tarChunks(orderEntries(entries), where) };
}

export async function writeOciArchive(file: string, graph: ImageGraph, tag: string | undefined, mtime: number): Promise<RawJson<ImageIndex>> {
  const { index, chunks } = ociArchiveChunks(graph, tag, mtime, file);
  await writeFileAtomic(file, chunks);
  return index;
}

export async function openOciArchive(file: string, tag: IndexSelector | string | undefined): Promise<OpenedImage> {
  const members = await indexArchive(file);
  const index = parseIndex(await readMember(file, members, 'index.json'), `${file}: index.json`);
  const store: BlobStore = {
    where: file,
    async blob(digest: Digest) {
      const m = members.get(`blobs/sha256/${digestHex(digest)}`);
      if (!m) throw new ReproError('E_NOT_FOUND', `${file}: blob ${digest} is missing`);
      return { ...fileSource(file, m.offset, m.size), storedSize: m.size };
    },
  };
  return { store, index, target: selectFromIndex(index.value, tag, file) };
}
