/**
 * The reader of stdout (or stderr) goes away early: `repro-image audit --json IMG | head -c 100`.
 * Real CLI processes write into a pipe whose read end this process closes after the first chunk
 * (or before anything was written); each must end as SIGPIPE ends a GNU tool: exit 141, no stack
 * trace, its scratch directory gone from the TMPDIR it was given, no half-written output.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CLI, runCliAsync } from '../helpers/cli.js';
import { makeTar, setChecksum, type RawMember } from '../helpers/tar-maker.js';

let work: string;
/** Two root filesystems differing in every one of their files, and an image of the first. */
let treeA: string;
let treeB: string;
let image: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'broken-pipe-'));
  const files = (tag: string): RawMember[] => [
    { name: 'etc/', type: 'dir' },
    ...Array.from({ length: 4000 }, (_, i) => ({ name: `etc/a-rather-long-file-name-so-that-the-report-is-long-${String(i).padStart(5, '0')}`, data: `${tag} ${i}\n` })),
  ];
  treeA = join(work, 'a.tar');
  treeB = join(work, 'b.tar');
  writeFileSync(treeA, makeTar(files('a')));
  writeFileSync(treeB, makeTar(files('b')));
  image = `oci:${join(work, 'image')}:t`;
  const r = await runCliAsync(['build', '--rootfs', treeA, '--output', image], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(r.status, 0, r.stderr);
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function freshDir(name: string): string {
  const d = join(work, `${name}${n++}`);
  mkdirSync(d);
  return d;
}

const names = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

interface Ended { status: number | null; signal: NodeJS.Signals | null; stderr: string; received: number }

/**
 * Runs the CLI with `stream` (stdout or stderr) a pipe whose read end is closed after its first
 * chunk (`at: 'first-chunk'`) or at once (`at: 'start'`); the other stream is collected.
 */
function runClosing(args: string[], tmp: string, stream: 'stdout' | 'stderr', at: 'first-chunk' | 'start'): Promise<Ended> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TMPDIR: tmp, SOURCE_DATE_EPOCH: '1700000000' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const closing = child[stream]!;
  const other = stream === 'stdout' ? child.stderr! : child.stdout!;
  let text = '';
  let received = 0;
  other.on('data', (d: Buffer) => { if (stream === 'stdout') text += d.toString(); });
  if (at === 'start') closing.destroy();
  else {
    closing.once('data', (d: Buffer) => {
      received += d.length;
      closing.destroy();
    });
  }
  return new Promise((ok) => {
    child.on('close', (status, signal) => ok({ status, signal, stderr: text, received }));
  });
}

function assertBrokenPipeExit(r: Ended, what: string): void {
  assert.equal(r.signal, null, `${what}: ended by ${r.signal}`);
  assert.equal(r.status, 141, `${what}: exit ${r.status}; stderr: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Error|EPIPE|\n\s+at /, `${what}: no error, no stack trace on stderr`);
}

test('audit --json into a pipe closed after its first chunk: exit 141, no stack trace, TMPDIR empty', async () => {
  const tmp = freshDir('tmp');
  const r = await runClosing(['audit', '--json', image], tmp, 'stdout', 'first-chunk');
  assert.ok(r.received > 0, 'the audit wrote its first chunk');
  assertBrokenPipeExit(r, 'audit --json');
  assert.equal(r.stderr, '', 'nothing on stderr');
  assert.deepEqual(names(tmp), [], 'no scratch directory left');
});

test('diff of two trees into a pipe closed after its first chunk: exit 141, no stack trace, TMPDIR empty', async () => {
  const tmp = freshDir('tmp');
  const r = await runClosing(['diff', treeA, treeB], tmp, 'stdout', 'first-chunk');
  assert.ok(r.received > 0);
  assertBrokenPipeExit(r, 'diff');
  assert.equal(r.stderr, '');
  assert.deepEqual(names(tmp), []);
});

test('diff --html FILE into a closed pipe: the HTML report is complete (written before stdout), nothing else beside it', async () => {
  const tmp = freshDir('tmp');
  const out = freshDir('out');
  const html = join(out, 'report.html');
  const r = await runClosing(['diff', treeA, treeB, '--html', html], tmp, 'stdout', 'first-chunk');
  assertBrokenPipeExit(r, 'diff --html');
  assert.deepEqual(names(out), ['report.html'], 'no temporary file beside the report');
  assert.deepEqual(names(tmp), []);
});

test('build with stderr closed before its warning (work under way): exit 141, TMPDIR empty, no layout and nothing beside it', async () => {
  // A GNU volume header ('V') is skipped with a warning on stderr, written after the
  // tarball was read into the run's scratch and before the layer is written.
  const odd = makeTar([{ name: 'etc/odd', data: '' }], { end: false });
  odd[156] = 'V'.charCodeAt(0); // a GNU volume header: skipped with a warning
  setChecksum(odd.subarray(0, 512));
  const input = join(work, 'odd.tar.gz');
  writeFileSync(input, gzipSync(Buffer.concat([
    makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/big.bin', data: randomBytes(16 << 20) }], { end: false }),
    odd,
    Buffer.alloc(1024),
  ]), { level: 1 }));
  // The same build with stderr read: it warns, and succeeds.
  const control = await runCliAsync(['build', '--rootfs', input, '--output', `oci:${join(freshDir('out'), 'image')}:t`], { env: { TMPDIR: freshDir('tmp'), SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(control.status, 0, control.stderr);
  assert.match(control.stderr, /^warning: .*etc\/odd.*: skipped \(type "V"\)$/m);
  const tmp = freshDir('tmp');
  const out = freshDir('out');
  const r = await runClosing(['build', '--rootfs', input, '--output', `oci:${join(out, 'image')}:t`], tmp, 'stderr', 'start');
  assert.equal(r.signal, null);
  assert.equal(r.status, 141, 'exit 141');
  assert.deepEqual(names(tmp), [], 'no scratch directory left');
  assert.deepEqual(names(out), [], 'no layout, no layer beside it');
});

test('build into a closed stdout: the image is complete (the digest is printed last), exit 141, TMPDIR empty', async () => {
  const tmp = freshDir('tmp');
  const out = freshDir('out');
  const r = await runClosing(['build', '--rootfs', treeA, '--sbom', 'spdx-json', '--output', `oci:${join(out, 'image')}:t`], tmp, 'stdout', 'start');
  assertBrokenPipeExit(r, 'build --sbom');
  assert.deepEqual(names(tmp), []);
  assert.deepEqual(names(out), ['image']);
  assert.deepEqual(names(join(out, 'image')), ['blobs', 'index.json', 'oci-layout'], 'the layout holds only complete files');
  const check = await runCliAsync(['inspect', `oci:${join(out, 'image')}:t`]);
  assert.equal(check.status, 0, check.stderr);
});
