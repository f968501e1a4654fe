/**
 * How much a build says: by default one line per normalisation step with a count; the paths with
 * -v/--verbose and in --json; with -q/--quiet only the result (and warnings, which are never
 * silenced); with --json nothing but warnings on stderr.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

let dir: string;
let rootfs: string;
const FILES = 120;
const EPOCH = 1700000000;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cli-output-'));
  rootfs = join(dir, 'rootfs');
  const deep = join(rootfs, 'usr/share/some-long-directory-name/and-another-long-one');
  mkdirSync(deep, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const f = join(deep, `a-file-with-a-rather-long-name-number-${String(i).padStart(4, '0')}.txt`);
    writeFileSync(f, `${i}\n`);
    utimesSync(f, EPOCH + 1000, EPOCH + 1000);
  }
  writeFileSync(join(rootfs, 'machine-id'), '');
});

after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const build = (...extra: string[]): ReturnType<typeof runCli> =>
  runCli(['build', '--rootfs', rootfs, '--source-date-epoch', String(EPOCH), '--output', `oci:${join(dir, `out${n++}`)}`, ...extra]);

test('by default: one line per step with its count, no lists of paths', () => {
  const r = build();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.ok(lines.length >= 1 && lines.length <= 8, r.stderr);
  for (const l of lines) {
    assert.match(l, /^(normalize )?[a-z -]+: \d+ changed$/, `a report line is a name and a count: ${l}`);
  }
  // Every file and directory newer than the epoch: the 120 files and the directories above them.
  assert.ok(lines.includes(`normalize clamp-mtime: ${FILES + 5} changed`), r.stderr);
  assert.doesNotMatch(r.stderr, /a-file-with-a-rather-long-name/);
});

test('--verbose (-v) lists every path under its step', () => {
  for (const flag of ['--verbose', '-v']) {
    const r = build(flag);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n');
    const at = lines.indexOf(`normalize clamp-mtime: ${FILES + 5} changed`);
    assert.ok(at >= 0, r.stderr);
    const listed = lines.slice(at + 1, at + 1 + FILES + 5);
    assert.ok(listed.every((l) => l.startsWith('  ') && !l.startsWith('   ')), listed.join('\n'));
    assert.ok(listed.includes(`  usr/share/some-long-directory-name/and-another-long-one/a-file-with-a-rather-long-name-number-0119.txt`));
  }
});

test('--quiet (-q): the digest on stdout and nothing on stderr', () => {
  for (const args of [['--quiet'], ['-q']]) {
    const r = build(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  }
  // Before the command too, as a global option.
  const r = runCli(['-q', 'build', '--rootfs', rootfs, '--source-date-epoch', String(EPOCH), '--output', `oci:${join(dir, 'q-first')}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('--json: the report with every path on stdout, stderr free of it; warnings still on stderr, even with -q', () => {
  const r = build('--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const j = JSON.parse(r.stdout) as { normalize: Array<{ name: string; changed: number; paths: string[] }> };
  const clamp = j.normalize.find((p) => p.name === 'clamp-mtime')!;
  assert.equal(clamp.changed, FILES + 5);
  assert.equal(clamp.paths.length, FILES + 5);
  const w = runCli(['-q', 'build', '--rootfs', rootfs, '--source-date-epoch', String(EPOCH), '--annotation', 'k=v', '--output', `docker-archive:${join(dir, 'w.tar')}`]);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, /^warning: docker-archive:.*: a docker-archive stores no manifest/);
});
