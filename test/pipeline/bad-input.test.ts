import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { makeTar } from '../helpers/tar-maker.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'bad-')); chmodSync(work, 0o755); });
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs a build that must fail: exit code, one line on stderr, and no output left behind. */
function mustFail(name: string, input: string, pattern: RegExp, opts: { env?: NodeJS.ProcessEnv; args?: string[]; uid?: number; gid?: number; exit?: number } = {}): void {
  const outDir = join(work, `out-${name}`);
  mkdirSync(outDir, { recursive: true });
  chmodSync(outDir, 0o777);
  for (const out of [`oci:${join(outDir, 'layout')}:t`, `oci-archive:${join(outDir, 'img.tar')}`]) {
    const r = runCli(['build', '--rootfs', input, '--output', out, ...(opts.args ?? ['--source-date-epoch', '1700000000'])],
      { env: { SOURCE_DATE_EPOCH: undefined, ...opts.env }, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}) });
    assert.equal(r.status, opts.exit ?? 2, `${name}: exit ${r.status}, stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line expected, got: ${r.stderr}`);
    assert.match(lines[0]!, pattern);
    assert.equal(r.stdout, '');
    assert.deepEqual(readdirSync(outDir), [], `${name}: nothing may be left in the output directory`);
  }
}

test('truncated tar: names the file and the byte offset', () => {
  const full = makeTar([{ name: 'a.txt', data: 'x'.repeat(3000) }, { name: 'b.txt', data: 'y' }]);
  const f = join(work, 'truncated.tar');
  writeFileSync(f, full.subarray(0, 2000));
  mustFail('truncated', f, /truncated\.tar: truncated: input ends at byte offset 2000/);
});

test('tar without an end-of-archive marker is truncated', () => {
  const f = join(work, 'noend.tar');
  writeFileSync(f, makeTar([{ name: 'a', data: 'a' }], { end: false }));
  mustFail('noend', f, /no end-of-archive marker/);
});

test('a ../ entry is refused', () => {
  const f = join(work, 'dotdot.tar');
  writeFileSync(f, makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/../../evil', data: 'x' }]));
  mustFail('dotdot', f, /escapes the root \('\.\.'\) and is refused/);
});

test('an absolute entry is refused', () => {
  const f = join(work, 'abs.tar');
  writeFileSync(f, makeTar([{ name: '/etc/passwd', data: 'x' }]));
  mustFail('abs', f, /absolute path "\/etc\/passwd" refused/);
});

test('an entry through a symlinked parent is refused', () => {
  const f = join(work, 'symparent.tar');
  writeFileSync(f, makeTar([{ name: 'etc', type: 'symlink', linkname: '/etc' }, { name: 'etc/cron.d/evil', data: 'x' }]));
  mustFail('symparent', f, /goes through the symlinked parent "etc" and is refused/);
});

test('a hard link to nothing is refused', () => {
  const f = join(work, 'badlink.tar');
  writeFileSync(f, makeTar([{ name: 'a', type: 'hardlink', linkname: 'missing' }]));
  mustFail('badlink', f, /hard link to "missing", which is not an earlier regular file/);
});

test('a corrupted header checksum is refused with its offset', () => {
  const t = makeTar([{ name: 'a', data: 'a' }, { name: 'b', data: 'b' }]);
  t[1034] = t[1034]! ^ 0xff;
  const f = join(work, 'checksum.tar');
  writeFileSync(f, t);
  mustFail('checksum', f, /bad tar header checksum at byte offset 1024/);
});

test('an unreadable file in a directory input is named', { skip: process.getuid?.() !== 0 ? 'needs root to run as another user' : false }, () => {
  const root = join(work, 'unreadable');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/shadow'), 'secret');
  chmodSync(join(root, 'etc/shadow'), 0o000);
  chownSync(join(root, 'etc/shadow'), 0, 0);
  chmodSync(root, 0o755);
  mustFail('unreadable', root, /etc\/shadow: permission denied/, { uid: 65534, gid: 65534 });
});

for (const bad of ['1.5', 'abc', '-5', ' 1700000000', '1e9', '']) {
  test(`bad SOURCE_DATE_EPOCH ${JSON.stringify(bad)} exits 2`, () => {
    const root = join(work, 'ok-root');
    mkdirSync(root, { recursive: true });
    mustFail(`epoch-env-${bad}`, root, /environment variable SOURCE_DATE_EPOCH: SOURCE_DATE_EPOCH must be a whole number/, { env: { SOURCE_DATE_EPOCH: bad }, args: [] });
    mustFail(`epoch-flag-${bad}`, root, /--source-date-epoch: SOURCE_DATE_EPOCH must be a whole number/, { args: [`--source-date-epoch=${bad}`] });
  });
}

test('a directory without SOURCE_DATE_EPOCH says how to set it', () => {
  const root = join(work, 'no-epoch');
  mkdirSync(root, { recursive: true });
  mustFail('no-epoch', root, /is a directory: set SOURCE_DATE_EPOCH .* or pass --source-date-epoch N/, { args: [] });
});

test('a missing rootfs and a bad reference are usage errors', () => {
  mustFail('missing', join(work, 'nope'), /--rootfs .*nope: no such file or directory/);
  const r = runCli(['build', '--rootfs', work, '--output', 'foo:bar', '--source-date-epoch', '1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--output "foo:bar": expected oci:DIR/);
});

test('a failed build leaves an existing layout untouched', () => {
  const good = join(work, 'good-root');
  mkdirSync(good, { recursive: true });
  writeFileSync(join(good, 'f'), 'x');
  const layout = join(work, 'existing');
  assert.equal(runCli(['build', '--rootfs', good, '--output', `oci:${layout}:a`, '--source-date-epoch', '1']).status, 0);
  const before = readdirSync(join(layout, 'blobs/sha256')).sort();
  const f = join(work, 'dotdot2.tar');
  writeFileSync(f, makeTar([{ name: '../x', data: 'x' }]));
  const r = runCli(['build', '--rootfs', f, '--output', `oci:${layout}:a`]);
  assert.equal(r.status, 2);
  assert.deepEqual(readdirSync(join(layout, 'blobs/sha256')).sort(), before);
  assert.ok(existsSync(join(layout, 'index.json')));
});
