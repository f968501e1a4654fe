import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, FIXTURE_EPOCH } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

const golden = readGolden('rootfs-fixture.json') as Record<string, string>;
let work: string;
let rootfs: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'golden-'));
  rootfs = join(work, 'rootfs');
  await makeFixture(rootfs, { socket: true });
});
after(() => rmSync(work, { recursive: true, force: true }));

function build(input: string, compression: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): string {
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  const r = runCli(['build', '--rootfs', input, '--output', `oci:${out}:t`, '--compression', compression, ...extra], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH), ...env } });
  assert.equal(r.status, 0, r.stderr);
  rmSync(out, { recursive: true, force: true });
  return r.stdout.trim();
}

for (const compression of ['gzip', 'zstd', 'none']) {
  test(`golden digest of the fixture tree (${compression})`, () => {
    assert.equal(build(rootfs, compression), golden[compression]);
  });
}

test('a directory and the equivalent tarball (plain, gzip, zstd) give the same digest', () => {
  const tar = join(work, 'rootfs.tar');
  // GNU tar in its own order (no sorting), with xattrs: our reader must not care.
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
  execFileSync('gzip', ['-k', '-f', tar]);
  execFileSync('zstd', ['-q', '-f', tar, '-o', `${tar}.zst`]);
  for (const input of [tar, `${tar}.gz`, `${tar}.zst`]) {
    assert.equal(build(input, 'gzip'), golden['gzip'], input);
  }
});

test('the socket is skipped with a warning, and normalisation is reported', () => {
  const out = join(work, 'o-json');
  const r = runCli(['build', '--rootfs', rootfs, '--output', `oci:${out}`, '--json'], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: srv\/socket: socket skipped/);
  const j = JSON.parse(r.stdout) as { manifest: { digest: string }; normalize: Array<{ name: string; changed: number; examples: string[] }>; layers: unknown[]; index: { digest: string } };
  assert.equal(j.manifest.digest, golden['gzip']);
  const by = Object.fromEntries(j.normalize.map((p) => [p.name, p]));
  assert.deepEqual(by['ldconfig-aux-cache']?.examples, ['var/cache/ldconfig/aux-cache']);
  assert.deepEqual(by['random-seed']?.examples, ['var/lib/systemd/random-seed']);
  assert.deepEqual(by['machine-id']?.examples, ['etc/machine-id']);
  assert.ok((by['clamp-mtime']?.changed ?? 0) > 10);
  assert.equal(j.layers.length, 1);
  rmSync(out, { recursive: true, force: true });
});

test('--normalize none keeps what the passes would remove, and changes the digest', () => {
  assert.notEqual(build(rootfs, 'gzip', ['--normalize', 'none']), golden['gzip']);
});
