/**
 * A file system that cannot list extended attributes (a FUSE mount answering ENOTSUP, here
 * bindfs --xattr-none over the fixture) is refused rather than read without them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, FIXTURE_EPOCH } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

const golden = readGolden('rootfs-fixture.json') as Record<string, string>;
const env = { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) };
let work: string;
let rootfs: string;
let mounted: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'xattr-fs-'));
  rootfs = join(work, 'rootfs');
  await makeFixture(rootfs);
  mounted = join(work, 'mounted');
  mkdirSync(mounted);
  execFileSync('bindfs', ['--xattr-none', rootfs, mounted]);
});
after(() => {
  if (mounted) execFileSync('umount', [mounted]);
  rmSync(work, { recursive: true, force: true });
});

test('a file system that answers ENOTSUP to listing attributes is refused with one line', () => {
  const out = join(work, 'refused');
  const r = runCli(['build', '--rootfs', mounted, '--output', `oci:${out}:t`], { env });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^repro-image: ${mounted}: [^ ]+: the file system cannot list extended attributes \\((ENOTSUP|EOPNOTSUPP)\\), so those it holds cannot be read; pass --no-xattrs to build without them\\n$`));
  assert.equal(existsSync(out), false);
});

test('with --no-xattrs the same mount builds, as the directory itself does without attributes', () => {
  const direct = runCli(['build', '--rootfs', rootfs, '--output', `oci:${join(work, 'direct')}:t`], { env });
  assert.equal(direct.stdout.trim(), golden['gzip'], direct.stderr);
  const a = runCli(['build', '--rootfs', mounted, '--no-xattrs', '--output', `oci:${join(work, 'a')}:t`], { env });
  const b = runCli(['build', '--rootfs', rootfs, '--no-xattrs', '--output', `oci:${join(work, 'b')}:t`], { env });
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout.trim(), b.stdout.trim());
  assert.notEqual(a.stdout.trim(), golden['gzip']);
});
