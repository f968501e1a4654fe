/**
 * Issue 13, item 12: every error path is one line with the documented exit code, never a stack
 * trace. A file in the way of an output (ENOTDIR, EEXIST) is exit 2; a full disk (ENOSPC, on a
 * 1 MiB tmpfs) while decompressing, downloading, writing scratch files or outputs is exit 3 naming
 * the file, with nothing left behind; a file system error nothing wrapped is still one line. (The
 * YAML alias bomb is in test/spec/hostile-spec.test.ts.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadVerified } from '../../src/fetch/download.js';
import { ReproError, systemError } from '../../src/model/errors.js';
import { runCli } from '../helpers/cli.js';
import { serveDirectory } from '../helpers/static-server.js';
import { mountSmallTmpfs, unmount } from '../helpers/tmpfs.js';

let work: string;
/** A 1 MiB tmpfs (root only), unmounted after. */
let small: string | undefined;
let rootfs: string;
let image: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'error-paths-'));
  rootfs = join(work, 'rootfs');
  mkdirSync(rootfs);
  // Random bytes: 3 MiB compressed or not, more than the tmpfs holds.
  writeFileSync(join(rootfs, 'big'), randomBytes(3 << 20));
  writeFileSync(join(work, 'afile'), 'a regular file\n');
  image = join(work, 'image');
  const r = runCli(['build', '--rootfs', rootfs, '--source-date-epoch', '1', '--output', `oci:${image}:t`]);
  assert.equal(r.status, 0, r.stderr);
  execFileSync('tar', ['-C', rootfs, '-czf', join(work, 'rootfs.tar.gz'), '.']);
  small = mountSmallTmpfs(work);
});

after(() => {
  unmount(small);
  rmSync(work, { recursive: true, force: true });
});

/** Exit `status`, stderr one line matching `re`, no stack trace. */
function oneLine(r: { status: number; stderr: string }, status: number, re: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !/^(normalize|mount points) /.test(l));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /internal error|\n {4}at /);
}

