/**
 * What every distribution reads from an installed tree (its package records, the entries its
 * install step generates), without its spec and lock schemas: a consumer that only reads images
 * (audit) loads this list and not `sources/index.ts`, whose schemas pull in the schema library
 * (about a third of audit's start-up). Which files a distribution reads is asked of every path of
 * an image, and is here; its readers are loaded by `readers()` when a tree has its database, so
 * that an image of one distribution does not load the others'. The distributions in
 * `sources/index.ts` take these same functions; a test keeps the two lists in step.
 */
import type { Distribution } from './distribution.js';
import { isArchDatabaseFile, isArchRecordFile } from './arch/tree-files.js';
import { isDebianDatabaseFile, isDebianGeneratorInput, isDebianRecordFile } from './debian/tree-files.js';

export type TreeReaders = Pick<Distribution, 'packageRecords' | 'generated'>;

export interface TreeReader extends Pick<Distribution, 'distro' | 'isDatabaseFile' | 'isRecordFile' | 'isGeneratorInput'> {
  /** The distribution's `packageRecords` and `generated`, loaded when asked. */
  readers(): Promise<TreeReaders>;
}

export const DEBIAN_TREE: TreeReader = {
  distro: 'debian',
  isDatabaseFile: isDebianDatabaseFile,
  isRecordFile: isDebianRecordFile,
  isGeneratorInput: isDebianGeneratorInput,
  readers: async () => {
    const [{ debianRecords }, { debianGenerated }] = await Promise.all([import('./debian/records.js'), import('./debian/generated.js')]);
    return { packageRecords: debianRecords, generated: debianGenerated };
  },
};

export const ARCH_TREE: TreeReader = {
  distro: 'arch',
  isDatabaseFile: isArchDatabaseFile,
  isRecordFile: isArchRecordFile,
  isGeneratorInput: () => false,
  readers: async () => {
    const { archGenerated, archRecords } = await import('./arch/records.js');
    return { packageRecords: archRecords, generated: archGenerated };
  },
};

/** In the order of `DISTRIBUTIONS`. */
export const TREE_READERS: readonly TreeReader[] = [DEBIAN_TREE, ARCH_TREE];
