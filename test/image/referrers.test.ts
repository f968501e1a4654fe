/**
 * Referrers in a layout (image/referrers.ts): found by their `subject` among the manifests
 * index.json lists, each of those manifests read once per opened layout however many subjects
 * are asked about (an index's platforms; `copy --all` over a layout of many images).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listReferrers } from '../../src/image/referrers.js';
import type { BlobStore, OpenedImage } from '../../src/image/store.js';
import type { Digest } from '../../src/model/digest.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
const digests: Record<string, string> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'referrers-'));
  // Two images in one layout, each with an SBOM as its referrer: four manifests in index.json.
  for (const name of ['a', 'b']) {
    const root = join(dir, `root-${name}`);
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    writeFileSync(join(root, `${name}.txt`), `${name}\n`);
    writeFileSync(join(root, 'var/lib/dpkg/status'), `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: ${name}\n`);
    const r = runCli(['build', '--rootfs', root, '--output', `oci:${join(dir, 'layout')}:${name}`, '--source-date-epoch', '1700000000', '--sbom', 'spdx-json']);
    assert.equal(r.status, 0, r.stderr);
    digests[name] = r.stdout.trim();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The opened layout, its store counting the documents read. */
async function counted(tag: string): Promise<{ opened: OpenedImage; reads: Map<string, number> }> {
  const opened = await openImage(parseImageRef(`oci:${join(dir, 'layout')}:${tag}`));
  const reads = new Map<string, number>();
  const inner = opened.store;
  const store: BlobStore = {
    where: inner.where,
    blob: (digest, size) => {
      reads.set(digest, (reads.get(digest) ?? 0) + 1);
      return inner.blob(digest, size);
    },
  };
  return { opened: { ...opened, store }, reads };
}

test('each subject gets its own referrers; every manifest of index.json is read once for all subjects', async () => {
  const { opened, reads } = await counted('a');
  assert.equal(opened.index?.value.manifests.length, 4);
  const a = await listReferrers(opened, digests['a'] as Digest);
  const b = await listReferrers(opened, digests['b'] as Digest);
  assert.equal(a.via, 'index.json');
  assert.deepEqual([a.descriptors.length, b.descriptors.length], [1, 1]);
  assert.notEqual(a.descriptors[0]!.digest, b.descriptors[0]!.digest);
  assert.deepEqual([a.descriptors[0]!.artifactType, b.descriptors[0]!.artifactType], ['application/spdx+json', 'application/spdx+json']);
  // A subject nothing refers to (a referrer itself) has none; still nothing read again.
  assert.deepEqual((await listReferrers(opened, a.descriptors[0]!.digest)).descriptors, []);
  assert.deepEqual([...reads.values()].sort(), [1, 1, 1, 1], `reads: ${JSON.stringify([...reads])}`);
});

test('a layout whose manifest cannot be read fails each time it is asked, naming the manifest (a failed scan is not kept)', async () => {
  const { opened } = await counted('b');
  const broken: OpenedImage = { ...opened, store: { where: opened.store.where, blob: async (digest, size) => {
    if (digest === digests['a']) throw new Error(`no blob ${digest}`);
    return opened.store.blob(digest, size);
  } } };
  await assert.rejects(listReferrers(broken, digests['b'] as Digest), new RegExp(`no blob ${digests['a']}`));
  await assert.rejects(listReferrers(broken, digests['b'] as Digest), new RegExp(`no blob ${digests['a']}`));
  // The same layout, read whole: listed.
  assert.equal((await listReferrers(opened, digests['b'] as Digest)).descriptors.length, 1);
});
