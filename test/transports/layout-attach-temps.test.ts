/**
 * attachReferrers into an existing oci: layout keeps the layout's rule for temporary names (see
 * transports/layout/write.ts): they go in the layout's root, never in blobs/sha256, where other
 * tools (umoci, skopeo) expect only digests. Watched with inotify (fs.watch) while it writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachReferrers, buildRootfs, parseImageRef } from '../../src/index.js';

test('attachReferrers: no temporary name ever appears in a layout\'s blobs/sha256', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'layout-attach-'));
  try {
    mkdirSync(join(dir, 'root/etc'), { recursive: true });
    writeFileSync(join(dir, 'root/etc/motd'), 'hi\n');
    const layout = join(dir, 'layout');
    const built = await buildRootfs({ rootfs: join(dir, 'root'), output: `oci:${layout}:t`, sourceDateEpoch: 1700000000 });
    const seen: string[] = [];
    const watcher = watch(join(layout, 'blobs/sha256'), (_event, name) => { if (name) seen.push(String(name)); });
    try {
      const data = Buffer.alloc(3 << 20, 7); // big enough to be written in several pieces
      await attachReferrers(parseImageRef(`oci:${layout}:t`), built.manifest.digest, [{ artifactType: 'application/x-test', mediaType: 'application/x-test', data }]);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      watcher.close();
    }
    assert.ok(seen.length > 0, 'the watcher saw the new blobs');
    assert.deepEqual(seen.filter((n) => !/^[0-9a-f]{64}$/.test(n)), [], 'only digests in blobs/sha256');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
