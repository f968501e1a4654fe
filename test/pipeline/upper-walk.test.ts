/**
 * The walk after a step on an overlay stage root (upper-walk.ts) is exactly the full walk
 * (tree.ts `walkTree`): a lower tree with files, directories, symbolic links, hard links, user.*
 * attributes, a fifo and a device is mounted, changed through the mount step by step, and after
 * each step `walkAfter` from the walk before must equal `walkTree`, and must not have walked the
 * whole root where the upper directory alone says what changed. Needs root and overlay; skips
 * otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, linkSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fsx from 'fs-xattr';
import { overlayAvailable } from '../../src/fs/overlay.js';
import { unmountBelow } from '../../src/fs/mounts.js';
import { mountOnTree, overlayOverItself, type OverlayRoot } from '../../src/pipeline/containerfile/overlay-root.js';
import { walkTree, type FsNode } from '../../src/pipeline/containerfile/tree.js';
import { comparePaths } from '../../src/model/byte-order.js';
import { adoptWalk, mergeWalk, NeedFullWalk, showsAsLower, walkAfter, walkAfterExplained, type UpperChild } from '../../src/pipeline/containerfile/upper-walk.js';
import { xattrReader, type XattrReader } from '../../src/sources/rootfs/xattrs.js';

const why = overlayAvailable() ? undefined : 'overlay mounts need root and the overlay file system';
const dirs: string[] = [];
const OLD = new Date('2001-02-03T04:05:06.789Z');

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'pipe' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/**
 * A lower tree with every kind the walk knows, mounted; its own temporary directory. `itself`:
 * the tree is made as the stage directory and put on an overlay over itself (overlayOverItself),
 * and `plain` is its walk before, adopted as a walk of the mount.
 */
function mounted(how: { itself?: XattrReader } = {}): { root: string; o: OverlayRoot; adopted?: FsNode[] } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'upper-walk-')));
  dirs.push(dir);
  const lower = join(dir, how.itself ? 'stage' : 'lower');
  const files: Record<string, string> = {
    'a/f1': 'one\n', 'a/f2': 'two\n', 'a/f3': 'three\n', 'a/sub/deep/file': 'deep\n', 'a-c': 'dash\n',
    'b/hl1': 'linked\n', 'd/x': 'x\n', 'd/y/z': 'z\n', 'e/1': '1\n', 'm/k': 'k\n', 'm/n/o': 'o\n',
    'x/\uff01': 'fullwidth\n', 'solo': 'solo\n', 'p/k': 'k\n', 'p/n/o': 'o\n',
  };
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(lower, p, '..'), { recursive: true });
    writeFileSync(join(lower, p), content);
  }
  mkdirSync(join(lower, 'c'));
  mkdirSync(join(lower, 'q'));
  linkSync(join(lower, 'b/hl1'), join(lower, 'c/hl2'));
  symlinkSync('f1', join(lower, 'a/link'));
  symlinkSync('/nowhere', join(lower, 'dangling'));
  run('mkfifo', join(lower, 'a/pipe'));
  run('mknod', join(lower, 'a/null'), 'c', '1', '3');
  fsx.setAttributeSync(join(lower, 'a/f2'), 'user.x', 'value');
  fsx.setAttributeSync(join(lower, 'a'), 'user.dir', Buffer.from([0, 1, 2]));
  chmodSync(join(lower, 'a/f3'), 0o4755);
  // Old times everywhere, so that any change of one is seen.
  for (const n of walkTree(lower, undefined)) if (n.kind !== 'symlink') utimesSync(n.abs, OLD, OLD);
  if (how.itself) {
    const plain = walkTree(lower, how.itself);
    assert.ok(showsAsLower(plain), 'nothing in the tree that the overlay reads as its own');
    const o = overlayOverItself(lower);
    assert.ok(o, 'mounted over itself');
    const adopted = adoptWalk(plain, o);
    assert.ok(adopted, 'the walk of the plain directory adopted');
    return { root: o.root, o, adopted };
  }
  const o = mountOnTree(join(dir, 'stage'), lower);
  assert.ok(o, 'mounted');
  return { root: o.root, o };
}

/**
 * A stepper: each call walks after the change, compares with the full walk, and says whether the
 * whole root was walked.
 */
