/**
 * Layers applied in order into one file system, as the OCI image spec says a runtime applies them:
 * `.wh.NAME` hides NAME (and what is under it) in the layers below; `.wh..wh..opq` hides everything
 * the layers below put in its directory; whiteouts never hide what their own layer adds; an entry
 * that is not a directory replaces whatever was at its path below, a directory with its content.
 * Pure over a map from path to whatever the caller keeps of an entry.
 */

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/** The last component of a cleaned path (`a/b` → `b`). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export type Whiteout = { opaque: true; dir: string } | { opaque: false; path: string };

/** What a cleaned path hides when it is a whiteout; undefined for an ordinary entry. */
export function whiteoutOf(path: string): Whiteout | undefined {
  const name = baseName(path);
  if (!name.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = parentOf(path);
  if (name === OPAQUE_WHITEOUT) return { opaque: true, dir };
  const hidden = name.slice(WHITEOUT_PREFIX.length);
  return { opaque: false, path: dir === '' ? hidden : `${dir}/${hidden}` };
}

/** One layer's changes, in the order its tar lists them. */
export interface LayerChanges<T> {
  whiteouts: Whiteout[];
  /**
   * Each entry: its path, whether it is a directory, and what to keep of it (undefined: nothing,
   * but it still replaces what was below). Read once, in order, by `apply`: a list, or made as it
   * is read (an object an entry, not held for the whole layer).
   */
  entries: Iterable<{ path: string; dir: boolean; value: T | undefined }>;
}

/**
 * A flattened file system being built layer by layer. `files` holds what callers keep; every
 * directory of every layer (named, or implied by a path below it) is remembered apart, so that a
 * non-directory replacing a directory removes the directory's content even when nothing of the
 * directory itself was kept.
 */
export class FlatFileSystem<T> {
  readonly files = new Map<string, T>();
  private readonly dirs = new Set<string>();
  /**
   * Every path ever put in `files` or `dirs`, under its parent's path, so that removing what is
   * under a directory visits only that subtree (a layer of N whiteouts over N files costs N, not
   * N²). A path removed otherwise may stay listed: it is dropped when its parent's subtree goes.
   * Made when something is first removed (a single layer, or layers that only add, never need it),
   * and kept up to date from then on.
   */
  private children: Map<string, Set<string>> | undefined;

  private link(children: Map<string, Set<string>>, path: string): void {
    const parent = parentOf(path);
    if (parent === path) return;
    let kids = children.get(parent);
    if (!kids) children.set(parent, (kids = new Set()));
    kids.add(path);
  }

  private index(): Map<string, Set<string>> {
    if (this.children) return this.children;
    const children = new Map<string, Set<string>>();
    for (const p of this.files.keys()) this.link(children, p);
    for (const p of this.dirs) this.link(children, p);
    this.children = children;
    return children;
  }

  private addFile(path: string, value: T): void {
    this.files.set(path, value);
    if (this.children) this.link(this.children, path);
  }

  private addDir(path: string): void {
    this.dirs.add(path);
    if (this.children) this.link(this.children, path);
  }

  /** Removes everything strictly below `dir` (the root: `''` or `'.'`, which stay). */
  private removeUnder(dir: string): void {
    const root = dir === '' || dir === '.';
    const stack = root ? ['', '.'] : [dir];
    const children = this.index();
    for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
      const kids = children.get(d);
      if (!kids) continue;
      children.delete(d);
      for (const p of kids) {
        if (p === '' || p === '.') continue;
        this.files.delete(p);
        this.dirs.delete(p);
        stack.push(p);
      }
    }
  }

  /** Removes a path and everything below it (a whiteout). */
  private hide(path: string): void {
    this.files.delete(path);
    this.dirs.delete(path);
    this.removeUnder(path);
  }

  private addParents(path: string): void {
    for (let p = parentOf(path); p !== '' && !this.dirs.has(p); p = parentOf(p)) this.addDir(p);
  }

  /** Forgets everything (the caller has taken what it keeps of the files). */
  clear(): void {
    this.files.clear();
    this.dirs.clear();
    this.children = undefined;
  }

  /**
   * Applies the next layer up: its whiteouts first, whatever their place in the layer, then its
   * entries. `between` sees the files as the whiteouts left them, before the entries (what a
   * hard link of the layer to a file below names).
   */
  apply(layer: LayerChanges<T>, between?: (files: ReadonlyMap<string, T>) => void): void {
    for (const w of layer.whiteouts) {
      if (w.opaque) this.removeUnder(w.dir);
      else this.hide(w.path);
    }
    between?.(this.files);
    for (const e of layer.entries) {
      if (e.dir) this.addDir(e.path);
      else if (this.dirs.has(e.path)) this.hide(e.path);
      this.files.delete(e.path);
      if (e.value !== undefined) this.addFile(e.path, e.value);
      this.addParents(e.path);
    }
  }
}
