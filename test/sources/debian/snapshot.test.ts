/**
 * Debian snapshots: a signed repository laid out as snapshot.debian.org serves it
 * (`/archive/debian/<timestamp>/…`, `/archive/debian-security/<timestamp>/…`, the timestamps listed
 * at `/mr/timestamp/`), at two timestamps with different package versions, on 127.0.0.1. Each
 * timestamp locks to its own versions (the security suite's layered over the main one), `lock
 * --snapshot latest` picks the newest and writes it into the lock, SOURCE_DATE_EPOCH is the
 * snapshot's time, and a build from the old lock still works, from an empty cache, after the
 * "current" suite moved on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { makeKey, writeRepo, type TestPackage } from '../../helpers/debian-repo.js';
import { serveDirectory, type StaticServer } from '../../helpers/static-server.js';

const T1 = '20250101T000000Z'; // 1735689600
const T2 = '20250601T120000Z'; // 1748779200

const pkg = (name: string, version: string, fields: Record<string, string> = {}): TestPackage =>
  ({ name, version, fields, files: { [`/usr/share/${name}/version`]: `${name} ${version}\n` } });

let dir: string;
let server: StaticServer;
let keyring: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'snapshot-'));
  const signer = makeKey(dir, 'archive');
  keyring = signer.keyring;
  const root = join(dir, 'snapshot');
  const at = (archive: string, ts: string): string => join(root, 'archive', archive, ts);
  writeRepo(at('debian', T1), join(dir, 'src1'), [pkg('hello', '1.0', { Depends: 'libfoo' }), pkg('libfoo', '1.0')], signer, { date: 'Tue, 31 Dec 2024 20:00:00 UTC' });
  writeRepo(at('debian-security', T1), join(dir, 'src1s'), [pkg('libfoo', '1.0+deb1')], signer, { suite: 'testing-security', pool: 'pool/updates/main', date: 'Tue, 31 Dec 2024 21:00:00 UTC' });
  writeRepo(at('debian', T2), join(dir, 'src2'), [pkg('hello', '2.0', { Depends: 'libfoo (>= 2)' }), pkg('libfoo', '2.0')], signer, { date: 'Sun, 01 Jun 2025 10:00:00 UTC' });
  writeRepo(at('debian-security', T2), join(dir, 'src2s'), [pkg('libfoo', '1.0+deb1')], signer, { suite: 'testing-security', pool: 'pool/updates/main', date: 'Sun, 01 Jun 2025 11:00:00 UTC' });
  server = await serveDirectory(root, '/');
  // The service's machine-readable list of timestamps (the query names the archive; both are listed).
  server.overrides.set('mr/timestamp/', Buffer.from(JSON.stringify({ result: { debian: [T2, T1], 'debian-security': [T1, T2] } })));
});
after(async () => {
  await server.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function specFile(name: string, snapshot: string | undefined, base = server.url): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const path = join(d, 'image.yaml');
  writeFileSync(path, `name: ${name}\nsource:\n  distro: debian\n  suite: testing\n  extraSuites: [testing-security]\n${snapshot === undefined ? '' : `  snapshot: "${snapshot}"\n`}  mirrors: ["${base}"]\n  keyring: ${keyring}\npackages: [hello]\n`);
  return path;
}

interface Lock {
  specDigest: string;
  source: { snapshot?: string; sourceDateEpoch: number; extraSuites?: Array<{ suite: string }> };
  packages: Array<{ name: string; version: string; filename: string; suite?: string }>;
}
const lockOf = (spec: string): Lock => JSON.parse(readFileSync(spec.replace(/\.yaml$/, '.lock.json'), 'utf8')) as Lock;
const run = (args: string[], cache: string): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
const versions = (l: Lock): string[] => l.packages.map((p) => `${p.name}=${p.version}${p.suite ? `@${p.suite}` : ''}`);

test('each snapshot locks to its own versions; the security suite is layered over the main one', async () => {
  const old = specFile('old', T1);
  const r1 = await run(['lock', old], join(dir, 'cache-old'));
  assert.equal(r1.status, 0, r1.stderr);
  const l1 = lockOf(old);
  assert.deepEqual(versions(l1), ['hello=1.0', 'libfoo=1.0+deb1@testing-security']);
  assert.equal(l1.source.snapshot, T1);
  assert.equal(l1.source.sourceDateEpoch, 1735689600, 'SOURCE_DATE_EPOCH is the snapshot time, not the Release Date');
  assert.deepEqual(l1.source.extraSuites?.map((s) => s.suite), ['testing-security']);
  assert.match(r1.stdout, /2 packages from testing, testing-security \(snapshot 20250101T000000Z\)/);

  const newer = specFile('newer', T2);
  assert.equal((await run(['lock', newer], join(dir, 'cache-new'))).status, 0);
  assert.deepEqual(versions(lockOf(newer)), ['hello=2.0', 'libfoo=2.0'], 'the higher version wins over the security suite\'s');
  assert.equal(lockOf(newer).source.sourceDateEpoch, 1748779200);
});

test('lock --snapshot latest picks the newest timestamp the service lists and writes it into the lock', async () => {
  const spec = specFile('latest', undefined);
  const r = await run(['lock', spec, '--snapshot', 'latest'], join(dir, 'cache-latest'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /snapshot: latest is 20250601T120000Z/);
  assert.equal(lockOf(spec).source.snapshot, T2);
  assert.deepEqual(versions(lockOf(spec)), ['hello=2.0', 'libfoo=2.0']);
  // source.snapshot: latest in the spec does the same without the flag.
  const spec2 = specFile('latest-spec', 'latest');
  assert.equal((await run(['lock', spec2], join(dir, 'cache-latest'))).status, 0);
  assert.equal(lockOf(spec2).source.snapshot, T2);
  // A build from that lock reads the snapshot the lock names.
  const b = await run(['build', spec2, '--json', '--output', `oci:${join(dir, 'latest-image')}:t`], join(dir, 'cache-latest-build'));
  assert.equal(b.status, 0, b.stderr);
  const record = JSON.parse(b.stdout) as { sourceDateEpoch: number; sourceDateEpochFrom: string };
  assert.deepEqual([record.sourceDateEpoch, record.sourceDateEpochFrom], [1748779200, 'snapshot-date']);
});

test('--snapshot cannot contradict a spec that pins its snapshot (exit 2); a malformed timestamp is a spec error', async () => {
  const spec = specFile('pinned', T1);
  const r = await run(['lock', spec, '--snapshot', T2], join(dir, 'cache-pinned'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--snapshot: the spec pins source\.snapshot 20250101T000000Z/);
  const bad = specFile('bad-ts', '20250231T000000Z');
  const b = await run(['lock', bad], join(dir, 'cache-pinned'));
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /source\.snapshot: a snapshot timestamp such as 20250520T000000Z/);
});

test('a build from the old lock works after the current suite moved on, from an empty cache', async () => {
  const spec = specFile('rebuild', T1);
  const cache1 = join(dir, 'cache-rebuild-1');
  assert.equal((await run(['lock', spec], cache1)).status, 0);
  const b1 = await run(['build', spec, '--output', `oci:${join(dir, 'rebuild-1')}:t`], cache1);
  assert.equal(b1.status, 0, b1.stderr);
  // "Current" moves on: the plain mirror layout now holds T2's suite only; the snapshot keeps T1.
  const current = join(dir, 'snapshot', 'debian');
  writeRepo(current, join(dir, 'src-current'), [pkg('hello', '3.0'), pkg('libfoo', '3.0')], { home: join(dir, 'gnupg-archive') });
  const b2 = await run(['build', spec, '--output', `oci:${join(dir, 'rebuild-2')}:t`], join(dir, 'cache-rebuild-2'));
  assert.equal(b2.status, 0, b2.stderr);
  assert.equal(b2.stdout.trim(), b1.stdout.trim(), 'the same digest from a fresh cache');
  const created = spawnSync('sh', ['-c', `cat "$0"/blobs/sha256/* | grep -ao '"created":"[^"]*"' | head -1`, join(dir, 'rebuild-2')], { encoding: 'utf8' }).stdout.trim();
  assert.equal(created, '"created":"2025-01-01T00:00:00Z"');
});

test('latest with a listing that names no timestamp, or is not JSON, is a clear error (exit 3)', async () => {
  const listing = server.overrides.get('mr/timestamp/')!;
  const spec = specFile('bad-listing', 'latest');
  try {
    server.overrides.set('mr/timestamp/', Buffer.from(JSON.stringify({ result: { debian: ['yesterday', 20250101] } })));
    const r = await run(['lock', spec], join(dir, 'cache-bad-listing'));
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /no snapshot service listed the timestamps of debian: http:\/\/127\.0\.0\.1:\d+\/mr\/timestamp\/\?archive=debian: no timestamp in result\.debian/);
    server.overrides.set('mr/timestamp/', Buffer.from('<html>'));
    const r2 = await run(['lock', spec], join(dir, 'cache-bad-listing'));
    assert.equal(r2.status, 3, r2.stderr);
    assert.match(r2.stderr, /not JSON/);
    // A page of HTML (a proxy's error page): still one line, and the page is not quoted.
    server.overrides.set('mr/timestamp/', Buffer.from('<html>\n<body>\nrepro-image: forged line\n</body>'));
    const r3 = await run(['lock', spec], join(dir, 'cache-bad-listing'));
    assert.equal(r3.status, 3, r3.stderr);
    assert.match(r3.stderr, /^repro-image: no snapshot service listed the timestamps of debian: http:\/\/127\.0\.0\.1:\d+\/mr\/timestamp\/\?archive=debian: not JSON: invalid JSON \(46 bytes\)\n$/);
  } finally {
    server.overrides.set('mr/timestamp/', listing);
  }
});

test('timestamps: the service\'s form and real calendar times only', async () => {
  const { timestampEpoch, archiveOf, snapshotRoots } = await import('../../../src/sources/debian/snapshot.js');
  assert.equal(timestampEpoch('20250520T000000Z'), 1747699200);
  for (const bad of ['20250229T000000Z', '20250520T240000Z', '20250520T000060Z', '2025-05-20T00:00:00Z', '20250520T000000', 'latest']) assert.equal(timestampEpoch(bad), undefined, bad);
  assert.equal(archiveOf('bookworm-security'), 'debian-security');
  assert.equal(archiveOf('bookworm-updates'), 'debian');
  assert.deepEqual(snapshotRoots(['https://snapshot.debian.org'], 'bookworm-security', '20250520T000000Z'), ['https://snapshot.debian.org/archive/debian-security/20250520T000000Z']);
});
