/**
 * A directory's extended attributes, read through the fs-xattr native addon. fs-xattr is an ES
 * module, so it is loaded with import(): require() cannot load an ES module before Node 20.19.
 *
 * Nothing is dropped silently. When the addon does not load (not installed, not built for this
 * Node or CPU) or a file system cannot list a file's attributes (ENOTSUP: a FUSE, NFS or emulated
 * file system that cannot answer), the directory is refused with one line that names what to
 * install, or how to leave the attributes out knowingly (`--no-xattrs`, library option
 * `xattrs: false`). Symbolic links are not asked: fs-xattr follows links, and the attributes a link
 * may carry (SELinux labels) are host policy, never kept by the `xattrs` pass.
 */
import { ReproError, ioError } from '../../model/errors.js';

type Xattr = typeof import('fs-xattr');

export interface XattrReader {
  /** The attributes of `abs` sorted by name, or undefined when it has none. `where` names it in errors. */
  read(abs: string, where: string): Map<string, Buffer> | undefined;
}

let loading: Promise<Xattr> | undefined;

function firstLine(e: unknown): string {
  return (String((e as Error)?.message ?? e).split('\n')[0] ?? '').trim();
}

/**
 * Loads fs-xattr. `root` names the input in the error; `skip` says how the caller's user leaves
 * attributes out (e.g. "pass --no-xattrs to build without them"), or is empty where nothing can.
 */
export async function xattrReader(root: string, skip: string): Promise<XattrReader> {
  let lib: Xattr;
  try {
    lib = await (loading ??= import('fs-xattr'));
  } catch (e) {
    throw new ReproError('E_UNSUPPORTED',
      `${root}: cannot read extended attributes: the fs-xattr native addon does not load (${firstLine(e)}); ` +
      `install it with 'npm ci' or 'npm rebuild fs-xattr' where g++, make and python3 are present${skip ? `, or ${skip}` : ''}`,
      { cause: e });
  }
  return {
    read(abs, where) {
      let names: string[];
      try {
        names = lib.listAttributesSync(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          throw new ReproError('E_UNSUPPORTED',
            `${where}: the file system cannot list extended attributes (${code}), so those it holds cannot be read${skip ? `; ${skip}` : ''}`,
            { cause: e });
        }
        throw ioError(e, `${where}: cannot list extended attributes`);
      }
      if (names.length === 0) return undefined;
      const out = new Map<string, Buffer>();
      for (const name of names.sort()) {
        try {
          out.set(name, lib.getAttributeSync(abs, name));
        } catch (e) {
          throw ioError(e, `${where}: cannot read extended attribute ${name}`);
        }
      }
      return out;
    },
  };
}

/** Whether the fs-xattr addon loads on this host (for `repro-image version`). */
export async function xattrsAvailable(): Promise<boolean> {
  try {
    await (loading ??= import('fs-xattr'));
    return true;
  } catch {
    loading = undefined;
    return false;
  }
}
