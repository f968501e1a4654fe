/**
 * flatten's two ways of reading a layer give one result: an uncompressed blob of an OCI layout
 * read where it lies (headers at their offsets, the hashing on two threads or one, md5 in SIMD
 * lanes or not) and the same layers read as streams. A blob whose bytes are not its descriptor's fails as the stream fails;
 * a blob changed while it is read is E_IO.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, readdirSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers } from '../../src/image/flatten.js';
import { setHashThreads } from '../../src/image/hash-thread.js';
import { fileTableBuffers } from '../../src/image/local-hash-core.js';
import { setMd5Lanes } from '../../src/image/md5-lanes.js';
import { startLocalHashes } from '../../src/image/local-hashes.js';
import type { LayerReader } from '../../src/image/layer.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { writeTarLayout } from '../helpers/tar-layout.js';
import { asStreams, layoutLayers, outcome, plain, sameOutcome } from '../helpers/flatten-ways.js';
import { rng } from '../helpers/rng.js';

let dir: string;
const blobs: string[] = [];

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An OCI layout at `root` (default `dir/layout`) with these layers, uncompressed; the blob paths in `blobs`. */
function writeLayout(layers: Buffer[], root = join(dir, 'layout')): string {
  writeTarLayout(root, layers);
  for (const l of layers) blobs.push(join(root, 'blobs/sha256', sha(l)));
  return root;
}

const random = rng(7);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flatten-local-'));
  const layer1: RawMember[] = [
    { name: 'etc', type: 'dir' },
    { name: 'etc/hostname', data: 'x\n' },
    { name: 'etc/empty', data: '' },
    { name: 'var/lib/dpkg/status', data: 'Package: a\nVersion: 1\n' },
    { name: 'usr/bin/big', data: bytes(9 << 20), mode: 0o755 },
    { name: 'usr/bin/hard', type: 'hardlink', linkname: 'usr/bin/big' },
    { name: 'usr/bin/link', type: 'symlink', linkname: 'big' },
    { name: 'opaque/old', data: 'below' },
    { name: 'gone', data: 'whited out' },
    { name: `deep/${'d'.repeat(120)}/${'e'.repeat(120)}`, data: 'long name', pax: { path: `deep/${'d'.repeat(120)}/${'e'.repeat(120)}` } },
    ...Array.from({ length: 300 }, (_, i): RawMember => ({ name: `many/f${i}`, data: bytes(Math.floor(random() * 3000)) })),
  ];
  const layer2: RawMember[] = [
    { name: '.wh.gone', data: '' },
    { name: 'opaque/.wh..wh..opq', data: '' },
    { name: 'opaque/new', data: 'above' },
    { name: 'etc/hostname', data: 'y\n' },
    { name: 'var/lib/dpkg/status', data: 'Package: a\nVersion: 2\n' },
    { name: 'etc/second', data: bytes(5000) },
    { name: 'etc/second-link', type: 'hardlink', linkname: 'etc/second' },
  ];
  writeLayout([makeTar(layer1), makeTar(layer2)]);
});
after(() => {
  setHashThreads('auto');
  rmSync(dir, { recursive: true, force: true });
});

async function layers(root = join(dir, 'layout')): Promise<LayerReader[]> {
  return layoutLayers(`oci:${root}:t`);
}

const opts = { hash: true, keep: (p: string) => p.startsWith('var/lib/dpkg/') };

