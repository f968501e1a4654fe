/**
 * The file list libalpm takes from a package's `.MTREE` (mtree(5) text, as bsdtar writes it for
 * makepkg): every entry's path with its leading `./` removed, directories with a trailing `/`, and
 * the package's own metadata files (names starting with `.`) left out. Paths are unescaped as
 * libarchive does (`\ooo` octal and the C escapes).
 */
import { PATH_MAX } from '../../archive/tar-header.js';
import { ReproError } from '../../model/errors.js';

const ESCAPES: Record<string, string> = { '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', s: ' ', t: '\t', v: '\v' };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function unescape(s: string, where: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && /^[0-3][0-7]{2}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (c === '\\' && i + 1 < s.length && ESCAPES[s[i + 1]!] !== undefined) {
      bytes.push(...Buffer.from(ESCAPES[s[i + 1]!]!, 'latin1'));
      i++;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  try {
    return strictUtf8.decode(Buffer.from(bytes));
  } catch {
    // Never U+FFFD: two different names would become one.
    throw new ReproError('E_BAD_INPUT', `${where}: the path ${JSON.stringify(s.slice(0, 80))} unescapes to bytes that are not UTF-8`);
  }
}

/** The file list of an mtree, unsorted (in mtree order): directories with a trailing `/`, metadata files (`.PKGINFO`…) left out. */
export function mtreeFileList(text: string, where: string): string[] {
  return parseMtree(text, where)
    .filter((e) => !e.path.startsWith('.'))
    .map((e) => ((e.keywords.get('type') ?? 'file') === 'dir' ? `${e.path}/` : e.path));
}

/** libalpm's file list order (_alpm_filelist_sort: strcmp of the names, i.e. byte order). */
export function sortFileList(files: string[]): string[] {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** One mtree entry with the keywords that apply to it (its own over `/set` defaults). */
export interface MtreeEntry {
  /** Cleaned path (no leading `./`, no trailing `/`). */
  path: string;
  keywords: ReadonlyMap<string, string>;
}

/** Every entry of an mtree (in mtree order), metadata files (`.PKGINFO`…) included. */
export function parseMtree(text: string, where: string): MtreeEntry[] {
  const out: MtreeEntry[] = [];
  let defaults = new Map<string, string>();
  const cwd: string[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/[ \t]+/);
    const first = words[0]!;
    const own = new Map(words.slice(1).map((w) => {
      const eq = w.indexOf('=');
      return eq < 0 ? [w, ''] : [w.slice(0, eq), w.slice(eq + 1)];
    }));
    if (first === '/set') {
      defaults = new Map([...defaults, ...own]);
      return;
    }
    if (first === '/unset') {
      for (const k of own.keys()) {
        if (k === 'all') defaults.clear();
        else defaults.delete(k);
      }
      return;
    }
    if (first.startsWith('/')) throw new ReproError('E_BAD_INPUT', `${where}: line ${i + 1}: unknown mtree command ${JSON.stringify(first)}`);
    if (first === '..') {
      cwd.pop();
      return;
    }
    const keywords = new Map([...defaults, ...own]);
    const type = keywords.get('type') ?? 'file';
    const at = `${where}: line ${i + 1}`;
    let path = unescape(first, at);
    if (!first.includes('/')) {
      path = [...cwd, path].join('/');
      if (type === 'dir') cwd.push(unescape(first, at));
    }
    if (path.startsWith('./')) path = path.slice(2);
    path = path.replace(/\/+$/, '');
    // Names relative to a directory entry nest it: a path past PATH_MAX is refused here, before a
    // long chain of them costs its length squared.
    if (Buffer.byteLength(path) > PATH_MAX) throw new ReproError('E_BAD_INPUT', `${at}: the path is longer than ${PATH_MAX} bytes`);
    if (path === '' || path === '.') return;
    if (keywords.has('link')) keywords.set('link', unescape(keywords.get('link')!, at));
    out.push({ path, keywords });
  });
  return out;
}
