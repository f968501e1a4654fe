/**
 * A directory that is new in a stage's live last layer, with everything below it, is moved whole
 * (one rename, then each entry's attributes) instead of entry by entry: the tree must be the same
 * as the entry-by-entry move makes (and as the layer's tar makes), walk for walk: modes, owners,
 * kept and dropped attributes, times, hard links, contents. And COPY --from a stage read once
 * (both moves) must give the same layer as the same COPY with nothing moved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, existsSync, lchownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naiveChanges } from '../../src/pipeline/containerfile/changes.js';
import { changeItems, itemEntries, type LayerItem } from '../../src/pipeline/containerfile/layer-tar.js';
import { applyLayers, type EntryLayer, type WalkAfter } from '../../src/pipeline/containerfile/stage.js';
import { walkTree, type FsNode } from '../../src/pipeline/containerfile/tree.js';
import { xattrReader, type XattrReader } from '../../src/sources/rootfs/xattrs.js';
import { CAP_NET_BIND_SERVICE } from '../helpers/fixtures.js';

import { tarLayer, writeTar } from '../helpers/layer-files.js';

const SDE = 1700000000;
const isRoot = process.getuid?.() === 0;
type Xattr = typeof import('fs-xattr');


/** A symlink's own attributes (fs-xattr follows links; an O_PATH fd does not). */
function linkAttrs(x: Xattr, abs: string): string[] {
  const fd = openSync(abs, 0o10000000 | constants.O_NOFOLLOW);
  try {
    return x.listAttributesSync(`/proc/self/fd/${fd}`).sort();
  } finally {
    closeSync(fd);
  }
}

function setLinkAttr(x: Xattr, abs: string, name: string, value: string): void {
  const fd = openSync(abs, 0o10000000 | constants.O_NOFOLLOW);
  try {
    x.setAttributeSync(`/proc/self/fd/${fd}`, name, Buffer.from(value));
  } finally {
    closeSync(fd);
  }
}

/** A tree as a walk sees it, without where it is: every field, hard links as groups, contents, links' own attributes. */
function shape(root: string, reader: XattrReader, x: Xattr): unknown[] {
  const groups = new Map<string, string>();
  return walkTree(root, reader).map((n: FsNode) => {
    const { abs, inode, xattrs, ...rest } = n;
    let link: string | undefined;
    if (inode !== undefined) {
      link = groups.get(inode);
      if (link === undefined) groups.set(inode, (link = n.path));
    }
    return {
      ...rest, link,
      xattrs: [...(xattrs ?? [])].map(([k, v]) => `${k}=${v.toString('hex')}`).sort(),
      ...(n.kind === 'file' ? { sha256: createHash('sha256').update(readFileSync(abs)).digest('hex') } : {}),
      ...(n.kind === 'symlink' ? { linkXattrs: linkAttrs(x, abs) } : {}),
    };
  });
}

/** The stage's tree before its last step (layer 1). */
function before(live: string): void {
  mkdirSync(join(live, 'etc'), { recursive: true });
  writeFileSync(join(live, 'etc/hostname'), 'host\n');
  writeFileSync(join(live, 'etc/gone'), 'removed by the step\n');
  mkdirSync(join(live, 'old/keep'), { recursive: true });
  writeFileSync(join(live, 'old/keep/file'), 'unchanged\n');
  writeFileSync(join(live, 'base-file'), 'a lower layer has it\n');
}