function stepper(root: string, o: OverlayRoot, x: XattrReader, start?: FsNode[]): (what: string, expectFull?: RegExp) => FsNode[] {
  let before: FsNode[] | undefined = start;
  return (what, expectFull) => {
    const got = walkAfterExplained(root, o, before, x);
    const want = walkTree(root, x);
    assert.deepEqual(got.nodes, want, `${what}: the walk after is the full walk`);
    if (expectFull) assert.match(got.fullWalk ?? '', expectFull, `${what}: walked the whole root`);
    else assert.equal(got.fullWalk, undefined, `${what}: walked only what the upper directory holds`);
    before = got.nodes;
    return got.nodes;
  };
}

test('comparePaths, which orders the merge: UTF-8 byte order', () => {
  const names = ['a', 'a-c', 'a/b', '\uff01', '\u{1f600}', '\u00e9', 'b', 'ab', ''];
  const byBytes = [...names].sort((p, q) => Buffer.compare(Buffer.from(p), Buffer.from(q)));
  assert.deepEqual([...names].sort(comparePaths), byBytes);
});

/** A node for the merge's own tests: only the path, the kind and a tag that says where it came from. */
function fake(path: string, kind: FsNode['kind'], from: string): FsNode {
  return { path, abs: `/${from}/${path}`, kind, mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0, devmajor: 0, devminor: 0 };
}

test('mergeWalk: the walk before where the upper directory holds nothing, the mount where it does (no mount needed)', () => {
  const before = [
    fake('a', 'dir', 'before'), fake('a/gone', 'file', 'before'), fake('a/kept', 'file', 'before'), fake('a/made', 'file', 'before'),
    fake('a/sub', 'dir', 'before'), fake('a/sub/x', 'file', 'before'),
    fake('b', 'dir', 'before'), fake('b/y', 'file', 'before'),
    fake('o', 'dir', 'before'), fake('o/hidden', 'file', 'before'),
    fake('w', 'dir', 'before'), fake('w/z', 'file', 'before'),
  ];
  // The upper directory: a/ (copied up) with a whiteout for a/gone, a/made removed since the walk
  // before (it was in the upper directory then), a/new added; o/ opaque; w/ whited out; n/ new.
  const listing: Record<string, UpperChild[]> = {
    '': [{ name: 'a', kind: 'dir' }, { name: 'n', kind: 'dir' }, { name: 'o', kind: 'dir' }, { name: 'w', kind: 'whiteout' }],
    a: [{ name: 'gone', kind: 'whiteout' }, { name: 'new', kind: 'other' }],
  };
  const opaque = new Set(['o']);
  const mountTree: Record<string, FsNode['kind']> = { a: 'dir', 'a/new': 'file', n: 'dir', 'n/1': 'file', o: 'dir', 'o/only': 'file' };
  const asked: string[] = [];
  const walkedWhole: string[] = [];
  const mount = {
    stat: (p: string) => { asked.push(p); const k = mountTree[p]; return k ? fake(p, k, 'mount') : undefined; },
    walkBelow: (p: string, out: FsNode[]) => {
      walkedWhole.push(p);
      for (const [q, k] of Object.entries(mountTree)) if (q.startsWith(`${p}/`)) out.push(fake(q, k, 'mount'));
    },
  };
  const upper = { list: (rel: string) => listing[rel] ?? [], flags: (rel: string) => ({ opaque: opaque.has(rel), redirect: false }) };
  const r = mergeWalk(before, new Set(['a', 'a/made', 'o', 'o/hidden']), upper, mount);
  assert.deepEqual(r.nodes.map((n) => n.abs), [
    '/mount/a', '/before/a/kept', '/mount/a/new', '/before/a/sub', '/before/a/sub/x',
    '/before/b', '/before/b/y',
    '/mount/n', '/mount/n/1',
    '/mount/o', '/mount/o/only',
  ]);
  assert.deepEqual(asked.sort(), ['a', 'a/made', 'a/new', 'n', 'o'], 'the mount asked about the upper directory\'s paths only');
  assert.deepEqual(walkedWhole, ['n', 'o'], 'the new and the opaque directory walked whole');
  assert.deepEqual([...r.upper].sort(), ['a', 'a/gone', 'a/new', 'n', 'n/1', 'o', 'o/only', 'w']);
  // A path the upper directory held and no longer holds, but the mount still shows: not sure.
  mountTree['a/made'] = 'file';
  assert.throws(() => mergeWalk(before, new Set(['a/made']), upper, mount), NeedFullWalk);
});

