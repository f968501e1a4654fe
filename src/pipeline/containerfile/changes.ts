/**
 * What changed in a stage's root file system between two commits, as containers/storage's "naive
 * diff" (the vfs driver, and any driver without a native diff) computes it: `ChangesDirs` walks
 * the new tree against the old, reports additions, modifications and deletions, adds every
 * directory that has a change inside it, and sorts the list by path. docs/podman-compat-facts.md
 * §2.12 has the rules this follows and the evidence.
 */
import { comparePaths } from '../../model/byte-order.js';
import type { FsNode } from './tree.js';

export type Change = { kind: 'add' | 'modify'; node: FsNode } | { kind: 'delete'; path: string };

/** The extended attributes containers/storage compares: security.capability and user.*. */
function comparedXattrs(n: FsNode): string {
  if (!n.xattrs) return '';
  return [...n.xattrs].filter(([k]) => k === 'security.capability' || k.startsWith('user.'))
    .map(([k, v]) => `${k}=${v.toString('hex')}`).join(',');
}

/** Same mtime: the same second and the same nanoseconds, or either side without nanoseconds. */
function sameTime(a: FsNode, b: FsNode): boolean {
  return a.mtimeSec === b.mtimeSec && (a.mtimeNsec === b.mtimeNsec || a.mtimeNsec === 0 || b.mtimeNsec === 0);
}

export function nodeChanged(a: FsNode, b: FsNode): boolean {
  return a.kind !== b.kind || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid
    || a.devmajor !== b.devmajor || a.devminor !== b.devminor
    || !sameTime(a, b)
    || (b.kind !== 'dir' && a.size !== b.size)
    || a.linkTarget !== b.linkTarget
    || comparedXattrs(a) !== comparedXattrs(b);
}

interface TreeNode {
  node?: FsNode;
  children: Map<string, TreeNode>;
  /** Already reported (added or modified): changes inside it do not report it again. */
  added?: boolean;
}

function buildTree(nodes: Iterable<FsNode>): TreeNode {
  const root: TreeNode = { children: new Map() };
  // Each path's tree node, so that a node's parent is one lookup (a walk lists a directory
  // before what is in it; a parent not listed yet is made on the way, as by path).
  const at = new Map<string, TreeNode>([['', root]]);
  const treeNode = (path: string): TreeNode => {
    let t = at.get(path);
    if (t) return t;
    const i = path.lastIndexOf('/');
    const parent = treeNode(i < 0 ? '' : path.slice(0, i));
    const name = i < 0 ? path : path.slice(i + 1);
    t = parent.children.get(name);
    if (!t) {
      t = { children: new Map() };
      parent.children.set(name, t);
    }
    at.set(path, t);
    return t;
  };
  for (const n of nodes) treeNode(n.path).node = n;
  return root;
}

/**
 * The changes from `before` to `after` (both complete listings of one root, the root itself left
 * out), sorted as containers/storage sorts them: by path, a deletion at the path it deletes.
 */
export function naiveChanges(before: Iterable<FsNode>, after: Iterable<FsNode>): Change[] {
  const changes: Change[] = [];
  // containers/storage's FileInfo.addChanges, node for node.
  const addChanges = (info: TreeNode, oldInfo: TreeNode | undefined, isRoot: boolean): void => {
    const sizeAtEntry = changes.length;
    if (!oldInfo && !isRoot) {
      changes.push({ kind: 'add', node: info.node! });
      info.added = true;
    }
    // Only a directory inherits its old children: a file in place of a directory hides them.
    const oldChildren = new Map(oldInfo && (isRoot || info.node?.kind === 'dir') ? oldInfo.children : []);
    for (const [name, newChild] of info.children) {
      const oldChild = oldChildren.get(name);
      if (oldChild) {
        if (nodeChanged(oldChild.node!, newChild.node!)) {
          changes.push({ kind: 'modify', node: newChild.node! });
          newChild.added = true;
        }
        oldChildren.delete(name);
      }
      addChanges(newChild, oldChild, false);
    }
    for (const oldChild of oldChildren.values()) changes.push({ kind: 'delete', path: oldChild.node!.path });
    // A directory with changes inside is in the layer, changed or not (to keep its permissions).
    if (changes.length > sizeAtEntry && !isRoot && info.node?.kind === 'dir' && !info.added) {
      changes.splice(sizeAtEntry, 0, { kind: 'modify', node: info.node });
    }
  };
  addChanges(buildTree(after), buildTree(before), true);
  const key = (c: Change): string => `/${c.kind === 'delete' ? c.path : c.node.path}`;
  // (comparePaths: the UTF-8 byte order, without encoding each path at each comparison.)
  return changes.sort((a, b) => comparePaths(key(a), key(b)));
}
