/**
 * Installs Debian packages into a file tree without running anything: each package's data.tar is
 * laid in dependency order, on a merged /usr (`bin`, `sbin`, `lib*` → `usr/…`, with the top-level
 * symlinks), and two packages may ship one path only where Replaces says so. The result also says,
 * per package, which paths it owns, for the dpkg database.
 */
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { ReproError } from '../../model/errors.js';
import type { Entry } from '../../archive/entry.js';
import { cleanMemberPath } from '../../archive/paths.js';
import { readTar } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';
import { memberEntry, teeToFile } from '../rootfs/tarball.js';
import { completeTree } from '../rootfs/tree.js';
import { field, parseParagraphs, type Paragraph } from './control.js';
import { dataTarStream, readDeb } from './deb.js';
import { parseDeps, type DepList } from './depends.js';
import { satisfies } from './version.js';

import { MERGED_USR_DIRS, mergedUsrPath } from './merged-usr.js';

export interface PackageInput {
  name: string;
  version: string;
  architecture: string;
  /** The verified .deb. */
  debPath: string;
}

export interface UnpackedPackage {
  name: string;
  version: string;
  architecture: string;
  control: Paragraph;
  /** Control archive files other than `control` (md5sums, conffiles, maintainer scripts…). */
  controlFiles: Map<string, Buffer>;
  controlModes: Map<string, number>;
  /** Paths as the package ships them (before the /usr merge), in archive order. */
  shipped: string[];
  /** Installed path (after the merge) of each shipped path. */
  installed: Map<string, string>;
}

interface Unpacked {
  pkg: UnpackedPackage;
  entries: Entry[];
  replaces: DepList;
  deps: DepList;
}

async function unpack(input: PackageInput, tmp: string, index: number): Promise<Unpacked> {
  const where = `${input.name}_${input.version}_${input.architecture}.deb`;
  const deb = await readDeb(input.debPath, where);
  const [control] = parseParagraphs(deb.control.get('control')!.toString('utf8'), `${where}: control`);
  if (!control) throw new ReproError('E_BAD_INPUT', `${where}: empty control file`);
  if (field(control, 'Package') !== input.name || field(control, 'Version') !== input.version) {
    throw new ReproError('E_BAD_INPUT', `${where}: its control file says ${field(control, 'Package')} ${field(control, 'Version')}`);
  }
  // Content stays in a decompressed copy of data.tar (or in the .deb itself when uncompressed).
  let dataFile: string;
  let base = 0;
  let source: AsyncIterable<Buffer>;
  if (deb.data.compression === 'none') {
    dataFile = input.debPath;
    base = deb.data.offset;
    source = dataTarStream(input.debPath, deb, where);
  } else {
    dataFile = join(tmp, `${index}.tar`);
    source = teeToFile(dataTarStream(input.debPath, deb, where), dataFile);
  }
  const local = new Map<string, Entry>();
  const shipped: string[] = [];
  const installed = new Map<string, string>();
  let inodes = 0;
  for await (const { member } of readTar(source, `${where}: ${deb.data.name}`)) {
    const at = `${where}: ${deb.data.name}: member ${JSON.stringify(member.name)} at byte offset ${member.headerOffset}`;
    const orig = cleanMemberPath(member.name, at);
    if (orig === '') continue;
    const path = mergedUsrPath(orig);
    const m = member.linkname && member.typeflag === TypeFlag.hardlink ? { ...member, linkname: mergedUsrPath(cleanMemberPath(member.linkname, at)) } : member;
    const e = memberEntry(base ? { ...m, dataOffset: m.dataOffset + base } : m, path, dataFile, at, local, () => `${where}#${inodes++}`);
    if (!e) continue;
    local.set(path, e);
    if (!installed.has(orig)) shipped.push(orig);
    installed.set(orig, path);
  }
  return {
    pkg: {
      name: input.name, version: input.version, architecture: input.architecture, control,
      controlFiles: new Map([...deb.control].filter(([k]) => k !== 'control')),
      controlModes: deb.controlModes, shipped, installed,
    },
    entries: [...local.values()],
    replaces: parseDeps(field(control, 'Replaces'), `${where}: Replaces`),
    deps: [...parseDeps(field(control, 'Pre-Depends'), where), ...parseDeps(field(control, 'Depends'), where)],
  };
}

