/**
 * A stage's last layer is applied from its live directory (layer-tar.ts `itemEntries`) instead of
 * its tar written and read back: both ways must make the same tree, file for file and field for
 * field, for the hard cases (times on both sides of SOURCE_DATE_EPOCH and before 1970, nanosecond
 * times, hard links, set-id bits, kept and dropped extended attributes, devices, a fifo, long and
 * non-ASCII names, files above the read-at-once size, a whiteout). With `move`, the files come out
 * of the live directory and the tree is still the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naiveChanges } from '../../src/pipeline/containerfile/changes.js';
import { changeItems, itemEntries, type LayerItem } from '../../src/pipeline/containerfile/layer-tar.js';
import { applyLayers, subtreeFilter, type EntryLayer } from '../../src/pipeline/containerfile/stage.js';
import { walkTree, type FsNode } from '../../src/pipeline/containerfile/tree.js';
import { xattrReader } from '../../src/sources/rootfs/xattrs.js';
import { makeTar } from '../helpers/tar-maker.js';

import { tarLayer, writeTar } from '../helpers/layer-files.js';

const SDE = 1700000000;
const isRoot = process.getuid?.() === 0;


/** What a tree is, without where it is (abs) or which inode numbers it got (hard links as groups). */
function shape(nodes: FsNode[]): unknown[] {
  const groups = new Map<string, string>();
  return nodes.map((n) => {
    const { abs: _abs, inode, xattrs, ...rest } = n;
    let link: string | undefined;
    if (inode !== undefined) {
      link = groups.get(inode);
      if (link === undefined) groups.set(inode, (link = n.path));
    }
    return { ...rest, link, xattrs: [...(xattrs ?? [])].map(([k, v]) => `${k}=${v.toString('hex')}`).sort() };
  });
}

