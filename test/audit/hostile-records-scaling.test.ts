/**
 * The audit of an image whose package database is huge stays within a small heap: 300,000 tiny
 * packages in one dpkg status (24 MB), each depending on the next and on a package that is not
 * there (the generator of the sbom scaling tests), audited in a child Node whose heap is 210 MB
 * at most, as text and as --json. It needs 140 to 160 MB now; the old code ran out of heap below
 * 260 to 280 MB (470 and 690 MB peak RSS): every package's dependencies resolved, its purl a
 * chain of string pieces, the report's package entries spread and copied, and the --json report
 * held as one 86 MB string.
 *
 * And an image of many entries: 60,000 tiny dpkg packages of
 * one file each, with their `.list` and `.md5sums` (180,008 entries in one uncompressed layer:
 * test/helpers/many-entries.ts), audited in a child Node whose heap is 190 MB at most, as text
 * and as --json. Measured 2026-12-05 (Node 20, `--max-old-space-size`): it needs 125 to 150 MB
 * now (both outputs); before (main at fb0e3c0) it ran out of heap at 225 MB and passed at 250:
 * the layer's reading scaffolding (its entries by path, their changes, the file system) held
 * beside the entry table, a Buffer a kept database file, the kept files held after their
 * records were read, an account a hidden class of its own (a spread), a property array an
 * account, an entry and a record (fields added after the object was made), and the entry table
 * held through the report.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliInSmallHeap } from '../helpers/cli.js';
import { writeManyEntriesLayout } from '../helpers/many-entries.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'audit-scaling-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

/** `audit ARGS` in a Node of at most `mb` MB of heap (runCliInSmallHeap), its output in this test's directory. */
const auditInSmallHeap = (mb: number, args: string[]) => runCliInSmallHeap(mb, ['audit', ...args], join(dir, `out-${args.join('-').replace(/[^a-z0-9]+/gi, '_')}`));

const count = (b: Buffer, s: string): number => {
  let k = 0;
  for (let at = b.indexOf(s); at >= 0; at = b.indexOf(s, at + s.length)) k++;
  return k;
};

test('audit: 300,000 packages in one dpkg status, text and --json, in a 210 MB heap (was: out of heap below 260 MB)', () => {
  const n = 300_000;
  const root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`Package: p${i}\nStatus: install ok installed\nVersion: 1\nDepends: p${(i + 1) % n}, missing\n\n`);
  writeFileSync(join(root, 'var/lib/dpkg/status'), parts.join(''));
  const ref = `oci:${join(dir, 'img')}:t`;
  const b = runCli(['build', '--rootfs', root, '--output', ref, '--source-date-epoch', '0', '--compression', 'none']);
  assert.equal(b.status, 0, b.stderr);

  const text = auditInSmallHeap(210, [ref]);
  assert.equal(text.status, 0, `status ${text.status}, signal ${text.signal}: ${text.stderr.slice(-400)}`);
  const report = text.out.toString('utf8');
  assert.ok(report.includes('\n  dpkg-database: 3 entries, 23.8 MiB\n') && report.endsWith('\nEvery entry is accounted for.\n'), report);

  const json = auditInSmallHeap(210, ['--json', ref]);
  assert.equal(json.status, 0, `status ${json.status}, signal ${json.signal}: ${json.stderr.slice(-400)}`);
  const bytes = json.out;
  // Every package once, as the report writes it, and the report whole (its last member, then the end).
  assert.equal(count(bytes, '\n      "distribution": "debian",\n      "name": "p'), n);
  assert.ok(bytes.includes('\n    {\n      "distribution": "debian",\n      "name": "p99999",\n      "version": "1",\n      "source": {\n        "name": "p99999",\n        "version": "1"\n      },\n      "purl": "pkg:deb/debian/p99999@1",\n      "entries": 0,\n      "bytes": 0,\n      "modified": 0,\n      "missing": 0\n    }\n  ],\n  "rebuilders": [],\n'), 'the last package in name order, then the next member');
  assert.ok(bytes.subarray(-40).toString().endsWith('\n  ],\n  "warnings": []\n}\n'), bytes.subarray(-200).toString());
});

test('audit: 180,008 entries (60,000 packages of one file), text and --json, in a 190 MB heap (was: out of heap at 225 MB)', { timeout: 240_000 }, () => {
  const n = 60_000;
  const ref = writeManyEntriesLayout(join(dir, 'img'), n);

  const text = auditInSmallHeap(190, [ref]);
  assert.equal(text.status, 0, `status ${text.status}, signal ${text.signal}: ${text.stderr.slice(-400)}`);
  const report = text.out.toString('utf8');
  assert.ok(report.endsWith([
    '  dpkg-database: 120,003 entries, 9.3 MiB',
    '  parent directories: 5 entries, 0 B',
    '',
    `180,008 entries, 9.6 MiB (10,068,890 bytes) in ${ref}:`,
    '  from packages (no rebuilder asked)            60,000 entries  340.7 KiB    3.47% of bytes',
    '  generated by named build steps               120,008 entries    9.3 MiB   96.53% of bytes',
    '  modified since installed                           0 entries        0 B    0.00% of bytes',
    '  unexplained                                        0 entries        0 B    0.00% of bytes',
    'Every entry is accounted for.',
    '',
  ].join('\n')), report.slice(-1200));

  const json = auditInSmallHeap(190, ['--json', ref]);
  assert.equal(json.status, 0, `status ${json.status}, signal ${json.signal}: ${json.stderr.slice(-400)}`);
  const bytes = json.out;
  // Every entry once, with its bucket; each package file its package's, and the report whole.
  assert.equal(count(bytes, '\n      "bucket": '), 3 * n + 8);
  assert.equal(count(bytes, '\n      "owners": [\n        {\n          "name": "p'), n);
  assert.ok(bytes.includes('\n    {\n      "path": "usr/share/many/fp0059999",\n      "type": "file",\n      "size": 6,\n      "kind": "package",\n      "owners": [\n        {\n          "name": "p0059999",\n          "version": "1"\n        }\n      ],\n      "bucket": "packages"\n    },\n'));
  assert.ok(bytes.subarray(-300).toString().endsWith('\n      "path": "var/lib/dpkg/status",\n      "type": "file",\n      "size": 4620000,\n      "kind": "generated",\n      "step": "dpkg-database",\n      "bucket": "generated"\n    }\n  ],\n  "warnings": []\n}\n'), bytes.subarray(-300).toString());
});
