/**
 * The content summary buildah puts in an ADD/COPY history line (`file:<hex>`, `dir:<hex>`; docs/
 * podman-compat-facts.md §3.3): the SHA-256 of the source as a tar stream written again by Go's
 * archive/tar with every time zeroed. An archive ADD re-encodes the archive's own entries; a
 * directory is its contents in WalkDir order (owners and modes after --chown/--chmod); a single
 * file is one entry named by its base name.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { decompressStream, detectCompression } from '../../archive/compress.js';
import type { GoHeader } from '../../archive/go-tar.js';
import { contentSummary as summaryOf, goSummaryStream, goTarReencode, type SummaryEntry } from '../../archive/go-tar-summary.js';
import { keptXattr } from './copier.js';
import { fileBody, statNode, walkTree, type FsNode } from './tree.js';
import type { XattrReader } from '../../sources/rootfs/xattrs.js';

export type SummarySource =
  | { archive: string }
  | { directory: string; chown?: { uid: number; gid: number } | undefined; chmod?: string | undefined; xattrs?: XattrReader; /** Its walk, when the caller has it (else walked here). */ nodes?: FsNode[] }
  | { file: string; chown?: { uid: number; gid: number } | undefined; chmod?: string | undefined; xattrs?: XattrReader };

function header(n: FsNode, name: string, over: { uid?: number; gid?: number; mode?: number }): GoHeader {
  const xattrs = new Map([...(n.xattrs ?? [])].filter(([k]) => keptXattr(k)));
  return {
    name: n.kind === 'dir' ? `${name}/` : name,
    type: n.kind,
    mode: over.mode ?? n.mode,
    uid: over.uid ?? n.uid,
    gid: over.gid ?? n.gid,
    size: n.kind === 'file' ? n.size : 0,
    mtime: n.mtimeSec,
    mtimeNsec: n.mtimeNsec,
    linkname: n.linkTarget ?? '',
    devmajor: n.devmajor,
    devminor: n.devminor,
    ...(xattrs.size > 0 ? { xattrs } : {}),
  };
}

function* treeHeaders(nodes: FsNode[], over: { uid?: number; gid?: number; mode?: number }, rename?: (n: FsNode) => string): Generator<SummaryEntry> {
  const first = new Map<string, string>();
  for (const n of nodes) {
    const name = rename ? rename(n) : n.path;
    const h = header(n, name, over);
    if (n.kind === 'file' && n.inode !== undefined) {
      const f = first.get(n.inode);
      if (f !== undefined) {
        yield { header: { ...h, type: 'hardlink', size: 0, linkname: f } };
        continue;
      }
      first.set(n.inode, name);
    }
    yield n.kind === 'file' ? { header: h, body: fileBody(n.abs, n.size) } : { header: h };
  }
}

export async function contentSummary(src: SummarySource): Promise<string> {
  let kind: 'file' | 'dir';
  let stream: AsyncIterable<Buffer>;
  if ('archive' in src) {
    kind = 'file';
    const head = readFileSync(src.archive).subarray(0, 512);
    stream = goTarReencode(decompressStream(detectCompression(head), createReadStream(src.archive, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, src.archive), src.archive);
  } else {
    const over = {
      ...(src.chown ? { uid: src.chown.uid, gid: src.chown.gid } : {}),
      ...(src.chmod !== undefined ? { mode: parseInt(src.chmod, 8) & 0o7777 } : {}),
    };
    if ('directory' in src) {
      kind = 'dir';
      stream = goSummaryStream(treeHeaders(src.nodes ?? walkTree(src.directory, src.xattrs), over), src.directory);
    } else {
      kind = 'file';
      const node = statNode(dirname(src.file), basename(src.file), src.xattrs);
      stream = goSummaryStream(treeHeaders(node ? [node] : [], over, () => basename(src.file)), src.file);
    }
  }
  return summaryOf(kind, stream);
}
