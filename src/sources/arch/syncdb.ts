/**
 * A repository database (`$repo.db`, as repo-add writes it): a tar, plain or compressed with gzip,
 * zstd or xz, of one directory `NAME-VERSION/` per package holding `desc` (and, in databases made
 * before pacman 5, `depends`). Only what resolution and pinning need is kept.
 */
import { decompressStream, detectCompression } from '../../archive/compress.js';
import { readTar } from '../../archive/tar-reader.js';
import { TypeFlag } from '../../archive/tar-header.js';
import { ReproError } from '../../model/errors.js';
import { parseDep, type Dep } from './depends.js';
import { descValue, parseDesc, type DescFields } from './desc.js';

export interface SyncPackage {
  repository: string;
  name: string;
  version: string;
  base: string;
  architecture: string;
  filename: string;
  /** Compressed (download) size. */
  size: number;
  sha256: string;
  /** The base64 %PGPSIG%, when the database carries the signature. */
  pgpsig?: string;
  depends: Dep[];
  provides: Dep[];
  conflicts: Dep[];
  groups: string[];
}

async function* one(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

export async function readSyncDb(data: Buffer, repository: string, where: string): Promise<SyncPackage[]> {
  const compression = detectCompression(data.subarray(0, 6));
  const dirs = new Map<string, { desc?: string; depends?: string; at: string }>();
  for await (const { member, body } of readTar(decompressStream(compression, one(data), where), where)) {
    if (member.typeflag !== TypeFlag.file && member.typeflag !== TypeFlag.oldFile) continue;
    const m = /^(?:\.\/)?([^/]+)\/(desc|depends)$/.exec(member.name);
    if (!m) continue;
    const parts: Buffer[] = [];
    for await (const c of body()) parts.push(c);
    const at = `${where}: member ${JSON.stringify(member.name)} at byte offset ${member.headerOffset}`;
    const dir = dirs.get(m[1]!) ?? { at };
    dir[m[2] as 'desc' | 'depends'] = Buffer.concat(parts).toString('utf8');
    if (m[2] === 'desc') dir.at = at;
    dirs.set(m[1]!, dir);
  }
  const out: SyncPackage[] = [];
  for (const [dir, { desc, depends, at }] of dirs) {
    if (desc === undefined) throw new ReproError('E_BAD_INPUT', `${at}: ${dir}/ has no desc`);
    // Databases made before pacman 5 keep the relations in a separate depends file.
    out.push(toPackage(parseDesc(`${desc}\n${depends ?? ''}`, at), repository, dir, at));
  }
  // libalpm keeps a database's packages sorted by name; provider searches follow that order.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function toPackage(d: DescFields, repository: string, dir: string, where: string): SyncPackage {
  const need = (k: string): string => {
    const v = descValue(d, k);
    if (v === undefined || v === '') throw new ReproError('E_BAD_INPUT', `${where}: no %${k}%`);
    return v;
  };
  const name = need('NAME');
  const version = need('VERSION');
  if (`${name}-${version}` !== dir) throw new ReproError('E_BAD_INPUT', `${where}: %NAME% ${name} and %VERSION% ${version} do not match the directory ${dir}`);
  const sha256 = descValue(d, 'SHA256SUM');
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new ReproError('E_BAD_INPUT', `${where}: ${sha256 ? `%SHA256SUM% ${JSON.stringify(sha256)} is not 64 hex digits` : 'no %SHA256SUM% (a database made without checksums cannot be pinned)'}`);
  const size = Number(need('CSIZE'));
  if (!Number.isSafeInteger(size) || size < 0) throw new ReproError('E_BAD_INPUT', `${where}: %CSIZE% ${JSON.stringify(descValue(d, 'CSIZE'))} is not a size`);
  const filename = need('FILENAME');
  if (filename.includes('/') || filename.startsWith('.')) throw new ReproError('E_BAD_INPUT', `${where}: %FILENAME% ${JSON.stringify(filename)} is not a plain file name`);
  const p: SyncPackage = {
    repository, name, version,
    base: descValue(d, 'BASE') || name,
    architecture: descValue(d, 'ARCH') ?? '',
    filename, size, sha256,
    depends: (d.get('DEPENDS') ?? []).map(parseDep),
    provides: (d.get('PROVIDES') ?? []).map(parseDep),
    conflicts: (d.get('CONFLICTS') ?? []).map(parseDep),
    groups: d.get('GROUPS') ?? [],
  };
  const sig = descValue(d, 'PGPSIG');
  if (sig) p.pgpsig = sig;
  return p;
}