/** Dependencies before dependants (depth-first, names in byte order); cycles broken where met. */
function installOrder(units: Unpacked[]): Unpacked[] {
  const byName = new Map(units.map((u) => [u.pkg.name, u]));
  const sorted = [...units].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1));
  const out: Unpacked[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (u: Unpacked): void => {
    if (state.has(u.pkg.name)) return;
    state.set(u.pkg.name, 'visiting');
    for (const group of u.deps) {
      const dep = group.map((d) => byName.get(d.name)).find((x) => x !== undefined);
      if (dep) visit(dep);
    }
    state.set(u.pkg.name, 'done');
    out.push(u);
  };
  for (const u of sorted) visit(u);
  return out;
}

function replaces(a: Unpacked, b: Unpacked): boolean {
  return a.replaces.flat().some((d) => d.name === b.pkg.name && (d.op === undefined || satisfies(b.pkg.version, d.op, d.version!)));
}

export interface InstallResult {
  entries: Map<string, Entry>;
  /** In installation order. */
  packages: UnpackedPackage[];
  cleanup: () => Promise<void>;
}

export async function installPackages(inputs: PackageInput[], tmpDir: string, opts: { concurrency?: number; onPackage?: (done: number, total: number) => void } = {}): Promise<InstallResult> {
  const tmp = await mkdtemp(join(tmpDir, 'debs-'));
  const cleanup = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  try {
    // Unpack in parallel (decompression dominates); merge afterwards in a fixed order.
    const units: Unpacked[] = new Array(inputs.length);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < inputs.length) {
        const i = next++;
        units[i] = await unpack(inputs[i]!, tmp, i);
        opts.onPackage?.(++done, inputs.length);
      }
    };
    // Decompression runs in xz child processes: one more unpacker than cores keeps them all busy.
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? availableParallelism() + 1) }, worker));

    const entries = new Map<string, Entry>();
    const owner = new Map<string, Unpacked>();
    const ordered = installOrder(units);
    for (const u of ordered) {
      for (const e of u.entries) {
        const prev = entries.get(e.path);
        if (prev) {
          if (prev.type === 'dir' && e.type === 'dir') continue; // shared directory: the first one's metadata stays
          const other = owner.get(e.path)!;
          if (replaces(u, other)) {
            dropOwnership(other, e.path);
          } else if (replaces(other, u)) {
            dropOwnership(u, e.path);
            continue;
          } else {
            throw new ReproError('E_BAD_INPUT', `${e.path} is shipped by both ${other.pkg.name} ${other.pkg.version} and ${u.pkg.name} ${u.pkg.version}, and neither Replaces the other`);
          }
        }
        entries.set(e.path, e);
        owner.set(e.path, u);
      }
    }
    completeTree(entries, 'packages');
    return { entries, packages: ordered.map((u) => u.pkg), cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

function dropOwnership(u: Unpacked, installedPath: string): void {
  for (const [orig, path] of u.pkg.installed) {
    if (path === installedPath) {
      u.pkg.installed.delete(orig);
      u.pkg.shipped = u.pkg.shipped.filter((p) => p !== orig);
    }
  }
}

/** The merged-/usr symlinks (`bin` → `usr/bin`…) for every merged directory the tree has. */
export function addMergedUsrLinks(entries: Map<string, Entry>, mtime: number): void {
  for (const d of MERGED_USR_DIRS) {
    if (!entries.has(`usr/${d}`) && d !== 'bin' && d !== 'sbin' && d !== 'lib') continue;
    const existing = entries.get(d);
    if (existing) throw new ReproError('E_BAD_INPUT', `/${d} exists as a ${existing.type} and cannot become the merged-/usr symlink`);
    entries.set(d, { path: d, type: 'symlink', linkname: `usr/${d}`, mode: 0o777, uid: 0, gid: 0, mtime, size: 0 });
    if (!entries.has(`usr/${d}`)) entries.set(`usr/${d}`, { path: `usr/${d}`, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime, size: 0 });
  }
}
