import type { Entry } from '../archive/entry.js';

/** What a distribution's install step hands to the shared build steps. */
export interface InstalledTree {
  entries: Map<string, Entry>;
  /** What the install steps did (database written, script effects…), for the build report. */
  reports: Array<{ name: string; changed: number; examples: string[] }>;
  /** Where a path named in the spec's `files:` lands in this tree. */
  destPath: (path: string, where: string) => string;
  cleanup: () => Promise<void>;
}
