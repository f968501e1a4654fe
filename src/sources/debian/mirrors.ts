/**
 * The host's apt sources, used when a spec names no mirror: deb822 `*.sources` files in
 * /etc/apt/sources.list.d and one-line `sources.list` / `*.list` files. Only `deb` entries count;
 * files with other endings (such as `.disabled`) are ignored, as apt ignores them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReproError, ioError } from '../../model/errors.js';
import { field, parseParagraphs } from './control.js';
import type { DebianSource } from './schema.js';
import { snapshotBases, snapshotRoots } from './snapshot.js';

export interface AptSource {
  uri: string;
  suites: string[];
}

export function parseDeb822Sources(text: string, where: string): AptSource[] {
  const out: AptSource[] = [];
  for (const p of parseParagraphs(text, where)) {
    if (field(p, 'Enabled')?.toLowerCase() === 'no') continue;
    if (!(field(p, 'Types') ?? '').split(/\s+/).includes('deb')) continue;
    const suites = (field(p, 'Suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (field(p, 'URIs') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uri: m[1]!, suites: [m[2]!] });
  }
  return out;
}

const absent = (e: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Every `deb` source configured under `etc` (normally /etc/apt), in apt's file order. A file or
 * folder that is not there is no source; one that is there but cannot be read is an error, not a
 * mirror quietly left out.
 */
export function hostAptSources(etc = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const read = (p: string): string | undefined => {
    try {
      return readFileSync(p, 'utf8');
    } catch (e) {
      if (absent(e)) return undefined;
      throw ioError(e, `cannot read the apt sources ${p}`);
    }
  };
  const main = read(join(etc, 'sources.list'));
  if (main !== undefined) out.push(...parseOneLineSources(main));
  let names: string[] = [];
  try {
    names = readdirSync(join(etc, 'sources.list.d')).sort();
  } catch (e) {
    if (!absent(e)) throw ioError(e, `cannot read the apt sources ${join(etc, 'sources.list.d')}`);
  }
  for (const n of names) {
    const text = read(join(etc, 'sources.list.d', n));
    if (text === undefined) continue;
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(text, join(etc, 'sources.list.d', n)));
    else if (n.endsWith('.list')) out.push(...parseOneLineSources(text));
  }
  return out;
}

/**
 * Mirror base URLs for `suite`: sources that list the suite itself first, then the other sources
 * of the same kind (`-security` suites live in an archive of their own), without duplicates.
 */
export function mirrorsFor(sources: AptSource[], suite: string): string[] {
  const norm = (u: string): string => u.replace(/\/+$/, '');
  const security = suite.endsWith('-security');
  const first = sources.filter((s) => s.suites.includes(suite)).map((s) => norm(s.uri));
  const rest = sources.filter((s) => s.suites.some((x) => x.endsWith('-security') === security)).map((s) => norm(s.uri));
  return [...new Set([...first, ...rest])];
}

/** The spec's mirrors, else the host's apt sources for the suite; never a built-in host. */
export function debianMirrors(source: DebianSource, aptDir?: string, suite = source.suite): string[] {
  if (source.mirrors) return source.mirrors.map((m) => m.replace(/\/+$/, ''));
  const found = mirrorsFor(hostAptSources(aptDir), suite);
  if (found.length === 0) {
    throw new ReproError('E_SPEC', `no mirror for ${suite}: the spec has no source.mirrors and this host has no apt sources for it; add e.g. "mirrors: [<your Debian mirror URL>]" under source:`);
  }
  return found;
}

/**
 * Where a suite's `dists/` and `pool/` are, in order: below each snapshot base at the lock's
 * timestamp when there is one, else the mirrors (the spec's, else the host's apt sources).
 */
export function suiteRoots(source: DebianSource, suite: string, snapshot: string | undefined, aptDir?: string): string[] {
  return snapshot === undefined ? debianMirrors(source, aptDir, suite) : snapshotRoots(snapshotBases(source.mirrors), suite, snapshot);
}
