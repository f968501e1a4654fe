/**
 * measureLayer (a layer tar hashed and written in large batches, each file read straight into the
 * batch) gives byte for byte the tar of the streaming writer (layerTar): files that cross and fill
 * batches, empty files, hard links, whiteouts, names and times that need PAX or the second header
 * pass; and a file that changed since its walk is refused as the stream refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, lchownSync, linkSync, lutimesSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
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

/** measureLayer of `items`, hashed and written to `out`, is the streaming writer's tar; gives its size. */
async function sameAsStreamed(items: LayerItem[], out: string): Promise<number> {
  const expected = await streamed(items);
  const digest = `sha256:${createHash('sha256').update(expected).digest('hex')}`;
  assert.deepEqual(await measureLayer(items, SDE, 'hashed'), { digest, size: expected.length });
  assert.deepEqual(await measureLayer(items, SDE, 'written', out), { digest, size: expected.length });
  assert.ok(readFileSync(out).equals(expected), 'the file written is the streamed tar');
  return expected.length;
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
    await sameAsStreamed(items, join(work, 'layer.tar'));
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

test('measureLayer gives the streaming writer\'s tar where headers of several blocks and files fall across batch boundaries at every alignment, over several turns of the event loop', async () => {
  const reader = await xattrReader('/tmp', '');
  const x = await import('fs-xattr');
  const work = mkdtempSync(join(tmpdir(), 'layer-measure-align-'));
  try {
    const t = (p: string): string => join(work, 'tree', p);
    mkdirSync(t('d'), { recursive: true });
    // Sizes in blocks and bytes that move each next header across the 1 MiB boundaries; PAX
    // headers (an attribute, a long name, an owner past the octal field, a time before 1970).
    for (let i = 0; i < 400; i++) {
      const name = t(`d/${String(i).padStart(3, '0')}${i % 5 === 0 ? '-'.repeat(120) : ''}`);
      writeFileSync(name, Buffer.alloc((i * 40961) % 90001, i & 0xff));
      if (i % 2 === 0) x.setAttributeSync(name, 'user.n', Buffer.from(String(i).repeat(i % 300)));
      if (process.getuid?.() === 0 && i % 7 === 0) lchownSync(name, 3_000_000 + i, 5);
      if (i % 11 === 0) lutimesSync(name, -1000 - i, -1000 - i);
      if (i % 13 === 0) lutimesSync(name, 2 ** 33 + i, 2 ** 33 + i);
    }
    writeFileSync(t('d/exactly-one-batch'), Buffer.alloc(1 << 20, 7));
    writeFileSync(t('d/zz-empty'), '');
    linkSync(t('d/exactly-one-batch'), t('d/zz-link'));
    symlinkSync('x'.repeat(200), t('d/zz-long-link'));
    if (process.getuid?.() === 0) {
      execFileSync('mknod', [t('d/zz-dev'), 'c', '300', '70000']);
      execFileSync('mknod', [t('d/zz-fifo'), 'p']);
      chmodSync(t('d/zz-fifo'), 0o4600);
    }
    const items = walkTree(join(work, 'tree'), reader).map((node) => ({ node }));
    const size = await sameAsStreamed(items, join(work, 'layer.tar'));
    assert.ok(size > 16 << 20, `over many batches (${size} bytes)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('measureLayer leaves no file open when it fails (a file gone, a file grown, a scratch file it cannot write)', async () => {
  const reader = await xattrReader('/tmp', '');
  const work = mkdtempSync(join(tmpdir(), 'layer-measure-fds-'));
  try {
    const t = (p: string): string => join(work, 'tree', p);
    mkdirSync(t('d'), { recursive: true });
    writeFileSync(t('d/big'), Buffer.alloc(3 << 20, 1));
    writeFileSync(t('d/grows'), 'x'.repeat(10));
    writeFileSync(t('d/gone'), 'y');
    const items = walkTree(join(work, 'tree'), reader).map((node) => ({ node }));
    appendFileSync(t('d/grows'), 'more');
    rmSync(t('d/gone'));
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const open = fds();
    await assert.rejects(measureLayer(items, SDE, 'layer 1', join(work, 'out.tar')), /cannot read .*d\/gone/);
    assert.equal(fds(), open, 'no file left open (gone)');
    writeFileSync(t('d/gone'), 'y');
    await assert.rejects(measureLayer(items, SDE, 'layer 1', join(work, 'out.tar')), /"d\/grows": the data is longer than the 10 bytes its header says$/);
    assert.equal(fds(), open, 'no file left open (grown)');
    await assert.rejects(measureLayer(items, SDE, 'layer 1', join(work, 'no-such-dir', 'out.tar')), /cannot write the scratch file/);
    assert.equal(fds(), open, 'no file left open (scratch file)');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