/** Every kind of change through the mount, one after another, each walked by `step`. */
function everyChange(root: string, step: (what: string, expectFull?: RegExp) => FsNode[], first: FsNode[]): FsNode[] {
  const r = (p: string): string => join(root, p);
  let last = first;
  const changed = (what: string): void => {
    const now = step(what);
    assert.notDeepEqual(now, last, `${what}: the change is seen`);
    last = now;
  };
  // Files and directories added, in lower directories and in new ones.
  writeFileSync(r('new-file'), 'new\n');
  mkdirSync(r('newdir/inner'), { recursive: true });
  writeFileSync(r('newdir/inner/f'), 'f\n');
  writeFileSync(r('a/added'), 'added\n');
  writeFileSync(r('x/\u{1f600}'), 'emoji\n');
  changed('files and directories added');
  appendFileSync(r('a/f1'), 'more\n');
  changed('a lower file written');
  chmodSync(r('a/sub/deep/file'), 0o600);
  changed('a lower file chmod-ed');
  chmodSync(r('a/pipe'), 0o600);
  changed('a lower fifo chmod-ed');
  utimesSync(r('a/sub'), new Date('2010-01-01T00:00:00Z'), new Date('2010-01-01T00:00:00.5Z'));
  changed('a lower directory touched');
  unlinkSync(r('a/f2'));
  changed('a lower file removed');
  rmSync(r('d'), { recursive: true });
  changed('a lower directory removed with its files');
  rmSync(r('e'), { recursive: true });
  mkdirSync(r('e'));
  writeFileSync(r('e/new'), 'new\n');
  changed('a lower directory removed and made again (opaque)');
  renameSync(r('m'), r('m2'));
  changed('a lower directory renamed (redirect)');
  writeFileSync(r('m2/n/added'), 'added\n');
  changed('a file added below the renamed directory');
  renameSync(r('p'), r('q'));
  changed('a lower directory renamed over an empty one of the walk before (redirect)');
  fsx.setAttributeSync(r('a/f3'), 'user.new', 'v');
  changed('an attribute set on a lower file');
  fsx.setAttributeSync(r('a'), 'user.dir', 'changed');
  changed('an attribute of a lower directory changed');
  mkdirSync(r('newdir2/sub'), { recursive: true });
  writeFileSync(r('newdir2/sub/g'), 'g\n');
  changed('a new directory with files');
  unlinkSync(r('newdir2/sub/g'));
  changed('a file in the directory the step before made removed');
  unlinkSync(r('newdir/inner/f'));
  changed('a file in a directory an earlier step made removed');
  unlinkSync(r('new-file'));
  changed('a file an earlier step made removed');
  rmSync(r('newdir'), { recursive: true });
  changed('a directory an earlier step made removed');
  rmSync(r('a/sub'), { recursive: true });
  writeFileSync(r('a/sub'), 'now a file\n');
  changed('a lower directory replaced by a file');
  unlinkSync(r('solo'));
  mkdirSync(r('solo'));
  writeFileSync(r('solo/in'), 'in\n');
  changed('a lower file replaced by a directory');
  linkSync(r('a/added'), r('a/added-link'));
  changed('a hard link made between files of the upper directory');
  run('mkfifo', r('a/new-pipe'));
  symlinkSync('added', r('a/new-link'));
  changed('a fifo and a symlink added');
  assert.deepEqual(step('nothing changed'), last);
  return last;
}

test('walkAfter: every change through the mount, the walk after equals the full walk', async (t) => {
  if (why) return t.skip(why);
  const { root, o } = mounted();
  const x = await xattrReader(root, '');
  const step = stepper(root, o, x);
  step('the first walk', /no walk before/);
  const last = everyChange(root, step, step('nothing changed yet'));
  assert.deepEqual(walkAfter(root, o, last, x), walkTree(root, x), 'walkAfter is walkAfterExplained\'s nodes');
});