test('a live last layer applies as its tar does (and moved out of its directory, too)', { skip: !isRoot && 'needs root (devices, owners)' }, async () => {
  const xattrs = await xattrReader('/tmp', '');
  const { setAttributeSync } = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'materialise-'));
  try {
    const live = join(work, 'live');
    mkdirSync(join(live, 'etc/deep/er'), { recursive: true });
    writeFileSync(join(live, 'etc/hostname'), 'old\n');
    writeFileSync(join(live, 'etc/gone'), 'to be removed\n');
    writeFileSync(join(live, 'etc/deep/er/big.bin'), Buffer.alloc(3 << 20, 7));
    writeFileSync(join(live, 'setuid'), '#!/bin/sh\n');
    chmodSync(join(live, 'setuid'), 0o4755);
    writeFileSync(join(live, 'linked'), 'two names\n');
    linkSync(join(live, 'linked'), join(live, 'etc/linked-too'));
    writeFileSync(join(live, `${'n'.repeat(150)}-café`), 'long name\n');
    symlinkSync(`../${'t'.repeat(120)}`, join(live, 'etc/long-link'));
    writeFileSync(join(live, 'attrs'), 'x');
    setAttributeSync(join(live, 'attrs'), 'user.kept', Buffer.from('yes'));
    setAttributeSync(join(live, 'attrs'), 'trusted.dropped', Buffer.from('no'));
    execFileSync('mknod', [join(live, 'null'), 'c', '1', '3']);
    execFileSync('mknod', [join(live, 'fifo'), 'p']);
    writeFileSync(join(live, 'future'), 'later than the epoch');
    utimesSync(join(live, 'future'), SDE + 1000.25, SDE + 1000.25);
    writeFileSync(join(live, 'past'), 'earlier, with nanoseconds');
    utimesSync(join(live, 'past'), SDE - 1000.75, SDE - 1000.75);
    writeFileSync(join(live, 'nineteen-sixty'), 'before 1970');
    utimesSync(join(live, 'nineteen-sixty'), new Date('1960-01-01T00:00:00.5Z'), new Date('1960-01-01T00:00:00.5Z'));

    // Layer 1 (a whole tree, as a tar), then changes to it (layer 2, as a tar and as live items).
    const first = walkTree(live, xattrs);
    await writeTar(first.map((node) => ({ node })), join(work, 'layer1.tar'), SDE);
    rmSync(join(live, 'etc/gone'));
    writeFileSync(join(live, 'etc/hostname'), 'new content\n');
    writeFileSync(join(live, 'etc/deep/er/added'), 'added\n');
    // A new file with attributes no layer keeps (trusted.*, user.overlay.*): the tar drops them,
    // so moving the file must too.
    writeFileSync(join(live, 'etc/new-attrs'), 'new, with host attributes\n');
    setAttributeSync(join(live, 'etc/new-attrs'), 'user.kept', Buffer.from('yes'));
    setAttributeSync(join(live, 'etc/new-attrs'), 'trusted.overlay.origin', Buffer.from('host'));
    setAttributeSync(join(live, 'etc/new-attrs'), 'user.overlay.impure', Buffer.from('y'));
    const items = changeItems(naiveChanges(first, walkTree(live, xattrs)));
    assert.ok(items.some((i) => 'whiteout' in i), 'the changes include a whiteout');
    await writeTar(items, join(work, 'layer2.tar'), SDE);

    const viaTar = join(work, 'via-tar');
    await applyLayers(viaTar, [tarLayer(join(work, 'layer1.tar'), 1), tarLayer(join(work, 'layer2.tar'), 2)], 'tar');
    const expected = shape(walkTree(viaTar, xattrs));
    assert.ok(expected.length > 15);

    const viaItems = join(work, 'via-items');
    const live2: EntryLayer = { where: 'items', entries: () => itemEntries(items, SDE) };
    await applyLayers(viaItems, [tarLayer(join(work, 'layer1.tar'), 1), live2], 'items');
    assert.deepEqual(shape(walkTree(viaItems, xattrs)), expected);

    const moved = join(work, 'moved');
    const live3: EntryLayer = { where: 'moved', entries: () => itemEntries(items, SDE, true) };
    await applyLayers(moved, [tarLayer(join(work, 'layer1.tar'), 1), live3], 'moved');
    assert.deepEqual(shape(walkTree(moved, xattrs)), expected);
    assert.ok(!existsSync(join(live, 'etc/hostname')), 'a changed file was moved out of the live directory');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a layer a stage has from its parent stage is not moved out when the child is read once: the parent is still read after (before the fix its files were gone)', async () => {
  const { buildContainerfile } = await import('../../src/pipeline/containerfile/build.js');
  const { openLayout } = await import('../../src/transports/layout/read.js');
  const { readImage } = await import('../../src/image/read.js');
  const work = mkdtempSync(join(tmpdir(), 'materialise-chain-'));
  try {
    mkdirSync(join(work, 'files'));
    writeFileSync(join(work, 'files/one'), 'one\n');
    writeFileSync(join(work, 'files/two'), 'two\n');
    writeFileSync(join(work, 'Containerfile'), [
      'FROM scratch AS a', 'COPY files/ /data/',
      'FROM a AS b', 'ENV X=1',
      'FROM scratch', 'COPY --from=b /data/one /one', 'COPY --from=a /data/ /all/', '',
    ].join('\n'));
    for (const compat of ['podman', 'repro-image'] as const) {
      const out = join(work, `out-${compat}`);
      await buildContainerfile({ containerfile: join(work, 'Containerfile'), compat, sourceDateEpoch: SDE, compression: 'none', output: { transport: 'oci', path: out } });
      const image = await readImage(await openLayout(out, undefined), 'built');
      const names: string[] = [];
      for (const layer of image.layers) for await (const { member } of layer.members()) names.push(member.name);
      for (const want of ['one', 'all/one', 'all/two']) assert.ok(names.includes(want), `${compat}: ${want} in ${names.join(' ')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a subtree of a stage (COPY --from) is materialised with the whiteouts that hide it: of a source, and opaque ones of its parent (before the fix the filter left them out, and the hidden files stayed)', async () => {
  const { readdirSync } = await import('node:fs');
  const work = mkdtempSync(join(tmpdir(), 'materialise-whiteouts-'));
  try {
    writeFileSync(join(work, 'l1.tar'), makeTar([
      { name: 'data/', type: 'dir', mode: 0o755 }, { name: 'data/one', data: 'one\n', mode: 0o644 },
      { name: 'a/', type: 'dir', mode: 0o755 }, { name: 'a/b/', type: 'dir', mode: 0o755 }, { name: 'a/b/f', data: 'f\n', mode: 0o644 },
      { name: 'other', data: 'other\n', mode: 0o644 },
    ]));
    writeFileSync(join(work, 'l2.tar'), makeTar([
      { name: '.wh.data', data: '', mode: 0o644 }, { name: 'a/.wh..wh..opq', data: '', mode: 0o644 },
      { name: 'a/b/', type: 'dir', mode: 0o755 }, { name: 'a/b/new', data: 'new\n', mode: 0o644 },
    ]));
    const layers = [tarLayer(join(work, 'l1.tar'), 1), tarLayer(join(work, 'l2.tar'), 2)];
    const whole = join(work, 'whole');
    await applyLayers(whole, layers, 'whole');
    const part = join(work, 'part');
    await applyLayers(part, [tarLayer(join(work, 'l1.tar'), 1), tarLayer(join(work, 'l2.tar'), 2)], 'part', subtreeFilter(['/data/', '/a/b/']));
    assert.deepEqual(readdirSync(whole).sort(), ['a', 'other']);
    assert.ok(!existsSync(join(part, 'data')), '/data is hidden by .wh.data');
    assert.deepEqual(readdirSync(join(part, 'a/b')), ['new'], 'a/b/f is hidden by the opaque whiteout of a');
    assert.deepEqual(readdirSync(join(whole, 'a/b')), ['new']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
