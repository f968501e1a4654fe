/**
 * Installs pacman packages into a file tree without running anything, in the lock's order (pacman's
 * installation order). As pacman extracts into a fresh root: a directory already there keeps the
 * metadata of the package that made it; a path under a symlinked directory lands where the link
 * points; two packages shipping one file is a conflict that fails the build, naming both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parentOf, type Entry } from '../../archive/entry.js';
import { ReproError } from '../../model/errors.js';
import { inOrder } from '../../fetch/pool.js';
import { completeTree } from '../rootfs/tree.js';
import { dataFileFor, readPackage, type PackageFile } from './package.js';
import { info } from './pkginfo.js';

export interface PackageInput {
  name: string;
  version: string;
  /** The verified package file. */
  path: string;
}

export interface ArchInstallResult {
  entries: Map<string, Entry>;
  /** In installation order, with where each package's shipped paths landed. */
  packages: Array<{ input: PackageInput; file: PackageFile; installed: Map<string, string> }>;
  cleanup: () => Promise<void>;
}

const MAX_LINKS = 40;

/**
 * Where `path` lands in the tree when its parent directories are followed through symlinks, as an
 * extraction into a real directory would follow them. A link out of the root is refused.
 */
export function landingPath(entries: ReadonlyMap<string, Entry>, path: string, where: string): string {
  const parts = path.split('/');
  let resolved: string[] = [];
  let links = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const candidate = [...resolved, part].join('/');
    const e = entries.get(candidate);
    if (i < parts.length - 1 && e?.type === 'symlink') {
      if (++links > MAX_LINKS) throw new ReproError('E_PATH_ESCAPE', `${where}: too many symlinks resolving ${JSON.stringify(path)}`);
      const target = e.linkname!;
      const base = target.startsWith('/') ? [] : resolved;
      const next: string[] = [...base];
      for (const t of target.split('/')) {
        if (t === '' || t === '.') continue;
        if (t === '..') {
          if (next.length === 0) throw new ReproError('E_PATH_ESCAPE', `${where}: ${JSON.stringify(candidate)} links to ${JSON.stringify(target)}, out of the root`);
          next.pop();
        } else {
          next.push(t);
        }
      }
      // The link's target may itself go through links: resolve it again from the start.
      const rest = parts.slice(i + 1);
      return landingPath(entries, [...next, ...rest].join('/'), where);
    }
    resolved = [...resolved, part];
  }
  return resolved.join('/');
}

/** Whether a symlink in the tree leads to a directory (as pacman's lstat-then-stat sees it). */
function isDirThroughLinks(entries: ReadonlyMap<string, Entry>, path: string, where: string): boolean {
  const child = landingPath(entries, `${path}/.probe`, where);
  return entries.get(parentOf(child))?.type === 'dir';
}

export async function installArchPackages(inputs: PackageInput[], tmpDir: string, concurrency = 2): Promise<ArchInstallResult> {
  const tmp = await mkdtemp(join(tmpDir, 'pkgs-'));
  const cleanup = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  try {
    // Decompress in parallel; install afterwards, one package after another, in the given order.
    const files = await inOrder(inputs.length, concurrency, async (i) => {
      const input = inputs[i]!;
      const where = `${input.name}-${input.version}`;
      const file = await readPackage(input.path, dataFileFor(tmp, i), where);
      const [name, version] = [info(file.pkginfo, 'pkgname'), info(file.pkginfo, 'pkgver')];
      if (name !== input.name || version !== input.version) {
        throw new ReproError('E_BAD_INPUT', `${where}: its .PKGINFO says ${name} ${version}, the repository database said ${input.name} ${input.version}`);
      }
      return file;
    });

    const entries = new Map<string, Entry>();
    const owner = new Map<string, string>();
    const packages: ArchInstallResult['packages'] = [];
    inputs.forEach((input, i) => {
      const file = files[i]!;
      const installed = new Map<string, string>();
      for (const e of file.entries) {
        const where = `${input.name}-${input.version}: ${e.path}`;
        const path = landingPath(entries, e.path, where);
        installed.set(e.path, path);
        const prev = entries.get(path);
        if (prev) {
          // A directory stays as the first package made it (pacman keeps an existing directory).
          if (e.type === 'dir' && (prev.type === 'dir' || (prev.type === 'symlink' && isDirThroughLinks(entries, path, where)))) continue;
          throw new ReproError('E_BAD_INPUT', `conflicting files: /${path} exists in both ${owner.get(path) ?? 'another package'} and ${input.name} ${input.version}`);
        }
        entries.set(path, path === e.path ? e : { ...e, path });
        owner.set(path, `${input.name} ${input.version}`);
      }
      packages.push({ input, file, installed });
    });
    completeTree(entries, 'packages');
    return { entries, packages, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