test('overlayOverItself: the walk of the plain directory, adopted, is the walk of the mount, and every change after is walked from it', async (t) => {
  if (why) return t.skip(why);
  const x = await xattrReader(tmpdir(), '');
  const { root, o, adopted } = mounted({ itself: x });
  assert.deepEqual(adopted, walkTree(root, x), 'the adopted walk is the full walk of the mount (hard links keyed on its device)');
  assert.ok(adopted!.some((n) => n.inode !== undefined), 'the tree has a hard link');
  const step = stepper(root, o, x, adopted);
  everyChange(root, step, step('nothing changed yet'));
});

test('overlayOverItself: a hard link written through one name after the adopted walk: the whole root, as walked', async (t) => {
  if (why) return t.skip(why);
  const x = await xattrReader(tmpdir(), '');
  const { root, o, adopted } = mounted({ itself: x });
  const step = stepper(root, o, x, adopted);
  appendFileSync(join(root, 'c/hl2'), 'more\n');
  const after = step('write the second name', /hard.link/);
  assert.equal(after.find((n) => n.path === 'b/hl1')?.size, 'linked\nmore\n'.length, 'the other name changed too');
});

test('showsAsLower: a tree with a whiteout device or an overlay attribute is not put on an overlay over itself', async (t) => {
  if (why) return t.skip(why);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'upper-walk-')));
  dirs.push(dir);
  const x = await xattrReader(dir, '');
  writeFileSync(join(dir, 'f'), 'f\n');
  mkdirSync(join(dir, 'd'));
  fsx.setAttributeSync(join(dir, 'f'), 'user.kept', 'v');
  assert.equal(showsAsLower(walkTree(dir, x)), true, 'plain files, a user.* attribute');
  for (const [name, attr] of [['trusted.overlay.opaque', 'y'], ['user.overlay.opaque', 'y'], ['trusted.overlay.whiteout', '']] as const) {
    fsx.setAttributeSync(join(dir, 'd'), name, attr);
    assert.equal(showsAsLower(walkTree(dir, x)), false, name);
    fsx.removeAttributeSync(join(dir, 'd'), name);
  }
  run('mknod', join(dir, 'wh'), 'c', '0', '0');
  assert.equal(showsAsLower(walkTree(dir, x)), false, 'a character device 0/0');
  unlinkSync(join(dir, 'wh'));
  run('mknod', join(dir, 'null'), 'c', '1', '3');
  assert.equal(showsAsLower(walkTree(dir, x)), true, 'another device');
});

test('walkAfter: a walk before that is not one of this mount: the whole root', async (t) => {
  if (why) return t.skip(why);
  const { root, o } = mounted();
  const x = await xattrReader(root, '');
  const plain = walkTree(root, x);
  writeFileSync(join(root, 'added'), 'added\n');
  const got = walkAfterExplained(root, o, plain, x);
  assert.match(got.fullWalk ?? '', /not one of this mount/);
  assert.deepEqual(got.nodes, walkTree(root, x));
});

test('walkAfter: lower hard links written, linked or removed through one name: the whole root, as walked', async (t) => {
  if (why) return t.skip(why);
  for (const change of ['write the second name', 'remove one name', 'link a lower file'] as const) {
    const { root, o } = mounted();
    const x = await xattrReader(root, '');
    const step = stepper(root, o, x);
    step('the first walk', /no walk before/);
    writeFileSync(join(root, 'a/added'), 'added\n');
    step('a file added');
    if (change === 'write the second name') appendFileSync(join(root, 'c/hl2'), 'more\n');
    else if (change === 'remove one name') unlinkSync(join(root, 'b/hl1'));
    else linkSync(join(root, 'solo'), join(root, 'a/solo-link'));
    const after = step(change, /hard.link/);
    if (change === 'write the second name') assert.equal(after.find((n) => n.path === 'b/hl1')?.size, 'linked\nmore\n'.length, 'the other name changed too');
    if (change === 'remove one name') assert.equal(after.find((n) => n.path === 'c/hl2')?.inode, undefined, 'the other name is no longer a hard link');
    writeFileSync(join(root, 'a/added2'), 'added\n');
    step(`a file added after: ${change}`, /hard.link/);
  }
});

test.after(() => {
  for (const d of dirs) {
    unmountBelow(d);
    rmSync(d, { recursive: true, force: true });
  }
});
