/**
 * `.PKGINFO`, the metadata makepkg writes into every package: `key = value` lines, keys repeated
 * for lists, `#` comments. Read as libalpm's parse_descfile reads it: lines without ` = ` are
 * ignored, and a key's values keep their order.
 */
import { ReproError } from '../../model/errors.js';

export type PkgInfo = Map<string, string[]>;

export function parsePkgInfo(text: string, where: string): PkgInfo {
  const out: PkgInfo = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.indexOf(' ');
    if (sp < 0 || !line.startsWith(' = ', sp)) continue; // libalpm skips it too (a debug message)
    const key = line.slice(0, sp);
    out.set(key, [...(out.get(key) ?? []), line.slice(sp + 3)]);
  }
  for (const k of ['pkgname', 'pkgver']) {
    if (!out.get(k)?.[0]) throw new ReproError('E_BAD_INPUT', `${where}: .PKGINFO has no ${k}`);
  }
  if (!out.get('pkgver')![0]!.includes('-')) throw new ReproError('E_BAD_INPUT', `${where}: .PKGINFO pkgver ${JSON.stringify(out.get('pkgver')![0])} has no -pkgrel`);
  return out;
}

/** The first value of a key, or undefined. */
export function info(p: PkgInfo, key: string): string | undefined {
  return p.get(key)?.[0];
}

export function infoList(p: PkgInfo, key: string): string[] {
  return p.get(key) ?? [];
}
