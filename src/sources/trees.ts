/**
 * What every distribution reads from an installed tree (its package records, the entries its
 * install step generates), without its spec and lock schemas: a consumer that only reads images
 * (audit) loads this list and not `sources/index.ts`, whose schemas pull in the schema library
 * (about a third of audit's start-up). The distributions in `sources/index.ts` take these same
 * functions from here; a test keeps the two lists in step.
 */
import type { Distribution } from './distribution.js';
import { archGenerated, archRecords, isArchDatabaseFile, isArchRecordFile } from './arch/records.js';
import { debianGenerated, isDebianGeneratorInput } from './debian/generated.js';
import { debianRecords, isDebianDatabaseFile, isDebianRecordFile } from './debian/records.js';

export type TreeReader = Pick<Distribution, 'distro' | 'isDatabaseFile' | 'isRecordFile' | 'packageRecords' | 'isGeneratorInput' | 'generated'>;

export const DEBIAN_TREE: TreeReader = {
  distro: 'debian',
  isDatabaseFile: isDebianDatabaseFile,
  isRecordFile: isDebianRecordFile,
  packageRecords: debianRecords,
  isGeneratorInput: isDebianGeneratorInput,
  generated: debianGenerated,
};

export const ARCH_TREE: TreeReader = {
  distro: 'arch',
  isDatabaseFile: isArchDatabaseFile,
  isRecordFile: isArchRecordFile,
  packageRecords: archRecords,
  isGeneratorInput: () => false,
  generated: archGenerated,
};

/** In the order of `DISTRIBUTIONS`. */
export const TREE_READERS: readonly TreeReader[] = [DEBIAN_TREE, ARCH_TREE];
