/**
 * measureLayer (a layer tar hashed and written in large batches, each file read straight into the
 * batch) gives byte for byte the tar of the streaming writer (layerTar): files that cross and fill
 * batches, empty files, hard links, whiteouts, names and times that need PAX or the second header
 * pass; and a file that changed since its walk is refused as the stream refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { naiveChanges } from '../../src/pipeline/containerfile/changes.js';
import { measureLayer } from '../../src/pipeline/containerfile/layer-measure.js';
import { changeItems, layerTar, type LayerItem } from '../../src/pipeline/containerfile/layer-tar.js';
import { walkTree } from '../../src/pipeline/containerfile/tree.js';
import { xattrReader } from '../../src/sources/rootfs/xattrs.js';

const SDE = 1700000000;

async function streamed(items: LayerItem[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of layerTar(items, SDE, 'stream')) chunks.push(c);
  return Buffer.concat(chunks);
}

test('measureLayer gives the streaming writer\'s tar, hashed and written', async () => {
  const reader = await xattrReader('/tmp', '');
  const work = mkdtempSync(join(tmpdir(), 'layer-measure-'));
  try {
    const t = (p: string): string => join(work, 'tree', p);
    mkdirSync(t('a/b'), { recursive: true });
    mkdirSync(t('gone/deep'), { recursive: true });
    writeFileSync(t('gone/deep/f'), 'removed later\n');
    const before = walkTree(join(work, 'tree'), reader);
    rmSync(t('gone'), { recursive: true });
    for (let i = 0; i < 300; i++) writeFileSync(t(`a/small-${String(i).padStart(3, '0')}`), `file ${i}\n`.repeat(i % 7));
    writeFileSync(t('a/empty'), '');
    writeFileSync(t('a/b/one-mib'), Buffer.alloc(1 << 20, 1));
    writeFileSync(t('a/b/one-mib-and-a-byte'), Buffer.alloc((1 << 20) + 1, 2));
    const big = Buffer.alloc((3 << 20) + 777);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    writeFileSync(t('a/b/big'), big);
    linkSync(t('a/b/big'), t('a/big-again'));
    symlinkSync('b/big', t('a/link'));
    writeFileSync(t(`a/${'long-name-'.repeat(12)}`), 'a name longer than 100 bytes\n');
    writeFileSync(t('a/ünïcödé'), 'PAX path\n');
    writeFileSync(t('a/far-future'), 'a time after 2^33 s\n');
    utimesSync(t('a/far-future'), 2 ** 33 + 5, 2 ** 33 + 5);
    writeFileSync(t('a/later'), 'after the epoch\n');
    utimesSync(t('a/later'), SDE + 100, SDE + 100);
    const items = changeItems(naiveChanges(before, walkTree(join(work, 'tree'), reader)));
    assert.ok(items.some((i) => 'whiteout' in i), 'the layer has a whiteout');
    const expected = await streamed(items);
    const digest = `sha256:${createHash('sha256').update(expected).digest('hex')}`;
    assert.deepEqual(await measureLayer(items, SDE, 'hashed'), { digest, size: expected.length });
    const out = join(work, 'layer.tar');
    assert.deepEqual(await measureLayer(items, SDE, 'written', out), { digest, size: expected.length });
    assert.ok(readFileSync(out).equals(expected), 'the file written is the streamed tar');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('measureLayer refuses a file that is longer or shorter than its walk said', async () => {
  const reader = await xattrReader('/tmp', '');
  const work = mkdtempSync(join(tmpdir(), 'layer-measure-changed-'));
  try {
    const t = (p: string): string => join(work, 'tree', p);
    mkdirSync(t('d'), { recursive: true });
    writeFileSync(t('d/grows'), 'x'.repeat(100));
    writeFileSync(t('d/shrinks'), Buffer.alloc(2 << 20, 5));
    const items = walkTree(join(work, 'tree'), reader).map((node) => ({ node }));
    appendFileSync(t('d/grows'), 'more');
    await assert.rejects(measureLayer(items, SDE, 'layer 1'), /: layer 1: "d\/grows": the data is longer than the 100 bytes its header says$/);
    truncateSync(t('d/grows'), 100);
    truncateSync(t('d/shrinks'), 1 << 20);
    await assert.rejects(measureLayer(items, SDE, 'layer 1'), /: layer 1: "d\/shrinks": 1048576 bytes of data where the header says 2097152$/);
    rmSync(t('d/shrinks'));
    await assert.rejects(measureLayer(items, SDE, 'layer 1', join(work, 'out.tar')), /cannot read .*d\/shrinks/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
