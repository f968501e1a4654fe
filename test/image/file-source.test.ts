/**
 * A blob read from a file is opened without blocking and checked on the descriptor it reads:
 * a FIFO put where a store's stat saw a regular file (a race) is exit 2 naming it, at once. Before,
 * the stream's open waited for a writer for ever, and a layer read where it lies held the main
 * thread in its open, deaf to SIGTERM.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSource } from '../../src/image/file-source.js';
import { flattenLayers } from '../../src/image/flatten.js';
import { layerReader } from '../../src/image/layer.js';
import { MediaType } from '../../src/model/media-types.js';
import type { Digest } from '../../src/model/digest.js';

let dir: string;
let fifo: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-source-'));
  fifo = join(dir, 'blob');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const badInput = (message: string) => (e: Error & { code?: string }): boolean => e.code === 'E_BAD_INPUT' && e.message === message;

test('a blob source on a FIFO fails at once, naming it; on a regular file it reads its range', { timeout: 10_000 }, async () => {
  await assert.rejects((async () => { for await (const _ of fileSource(fifo).open()) { /* nothing */ } })(), badInput(`${fifo}: a FIFO, not a regular file`));
  const file = join(dir, 'file');
  writeFileSync(file, 'abcdefgh');
  const read = async (offset?: number, length?: number): Promise<string> => {
    const parts: Buffer[] = [];
    for await (const c of fileSource(file, offset, length).open()) parts.push(c);
    return Buffer.concat(parts).toString();
  };
  assert.deepEqual([await read(), await read(2, 3), await read(8, 0)], ['abcdefgh', 'cde', '']);
});

test('a layer read where it lies that is a FIFO fails at once, naming the layer and the file', { timeout: 10_000 }, async () => {
  const descriptor = { mediaType: MediaType.ociLayer, digest: `sha256:${'0'.repeat(64)}` as Digest, size: 1024 };
  const layer = layerReader(() => fileSource(fifo), { number: 1, where: 'img: layer 1', descriptor });
  await assert.rejects(flattenLayers([layer]), badInput(`img: layer 1: ${fifo}: a FIFO, not a regular file`));
});
