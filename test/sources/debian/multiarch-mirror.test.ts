/**
 * One spec, two platforms from the real Debian archive (this host's apt sources, as the example
 * and the mmdebstrap audit use): busybox for amd64 and arm64 into one OCI index. The arm64 busybox
 * runs under qemu-user (Debian package qemu-user, installed by .ci/run) against the image's own
 * root, found through the image's own /lib/ld-linux-aarch64.so.1 and aarch64-linux-gnu libc: the
 * merged-/usr links and multiarch paths are right for that architecture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../../helpers/cli.js';

function qemu(): string {
  for (const q of ['qemu-aarch64', 'qemu-aarch64-static']) if (spawnSync('sh', ['-c', `command -v ${q}`]).status === 0) return q;
  assert.fail('qemu-aarch64 (Debian package qemu-user, installed by .ci/run) is needed');
}

test('busybox for amd64 and arm64 from the Debian mirror: one index, the arm64 busybox runs under qemu-aarch64 against its image root', { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'multiarch-mirror-'));
  const cache = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  const run = (args: string[]) => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
  try {
    const spec = join(dir, 'image.yaml');
    writeFileSync(spec, 'name: busybox-multi\nsource:\n  distro: debian\n  suite: bookworm\n  architectures: [amd64, arm64]\npackages: [busybox]\nconfig:\n  entrypoint: [/bin/busybox]\n');
    for (const step of [['lock', spec], ['fetch', spec]]) {
      const r = await run(step);
      assert.equal(r.status, 0, `${step[0]}: ${r.stderr}`);
    }
    const out = join(dir, 'out');
    const b = await run(['build', spec, '--offline', '--output', `oci:${out}:t`]);
    assert.equal(b.status, 0, b.stderr);
    const index = JSON.parse(readFileSync(join(out, 'blobs/sha256', b.stdout.trim().slice(7)), 'utf8')) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    assert.deepEqual(index.manifests.map((m) => m.platform.architecture), ['amd64', 'arm64']);
    const again = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'again')}:t`]);
    assert.equal(again.stdout.trim(), b.stdout.trim(), 'the same index when built again');

    const manifest = JSON.parse(readFileSync(join(out, 'blobs/sha256', index.manifests[1]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
    const root = join(dir, 'root');
    mkdirSync(root);
    for (const l of manifest.layers) {
      const x = spawnSync('tar', ['--no-same-owner', '-xzf', join(out, 'blobs/sha256', l.digest.slice(7)), '-C', root], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
    }
    const file = spawnSync('file', ['-L', join(root, 'bin/busybox')], { encoding: 'utf8' });
    if (file.status === 0) assert.match(file.stdout, /ARM aarch64/);
    const id = spawnSync(qemu(), ['-L', root, join(root, 'bin/busybox'), 'id'], { encoding: 'utf8' });
    assert.equal(id.status, 0, id.stderr);
    assert.match(id.stdout, /^uid=\d+/);
    const echo = spawnSync(qemu(), ['-L', root, join(root, 'bin/busybox'), 'echo', 'hello from arm64'], { encoding: 'utf8' });
    assert.equal(echo.stdout, 'hello from arm64\n');
    console.log(`# index ${b.stdout.trim()}; amd64 ${index.manifests[0]!.digest}; arm64 ${index.manifests[1]!.digest}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
