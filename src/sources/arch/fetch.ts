/** The files an Arch lock pins (packages and their .sig files) and the URLs they can come from. */
import type { ArchLock } from '../../spec/lockfile.js';
import type { ArchSpec } from '../../spec/schema.js';
import { archBases, fileUrls } from './mirrors.js';

export interface LockedFile {
  /** Name of the file among the lock's inputs (a package's name; NAME.sig for its signature). */
  key: string;
  filename: string;
  size: number;
  sha256: string;
  urls: () => string[];
}

export function archLockedFiles(spec: ArchSpec, lock: ArchLock): LockedFile[] {
  const bases = archBases(spec);
  const arch = lock.source.architecture;
  return lock.packages.flatMap((p) => {
    const pkg: LockedFile = { key: p.name, filename: p.filename, size: p.size, sha256: p.sha256, urls: () => fileUrls(bases, p.repository, arch, p.filename) };
    const s = p.signature;
    return s.in === 'file'
      ? [pkg, { key: `${p.name}.sig`, filename: s.filename, size: s.size, sha256: s.sha256, urls: () => fileUrls(bases, p.repository, arch, s.filename) }]
      : [pkg];
  });
}
