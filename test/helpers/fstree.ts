/**
 * The fixture tree as a disk build sees it (read from a directory, then the default passes), and
 * what each entry should look like in a file system.
 */
import type { Entry } from '../../src/archive/entry.js';
import { PASS_NAMES, runPasses } from '../../src/pipeline/passes.js';
import { DEFAULT_KEEP_XATTRS } from '../../src/pipeline/tree-steps.js';
import { readDirectory } from '../../src/sources/rootfs/directory.js';
import { buildFsTree, walkTree, type FsNode, type FsTree } from '../../src/disk/tree.js';
import { FIXTURE_EPOCH } from './fixtures.js';
import { createHash } from 'node:crypto';
import { readEntryBytes } from '../../src/archive/content.js';

export async function fixtureEntries(dir: string): Promise<Map<string, Entry>> {
  const tree = await readDirectory(dir);
  runPasses(tree.entries, [...PASS_NAMES], { sourceDateEpoch: FIXTURE_EPOCH, exclude: [], keepXattrs: DEFAULT_KEEP_XATTRS });
  return tree.entries;
}

export function fsTreeOf(entries: Iterable<Entry>, contents = '', mountPoints: string[] = []): FsTree {
  return buildFsTree(entries, { contents, mountPoints, rootDefaults: { mode: 0o755, uid: 0, gid: 0, mtime: FIXTURE_EPOCH }, where: 'test' });
}

export function sha256Of(n: FsNode): string {
  return createHash('sha256').update(readEntryBytes({ path: n.path, size: n.size, content: n.content })).digest('hex');
}

export function* nodes(tree: FsTree): Generator<{ path: string; node: FsNode }> {
  yield* walkTree(tree);
}