test('a local layer gives what its stream gives: entries, digests, kept files, with the hashing on one thread or two', async () => {
  const ls = await layers();
  assert.ok(await ls[0]!.localTar(), 'the layout blob is read where it lies');
  setHashThreads('never');
  const streamed = plain(await flattenLayers(asStreams(ls), opts));
  for (const mode of ['never', 'always', 'auto'] as const) {
    for (const lanes of [true, false]) {
      setHashThreads(mode);
      setMd5Lanes(lanes);
      assert.deepEqual(plain(await flattenLayers(ls, opts)), streamed, `${mode}, lanes ${lanes ? 'on' : 'off'}`);
    }
  }
  setHashThreads('auto');
  setMd5Lanes(true);
  const f = await flattenLayers(ls, { md5: true, sha256: (p) => p === 'usr/bin/big', keep: opts.keep });
  const big = f.entries.get('usr/bin/big')!;
  assert.equal(f.entries.get('usr/bin/hard')!.md5, big.md5);
  assert.equal(f.entries.get('usr/bin/hard')!.sha256, big.sha256);
  assert.equal(f.entries.get('etc/hostname')!.sha256, undefined, 'sha256 only where asked');
  assert.equal(f.entries.get('gone'), undefined);
  assert.equal(f.entries.get('opaque/old'), undefined);
  assert.equal(f.kept.get('var/lib/dpkg/status')!.toString(), 'Package: a\nVersion: 2\n');
});

