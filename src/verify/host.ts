/**
 * What this host gives the tool, as `repro-image version` prints it: Node, which deflate makes
 * gzip layers (both give the same bytes), and whether the two native addons were built (zstd:
 * zstd layers; fs-xattr: extended attributes of directory inputs). README: "Native addons".
 */
import { nativeMatchesReference } from '../archive/gzip.js';
import { zstdAvailable, zstdVersion } from '../archive/zstd.js';
import { xattrsAvailable } from '../sources/rootfs/xattrs.js';
import { toolInfo } from './tool.js';

export interface HostInfo {
  name: string;
  version: string;
  node: string;
  platform: string;
  /** Which deflate makes gzip layers here (both give the same bytes). */
  deflate: 'native' | 'reference';
  /** libzstd's version, or null when the zstd-napi addon is not built here. */
  zstd: string | null;
  /** Whether the fs-xattr addon is built here (extended attributes of directory inputs). */
  xattrs: boolean;
}

export async function hostInfo(): Promise<HostInfo> {
  const t = toolInfo();
  return {
    name: t.name,
    version: t.version,
    node: t.node,
    platform: `${process.platform}/${process.arch}`,
    deflate: nativeMatchesReference() ? 'native' : 'reference',
    zstd: zstdAvailable() ? zstdVersion() : null,
    xattrs: await xattrsAvailable(),
  };
}
