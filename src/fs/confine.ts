/**
 * Paths named by an input (a spec, a Containerfile, a layer) that must stay inside a root: a spec's
 * folder, a build context, a stage's root file system. Two ways, for two kinds of root:
 * - `confinedPath`: the host's meaning of the path (symlinks resolved as the kernel resolves them),
 *   refused when it ends outside the root. For a spec's `files:` (whoever wrote a symlink out of the
 *   spec folder meant the host file it names, which is what we refuse).
 * - `resolveInRoot`: the meaning the path has inside the root taken as `/`, as in a chroot (an
 *   absolute symlink starts again at the root, `..` stops there). For a build context and a stage's
 *   root, as buildah's chrooted copier resolves them: it never reaches outside by construction.
 * Both return a path with no symlink left in it (the last component too, unless asked otherwise);
 * a symlink swapped in afterwards by a concurrent process is not covered (the files are then opened
 * with O_NOFOLLOW where it matters: archive/content.ts).
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { ReproError, ioError } from '../model/errors.js';

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

/** Whether `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/**
 * Why `rel` cannot name something inside its root without looking at the disk: absolute, or its
 * `..` climb above the start. Undefined when it is fine lexically.
 */
export function lexicalEscape(rel: string): string | undefined {
  if (isAbsolute(rel)) return 'an absolute path';
  const n = normalize(rel);
  if (n === '..' || n.startsWith(`..${sep}`)) return 'climbs out with ".."';
  return undefined;
}

/**
 * `rel` below `root` with every symlink resolved by the host, refused (E_PATH_ESCAPE, naming
 * `what`) unless it stays inside `root` (the real path of it). A missing file is the error of
 * `ioError` (exit 2).
 */
export function confinedPath(root: string, rel: string, what: string, rootName = root): string {
  const lexical = lexicalEscape(rel);
  if (lexical) throw new ReproError('E_PATH_ESCAPE', `${what}: ${JSON.stringify(rel)} is ${lexical}; it must name something inside ${rootName}`);
  let base: string;
  try {
    base = realpathSync(root);
  } catch (e) {
    throw ioError(e, `${what}: cannot read ${rootName}`);
  }
  let real: string;
  try {
    real = realpathSync(resolve(base, rel));
  } catch (e) {
    throw ioError(e, `${what}: cannot read ${JSON.stringify(rel)} in ${rootName}`);
  }
  if (!isInside(base, real)) {
    throw new ReproError('E_PATH_ESCAPE', `${what}: ${JSON.stringify(rel)} leads outside ${rootName} through a symlink`);
  }
  return real;
}

/**
 * `path` resolved inside `root` as if `root` were `/` (a chroot): `..` never climbs above it and a
 * symlink's target, absolute or relative, is looked up inside it. Components that do not exist are
 * kept as written. The last component is followed when it is a symlink unless `followLast` is
 * false. Too many symlinks is exit 2 naming `what`.
 */
export function resolveInRoot(root: string, path: string, what: string, followLast = true): string {
  const pending = path.split('/').reverse();
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const at = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(at).isSymbolicLink();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw ioError(e, `${what}: cannot look up ${path}`);
    }
    const last = !pending.some((p) => p !== '' && p !== '.');
    if (!isLink || (last && !followLast)) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new ReproError('E_BAD_INPUT', `${what}: ${path}: too many levels of symbolic links`);
    const target = readlinkSync(at);
    if (target.startsWith('/')) done.length = 0;
    pending.push(...target.split('/').reverse());
  }
  return join(root, ...done);
}