/** What the step does (layer 2): new directories with hard cases below them, and changes elsewhere. */
async function step(live: string, x: Xattr): Promise<void> {
  rmSync(join(live, 'etc/gone'));
  // A directory that is not new gets new children (a new file, a new directory).
  writeFileSync(join(live, 'old/new-child'), 'new in an old directory\n');
  mkdirSync(join(live, 'old/new-dir/deeper'), { recursive: true });
  writeFileSync(join(live, 'old/new-dir/deeper/f'), 'deep\n');
  // The new subtree.
  const n = (p: string): string => join(live, 'new', p);
  mkdirSync(n('sub/subsub'), { recursive: true });
  mkdirSync(n('empty'));
  mkdirSync(n('attrs-dir'));
  x.setAttributeSync(n('attrs-dir'), 'user.kept', Buffer.from('dir'));
  x.setAttributeSync(n('attrs-dir'), 'trusted.overlay.impure', Buffer.from('y'));
  writeFileSync(n('plain'), 'plain\n');
  writeFileSync(n('big.bin'), Buffer.alloc(3 << 20, 9));
  writeFileSync(n('suid-cap'), '#!/bin/sh\n');
  lchownSync(n('suid-cap'), 0, 50);
  chmodSync(n('suid-cap'), 0o4750);
  x.setAttributeSync(n('suid-cap'), 'security.capability', CAP_NET_BIND_SERVICE);
  writeFileSync(n('sub/attrs'), 'attrs\n');
  x.setAttributeSync(n('sub/attrs'), 'user.kept', Buffer.from('yes'));
  x.setAttributeSync(n('sub/attrs'), 'user.overlay.origin', Buffer.from('dropped'));
  x.setAttributeSync(n('sub/attrs'), 'trusted.dropped', Buffer.from('no'));
  writeFileSync(n('sub/owned'), 'someone else\n');
  lchownSync(n('sub/owned'), 1234, 5678);
  chmodSync(n('sub/owned'), 0o640);
  lchownSync(n('sub'), 1000, 1000);
  chmodSync(n('sub'), 0o2775);
  // Hard links inside the subtree, and across it (to a name outside, before and after it in order).
  writeFileSync(n('linked'), 'two names inside\n');
  linkSync(n('linked'), n('sub/subsub/linked-too'));
  writeFileSync(join(live, 'across'), 'a name outside first\n');
  linkSync(join(live, 'across'), n('across-in'));
  writeFileSync(n('sub/across-out'), 'a name inside first\n');
  linkSync(n('sub/across-out'), join(live, 'zz-across'));
  // Symlinks, a fifo, a device.
  symlinkSync('../plain', n('sub/link'));
  symlinkSync('/nowhere', n('dangling'));
  execFileSync('mknod', [n('fifo'), 'p']);
  execFileSync('mknod', [n('null'), 'c', '1', '3']);
  // Times: before 1970, after SOURCE_DATE_EPOCH, nanoseconds.
  utimesSync(n('plain'), new Date('1960-01-01T00:00:00.5Z'), new Date('1960-01-01T00:00:00.5Z'));
  utimesSync(n('big.bin'), SDE + 1000.25, SDE + 1000.25);
  utimesSync(n('sub/attrs'), SDE - 1000.75, SDE - 1000.75);
  lutimesSync(n('sub/link'), new Date('1969-12-31T23:59:59Z'), new Date('1969-12-31T23:59:59Z'));
  utimesSync(n('sub/subsub'), new Date('1950-06-01T00:00:00Z'), new Date('1950-06-01T00:00:00Z'));
  utimesSync(n('empty'), SDE + 5, SDE + 5);
  // New directories that must not move whole: a socket below one (a walk leaves it out), a
  // symlink with an attribute of its own below another.
  mkdirSync(join(live, 'new-sock'));
  writeFileSync(join(live, 'new-sock/file'), 'beside a socket\n');
  const server = createServer();
  await new Promise<void>((done) => server.listen(join(live, 'new-sock/sock'), done));
  await new Promise<void>((done) => server.close(() => done()));
  if (!existsSync(join(live, 'new-sock/sock'))) {
    // This Node removed it on close: make one that stays.
    execFileSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(live, 'new-sock/sock'))})`]);
  }
  mkdirSync(join(live, 'new-linkattr'));
  symlinkSync('target', join(live, 'new-linkattr/link'));
  setLinkAttr(x, join(live, 'new-linkattr/link'), 'trusted.link', 'own');
  utimesSync(join(live, 'new'), SDE + 60, SDE + 60);
}

test('a new directory moved whole gives the tree the entry-by-entry move (and the tar) gives', { skip: !isRoot && 'needs root (owners, devices, trusted.* attributes)' }, async () => {
  const reader = await xattrReader('/tmp', '');
  const x = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'subtree-move-'));
  try {
    // Two identical live directories: one for each way of moving.
    const lives = ['live-a', 'live-b'].map((d) => join(work, d));
    const items: LayerItem[][] = [];
    for (const live of lives) {
      before(live);
      const first = walkTree(live, reader);
      if (live === lives[0]) await writeTar(first.map((node) => ({ node })), join(work, 'layer1.tar'), SDE);
      await step(live, x);
      items.push(changeItems(naiveChanges(first, walkTree(live, reader))));
    }
    assert.ok(items[0]!.some((i) => 'whiteout' in i), 'the layer has a whiteout');
    await writeTar(items[0]!, join(work, 'layer2.tar'), SDE);

    const viaTar = join(work, 'via-tar');
    await applyLayers(viaTar, [tarLayer(join(work, 'layer1.tar'), 1), tarLayer(join(work, 'layer2.tar'), 2)], 'tar');
    const expected = shape(viaTar, reader, x);

    const perEntry = join(work, 'per-entry');
    const a: EntryLayer = { where: 'per entry', entries: () => itemEntries(items[0]!, SDE, { from: lives[0], move: true }) };
    await applyLayers(perEntry, [tarLayer(join(work, 'layer1.tar'), 1), a], 'per entry');

    const whole = join(work, 'whole');
    const b: EntryLayer = { where: 'whole', entries: () => itemEntries(items[1]!, SDE, { from: lives[1], move: true, xattrs: reader }) };
    await applyLayers(whole, [tarLayer(join(work, 'layer1.tar'), 1), b], 'whole');

    assert.deepEqual(shape(perEntry, reader, x), expected);
    assert.deepEqual(shape(whole, reader, x), expected);
    // The new directories moved whole (gone from the live directory), those that may not stayed.
    assert.ok(existsSync(join(lives[0]!, 'new/sub')), 'entry by entry: the directories stay behind');
    for (const d of ['new', 'old/new-dir']) assert.ok(!existsSync(join(lives[1]!, d)), `${d} moved whole`);
    for (const d of ['new-sock', 'new-linkattr']) assert.ok(existsSync(join(lives[1]!, d)), `${d} not moved whole`);
    assert.ok(existsSync(join(lives[1]!, 'new-sock/sock')), 'the socket stays behind');
    assert.ok(!existsSync(join(whole, 'new-sock/sock')), 'no socket in the applied tree');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('COPY --from a stage read once (moved: its live layer, then the image, whole directories at a time) gives the layer the same COPY gives with nothing moved', { skip: !isRoot && 'needs root (owners, devices)' }, async () => {
  const { buildContainerfile } = await import('../../src/pipeline/containerfile/build.js');
  const x = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'subtree-move-build-'));
  try {
    const t = (p: string): string => join(work, 'tree', p);
    mkdirSync(t('usr/bin'), { recursive: true });
    mkdirSync(t('usr/lib/deep/er'), { recursive: true });
    mkdirSync(t('empty'), { recursive: true });
    writeFileSync(t('usr/bin/tool'), 'tool\n');
    writeFileSync(t('usr/bin/suid-cap'), '#!/bin/sh\n');
    chmodSync(t('usr/bin/suid-cap'), 0o4755);
    x.setAttributeSync(t('usr/bin/suid-cap'), 'security.capability', CAP_NET_BIND_SERVICE);
    writeFileSync(t('usr/lib/deep/er/lib.so'), Buffer.alloc(2 << 20, 3));
    linkSync(t('usr/bin/tool'), t('usr/lib/tool-again'));
    writeFileSync(t('attrs'), 'attrs\n');
    x.setAttributeSync(t('attrs'), 'user.kept', Buffer.from('yes'));
    x.setAttributeSync(t('usr/lib'), 'user.dir', Buffer.from('d'));
    writeFileSync(t('usr/lib/owned'), 'owned\n');
    lchownSync(t('usr/lib/owned'), 1234, 5678);
    lchownSync(t('usr/lib/deep'), 99, 98);
    symlinkSync('bin/tool', t('usr/tool-link'));
    execFileSync('mknod', [t('usr/fifo'), 'p']);
    utimesSync(t('usr/lib/deep/er/lib.so'), new Date('1960-01-01T00:00:00.5Z'), new Date('1960-01-01T00:00:00.5Z'));
    utimesSync(t('usr/bin/tool'), SDE + 999.5, SDE + 999.5);
    utimesSync(t('usr/lib/deep/er'), SDE - 10.25, SDE - 10.25);
    utimesSync(t('usr/lib/deep'), new Date('1950-01-01T00:00:00Z'), new Date('1950-01-01T00:00:00Z'));
    const layers = async (name: string, stage: string[], lines: string[]): Promise<string[]> => {
      writeFileSync(join(work, name), ['FROM scratch AS a', ...stage, 'FROM scratch', ...lines, ''].join('\n'));
      const r = await buildContainerfile({ containerfile: join(work, name), compat: 'podman', sourceDateEpoch: SDE, compression: 'none', output: { transport: 'oci', path: join(work, `out-${name}`) } });
      return r.layers.map((l) => l.diffId);
    };
    // /data new in the stage's last layer (with no layer below it; with one below it that has
    // nothing of /data, which is then not read); /data there before, /data/extra new.
    const stages = [['COPY tree/ /data/'], ['COPY tree/ /other/', 'COPY tree/ /data/'], ['COPY tree/ /data/', 'COPY tree/usr/ /data/extra/']];
    for (const stage of stages) {
      for (const copy of ['COPY --from=a /data/ /', 'COPY --from=a --chown=7:8 /data/ /']) {
        const moved = await layers('Moved', stage, [copy]);
        // The same image read twice: nothing is moved.
        const copied = await layers('Copied', stage, [copy, copy]);
        assert.equal(moved.length, 1);
        assert.equal(moved[0], copied[0], `${stage.join(', ')}: ${copy}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the walk a move vouches for (an apply into an empty directory, a COPY of it moved again) is the walk of the tree', { skip: !isRoot && 'needs root (owners, devices, trusted.* attributes)' }, async () => {
  const reader = await xattrReader('/tmp', '');
  const x = await import('fs-xattr');
  const { putEntries } = await import('../../src/pipeline/containerfile/copier.js');
  const { treeEntries } = await import('../../src/pipeline/containerfile/tree-entries.js');
  const work = mkdtempSync(join(tmpdir(), 'subtree-move-walk-'));
  try {
    const variants: Array<{ name: string; chown?: { uid: number; gid: number }; chmod?: string; retouch?: boolean }> = [
      { name: 'plain' }, { name: 'chown', chown: { uid: 7, gid: 8 } }, { name: 'chmod', chmod: '640' }, { name: 'retouched', retouch: true },
    ];
    for (const v of variants) {
      const live = join(work, `live-${v.name}`);
      before(live);
      await step(live, x);
      // Every node new in one layer, moved (whole directories where they may) into an empty directory.
      const items = changeItems(naiveChanges([], walkTree(live, reader)));
      const image = join(work, `image-${v.name}`);
      const walk: WalkAfter = { reader };
      await applyLayers(image, [{ where: v.name, entries: () => itemEntries(items, SDE, { move: true, xattrs: reader }) }], v.name, undefined, walk);
      assert.ok(walk.nodes, `${v.name}: the apply vouches for its walk`);
      assert.deepEqual(walk.nodes, walkTree(image, reader), `${v.name}: the apply's walk`);
      let walked = walk.nodes;
      if (v.retouch) {
        // Times that are not whole seconds, and an attribute the entry does not set: read, not known.
        utimesSync(join(image, 'new/sub/attrs'), SDE - 5.5, SDE - 5.5);
        utimesSync(join(image, 'new/sub'), SDE - 7.25, SDE - 7.25);
        x.setAttributeSync(join(image, 'new/plain'), 'trusted.host', Buffer.from('h'));
        walked = walkTree(image, reader);
      }
      // A COPY of it into an empty stage root, moved again (the inodes as walked).
      const root = join(work, `root-${v.name}`);
      mkdirSync(root);
      const fields = v.chmod !== undefined ? { chmod: v.chmod } : {};
      const nodes = await putEntries(root, treeEntries(image, '', fields as never, v.chown, { move: true, walked, plain: true, xattrs: reader }), { where: v.name, walk: reader });
      assert.ok(nodes, `${v.name}: the COPY vouches for its walk`);
      assert.deepEqual(nodes, walkTree(root, reader), `${v.name}: the COPY's walk`);
      assert.ok(!existsSync(join(image, 'new')), `${v.name}: moved whole`);
    }
    // Where it cannot vouch: a destination that is not empty, a layer with a whiteout.
    const full = join(work, 'full');
    mkdirSync(join(full, 'there'), { recursive: true });
    assert.equal(await putEntries(full, [{ path: 'f', kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: SDE, body: async function* () { yield Buffer.from('x'); } }], { where: 'full', walk: reader }), undefined);
    const w: WalkAfter = { reader };
    await applyLayers(join(work, 'whiteout'), [{ where: 'wh', entries: () => [{ path: 'a', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: SDE }, { path: 'a/.wh.b', kind: 'file', mode: 0, uid: 0, gid: 0, mtime: SDE }] }], 'wh', undefined, w);
    assert.equal(w.nodes, undefined);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