const build = (output: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  runCli(['build', '--rootfs', rootfs, '--source-date-epoch', '1', ...extra, '--output', output], { env });

test('item 12: an output below a regular file is exit 2 with one line (ENOTDIR, EEXIST), for every transport', () => {
  const f = join(work, 'afile');
  oneLine(build(`oci:${f}:t`), 2, /afile: exists and is not a directory$/);
  oneLine(build(`oci:${f}/sub:t`), 2, /cannot create .*afile: already exists \(a file is in the way\)$/);
  oneLine(build(`oci-archive:${f}/x.tar`), 2, /cannot write .*afile\/x\.tar: not a directory \(a file is in the way\)$/);
  oneLine(build(`docker-archive:${f}/x.tar`), 2, /afile\/x\.tar: not a directory \(a file is in the way\)$/);
  oneLine(runCli(['copy', `oci:${image}:t`, `dir:${f}/sub`]), 2, /afile/);
  oneLine(runCli(['copy', `oci:${image}:t`, `oci:${f}/sub:t`]), 2, /afile: already exists \(a file is in the way\)$/);
  oneLine(runCli(['diff', `oci:${image}:t`, `oci:${image}:t`, '--html', `${f}/x.html`]), 2, /afile\/x\.html: not a directory/);
  oneLine(runCli(['sbom', `oci:${image}:t`, '--output', `${f}/x.json`]), 2, /afile\/x\.json: not a directory/);
});

test('item 12: an output file that is a directory is exit 2 with one line (EISDIR), for every kind of output', () => {
  const d = join(work, 'a-directory');
  mkdirSync(d, { recursive: true });
  const disk = join(work, 'disk.yaml');
  writeFileSync(disk, 'seed: 01234567-89ab-cdef-0123-456789abcdef\npartitions:\n  - {type: root, format: ext4, contents: /}\n');
  oneLine(build(`disk:${d}`, ['--disk', disk]), 2, /cannot write .*a-directory: is a directory$/);
  oneLine(build(`oci-archive:${d}`), 2, /cannot write .*a-directory: is a directory$/);
  oneLine(runCli(['copy', `oci:${image}:t`, `docker-archive:${d}`]), 2, /a-directory: is a directory$/);
  oneLine(runCli(['sbom', `oci:${image}:t`, '--output', d]), 2, /a-directory: is a directory$/);
  oneLine(runCli(['diff', `oci:${image}:t`, `oci:${image}:t`, '--html', d]), 2, /a-directory: is a directory$/);
  assert.deepEqual(readdirSync(work).filter((n) => n.includes('.tmp-')), [], 'a temporary file was left beside the output');
});

test('item 12: a full disk while decompressing a root filesystem tarball is exit 3 with one line, nothing left', (t) => {
  if (!small) return t.skip('needs root for a 1 MiB tmpfs');
  oneLine(runCli(['build', '--rootfs', join(work, 'rootfs.tar.gz'), '--source-date-epoch', '1', '--output', `oci:${join(work, 'o1')}:t`], { env: { TMPDIR: small } }),
    3, /^repro-image: cannot write the decompressed copy .*\/rootfs\.tar: no space left on device$/);
  assert.deepEqual(readdirSync(small), []);
});

test('item 12: a full disk while writing outputs is exit 3 with one line, nothing left', (t) => {
  if (!small) return t.skip('needs root for a 1 MiB tmpfs');
  oneLine(build(`oci:${join(small, 'o')}:t`, ['--compression', 'none']), 3, /no space left on device$/);
  oneLine(build(`oci-archive:${join(small, 'o.tar')}`), 3, /no space left on device$/);
  oneLine(build(`docker-archive:${join(small, 'o.tar')}`), 3, /no space left on device$/);
  oneLine(runCli(['copy', `oci:${image}:t`, `dir:${join(small, 'd')}`]), 3, /no space left on device$/);
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'big'), randomBytes(3 << 20));
  writeFileSync(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY big /big\n');
  // On disk: --scratch memory (the default as root) would make its files in a tmpfs of its own, not in TMPDIR.
  const cf = ['build', '--compat', 'podman', '--containerfile', join(ctx, 'Containerfile'), '--source-date-epoch', '1', '--scratch', 'disk'];
  oneLine(runCli([...cf, '--output', `oci:${join(work, 'cf')}:t`], { env: { TMPDIR: small } }), 3, /no space left on device$/);
  assert.deepEqual(readdirSync(small), []);
});

test('item 12: a full disk while downloading is exit 3 naming the file, not retried as a broken connection', async (t) => {
  if (!small) return t.skip('needs root for a 1 MiB tmpfs');
  const served = join(work, 'served');
  mkdirSync(served);
  const bytes = randomBytes(2 << 20);
  writeFileSync(join(served, 'blob'), bytes);
  const server = await serveDirectory(served, '/m');
  try {
    const retries: string[] = [];
    await assert.rejects(
      downloadVerified('blob', [`${server.url}/blob`], join(small, 'blob'), { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, { onRetry: (m) => retries.push(m) }),
      (e: unknown) => e instanceof ReproError && e.exitCode === 3 && /cannot write .*\/blob: no space left on device$/.test(e.message),
    );
    assert.deepEqual(retries, []);
  } finally {
    await server.close();
  }
  assert.deepEqual(readdirSync(small), []);
});

test('item 12: a file system error nothing wrapped is still one line (the CLI\'s last resort)', () => {
  const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const r = systemError(e);
  assert.ok(r);
  assert.equal(r.exitCode, 3);
  assert.equal(r.message, 'write: no space left on device');
  const n = systemError(Object.assign(new Error('x'), { code: 'ENOTDIR', syscall: 'mkdir', path: '/a/b' }));
  assert.equal(n?.message, 'mkdir /a/b: not a directory (a file is in the way)');
  assert.equal(n?.exitCode, 2);
  assert.equal(systemError(Object.assign(new Error('x'), { code: 'EIO', syscall: 'read', path: '/a\nb' }))?.message, 'read /a\\u000ab: input/output error');
  assert.equal(systemError(new TypeError('a bug')), undefined, 'a real internal error keeps its stack trace');
});