test('a blob changed in its layout fails read where it lies as it fails as a stream: wrong content, longer, shorter', async (t) => {
  const blob = blobs[0]!;
  const good = readFileSync(blob);
  t.after(() => writeFileSync(blob, good));
  const cases: Array<[string, () => void, RegExp]> = [
    ['a byte changed', () => { const b = Buffer.from(good); b[b.length - 2000] = b[b.length - 2000]! ^ 1; writeFileSync(blob, b); }, /E_DIGEST_MISMATCH: img: layer 1 sha256:[0-9a-f]{64}: blob sha256:[0-9a-f]{64} has the wrong content \(it hashes to sha256:/],
    ['a header byte changed', () => { const b = Buffer.from(good); b[0] = b[0]! ^ 1; writeFileSync(blob, b); }, /^E_TAR_CHECKSUM: img: layer 1 sha256:[0-9a-f]{64}: bad tar header checksum at byte offset 0$/],
    ['a byte more', () => { writeFileSync(blob, good); appendFileSync(blob, 'x'); }, /E_SIZE_MISMATCH: .*is longer than its \d+ bytes/],
    ['a block less', () => { writeFileSync(blob, good); truncateSync(blob, good.length - 512); }, /E_SIZE_MISMATCH: .*ended after \d+ of \d+ bytes/],
  ];
  for (const [what, change, pattern] of cases) {
    change();
    // Read where it lies, on one thread and on two, as the stream says.
    assert.match(await sameOutcome(await layers(), opts), pattern, what);
  }
});

test('a last layer with the wrong content fails on its digest, even when `meanwhile` fails on what was read of it', async (t) => {
  // meanwhile runs before the last local layer's digest is known: what it parses (audit: the
  // package database) comes from unchecked bytes, and its error must not hide the mismatch.
  const blob = blobs[1]!;
  const good = readFileSync(blob);
  t.after(() => writeFileSync(blob, good));
  const b = Buffer.from(good);
  b[b.length - 3000] = b[b.length - 3000]! ^ 1; // in the body of etc/second
  writeFileSync(blob, b);
  const failing = { ...opts, meanwhile: () => { throw new Error('unparsable package database'); } };
  assert.match(await sameOutcome(await layers(), failing), /^E_DIGEST_MISMATCH: img: layer 2 /);
  // With the right content, meanwhile's own error is the one thrown.
  writeFileSync(blob, good);
  assert.equal(await outcome(await layers(), failing), 'undefined: unparsable package database');
});

test('a layer cut inside a kept file too big to keep fails as its stream does (the member is seen before its data is missed)', async () => {
  const cutDir = mkdtempSync(join(tmpdir(), 'flatten-cut-'));
  try {
    const tar = makeTar([{ name: 'etc/hostname', data: 'x\n' }, { name: 'var/lib/dpkg/status', data: Buffer.alloc(3 << 20, 0x61) }]);
    // The descriptor is the cut blob's own: only the tar is short.
    const ls = await layers(writeLayout([tar.subarray(0, 8192)], join(cutDir, 'layout')));
    const streamed = await sameOutcome(ls, { ...opts, keepLimit: 1 << 20 });
    assert.match(streamed, /^E_BAD_INPUT: .*var\/lib\/dpkg\/status: 3145728 bytes, more than the 1048576 read/);
  } finally {
    rmSync(cutDir, { recursive: true, force: true });
  }
});

test('a layer listed twice (one reader) is checked and let go of each time', { skip: !existsSync('/proc/self/fd') }, async () => {
  const [l1] = await layers();
  const open = (): number => readdirSync('/proc/self/fd').length;
  for (const mode of ['never', 'always'] as const) {
    setHashThreads(mode);
    const before = open();
    const f = await flattenLayers([l1!, l1!], opts);
    assert.equal(open(), before, `${mode}: no descriptor left open`);
    assert.ok(f.entries.get('usr/bin/big')!.md5, mode);
  }
  setHashThreads('auto');
});

test('a blob changed in place while it is read is E_IO naming it, on one thread or two', async () => {
  const path = join(dir, 'changing');
  writeFileSync(path, bytes(1 << 20));
  for (const mode of ['never', 'always'] as const) {
    setHashThreads(mode);
    const fd = openSync(path, 'r+');
    try {
      const h = startLocalHashes({ fd, path, position: 0, length: 1 << 20, where: 'img: layer 1' });
      try {
        await new Promise((r) => setTimeout(r, 20)); // a later change time
        writeSync(fd, Buffer.from('z'), 0, 1, 100);
        await assert.rejects(h.finish(fileTableBuffers(0)), (e: Error & { code?: string }) => e.code === 'E_IO' && e.message === `img: layer 1: ${path} changed while it was read`);
      } finally {
        await h.close();
      }
    } finally {
      closeSync(fd);
    }
  }
  setHashThreads('auto');
});

test('a hard link to a hard link whose target is in a layer below is a name of that target: its size and md5, not an empty file', async () => {
  const root = writeLayout([makeTar([{ name: 'a', data: 'content' }]), makeTar([{ name: 'b', type: 'hardlink', linkname: 'a' }, { name: 'c', type: 'hardlink', linkname: 'b' }])], join(dir, 'chain'));
  const md5 = createHash('md5').update('content').digest('hex');
  for (const ls of [await layers(root), asStreams(await layers(root))]) {
    const f = await flattenLayers(ls, { md5: true });
    assert.deepEqual(f.entries.get('b'), { path: 'b', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 7, md5, layer: 2 });
    assert.deepEqual(f.entries.get('c'), { path: 'c', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 7, md5, layer: 2 });
  }
});

test('hard link chains: four long to a file below, three long to a file in the same layer (kept bytes and digests through the middle link), a link to a symlink', async () => {
  const root = writeLayout([
    makeTar([{ name: 'a', data: 'below' }]),
    makeTar([
      { name: 'b', type: 'hardlink', linkname: 'a' }, { name: 'c', type: 'hardlink', linkname: 'b' }, { name: 'd', type: 'hardlink', linkname: 'c' },
      { name: 'f', data: 'same layer' }, { name: 'g', type: 'hardlink', linkname: 'f' }, { name: 'h', type: 'hardlink', linkname: 'g' },
      { name: 's', type: 'symlink', linkname: 'f' }, { name: 't', type: 'hardlink', linkname: 's' },
    ]),
  ], join(dir, 'chains'));
  const md5 = createHash('md5').update('same layer').digest('hex');
  for (const ls of [await layers(root), asStreams(await layers(root))]) {
    const f = await flattenLayers(ls, { md5: true, keep: (p) => p === 'f' || p === 'h' });
    const below = createHash('md5').update('below').digest('hex');
    for (const p of ['b', 'c', 'd']) assert.deepEqual(f.entries.get(p), { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, md5: below, layer: 2 });
    for (const p of ['g', 'h']) assert.deepEqual(f.entries.get(p), { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 10, md5, layer: 2 });
    assert.equal(f.kept.get('h')?.toString(), 'same layer', 'a link to a link to a kept file keeps its bytes');
    assert.deepEqual(f.entries.get('t'), { path: 't', type: 'symlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'f', layer: 2 });
  }
});
