/**
 * The package-database readers that audit and sbom run over an image's untrusted files stay
 * linear (each case took 5 to 72 s before; the bound is a third of that or less, and ten times
 * or more what it takes now, so a loaded machine does not fail it), and a
 * nesting that would cost its length squared is refused at PATH_MAX:
 * conffiles dpkg lists (each looked up in the .list by a scan), a Provides many packages share
 * (the list copied and sorted per provider), a License line with a long run of spaces (the
 * regular expression retried at every space), pacman dependencies (every package tried for each),
 * a desc key stated many times (its values copied each time), an mtree of names nested in
 * directory entries, and the audit report's missing paths (every package scanned for each).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildReport } from '../../src/audit/report.js';
import { archRecords } from '../../src/sources/arch/records.js';
import { parseDesc } from '../../src/sources/arch/desc.js';
import { parseMtree } from '../../src/sources/arch/mtree.js';
import { copyrightLicenses } from '../../src/sources/debian/copyright.js';
import { debianRecords } from '../../src/sources/debian/records.js';
import { ReproError } from '../../src/model/errors.js';

function within<T>(ms: number, what: string, f: () => T): T {
  const t = performance.now();
  const out = f();
  const took = performance.now() - t;
  assert.ok(took < ms, `${what}: ${took.toFixed(0)} ms, more than ${ms}`);
  return out;
}

const MD5 = '0123456789abcdef0123456789abcdef';

test('dpkg: 100,000 conffiles of one package (was 10 s)', () => {
  const k = 100_000;
  const list: string[] = [];
  const conf: string[] = [];
  for (let j = 0; j < k; j++) {
    list.push(`/etc/f${j}`);
    conf.push(` /etc/f${j} ${MD5}`);
  }
  const files = new Map([
    ['var/lib/dpkg/status', Buffer.from(`Package: a\nStatus: install ok installed\nVersion: 1\nConffiles:\n${conf.join('\n')}\n`)],
    ['var/lib/dpkg/info/a.list', Buffer.from(`${list.join('\n')}\n`)],
  ]);
  const [a] = within(3000, 'conffiles', () => debianRecords(files));
  assert.equal(a!.files.length, k);
  assert.ok(a!.files.every((f) => f.conffile === true && f.md5 === MD5));
});

test('dpkg: 30,000 packages that all provide one name (was 24 s)', () => {
  let status = '';
  for (let i = 0; i < 30_000; i++) status += `Package: p${i}\nStatus: install ok installed\nVersion: 1\nProvides: common\n${i === 0 ? 'Depends: common\n' : ''}\n`;
  const records = within(6000, 'providers', () => debianRecords(new Map([['var/lib/dpkg/status', Buffer.from(status)]])));
  assert.equal(records.length, 30_000);
  // The first provider in name order.
  assert.deepEqual(records.find((r) => r.name === 'p0')!.dependsOn, ['p0']);
});

test('a copyright License line with 200,000 spaces in it (was 57 s)', () => {
  const text = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+${' '.repeat(200_000)}x\n`;
  const lic = within(5000, 'License line', () => copyrightLicenses(text, 'copyright'));
  assert.equal(lic!.expression, lic!.refs[0]!.id);
  // The separators still split where they should.
  const plain = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+ or Expat, and BSD-3-clause  and   Zlib\n`;
  assert.equal(copyrightLicenses(plain, 'c')!.expression, '(GPL-2.0-or-later OR MIT) AND BSD-3-Clause AND Zlib');
  // And a pacman %LICENSE% value likewise.
  const desc = `%NAME%\na\n\n%VERSION%\n1-1\n\n%LICENSE%\nMIT${' '.repeat(200_000)}x\nGPL-2.0-only OR MIT\n\n`;
  const [a] = within(5000, '%LICENSE%', () => archRecords(new Map([['var/lib/pacman/local/a-1-1/desc', Buffer.from(desc)]])));
  assert.match(a!.license!, /^\(GPL-2\.0-only OR MIT\) AND LicenseRef-MIT-x$/);
});

test('copyright License lines: a line met again gives the same expression and refs; long distinct lines are not kept after the call (10 lines of 1 MB kept 186 MB for the life of the process)', () => {
  const doc = (line: string): string => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${line}\n`;
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(copyrightLicenses(doc('Custom Thing or GPL-2+'), 'c'), { expression: 'GPL-2.0-or-later OR LicenseRef-Custom-Thing', refs: [{ id: 'LicenseRef-Custom-Thing', name: 'Custom Thing' }] });
  }
  const module = new URL('../../src/sources/debian/copyright.js', import.meta.url).href;
  const script = `
    const { copyrightLicenses } = await import(${JSON.stringify(module)});
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10; i++) {
      const line = Array.from({ length: 100000 }, (_, j) => 'L' + i + 'x' + j).join(' or ');
      copyrightLicenses('Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\\n\\nFiles: *\\nLicense: ' + line + '\\n', 'c');
    }
    globalThis.gc();
    process.stdout.write(String(Math.round((process.memoryUsage().heapUsed - before) / 1e6)));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Number(r.stdout) < 60, `${r.stdout} MB retained`);
});

test('pacman: 16,000 packages with 10 dependencies each that nothing satisfies (was 72 s)', () => {
  const files = new Map<string, Buffer>();
  const deps = Array.from({ length: 10 }, (_, j) => `missing${j}>=1`);
  for (let i = 0; i < 16_000; i++) files.set(`var/lib/pacman/local/p${i}-1-1/desc`, Buffer.from(`%NAME%\np${i}\n\n%VERSION%\n1-1\n\n%PROVIDES%\nvirt=2\n\n%DEPENDS%\n${[...deps, 'p0', 'virt>=2', 'p1>5'].join('\n')}\n\n`));
  const records = within(12000, 'dependencies', () => archRecords(files));
  // By name, by a versioned provision (the first provider in name order), not by a version that is not there.
  assert.deepEqual(records.find((r) => r.name === 'p7')!.dependsOn, ['p0']);
});

test('pacman desc: one key stated 80,000 times (was 51 s)', () => {
  const d = within(8000, 'repeated key', () => parseDesc('%FILES%\nx\n\n'.repeat(80_000), 'desc'));
  assert.equal(d.get('FILES')!.length, 80_000);
});

test('mtree: names nested in directory entries past PATH_MAX are refused at their line (was 4.8 s, not refused)', () => {
  assert.throws(() => within(1000, 'nested', () => parseMtree('d type=dir\n'.repeat(20_000), 'mtree')),
    (e: unknown) => e instanceof ReproError && e.code === 'E_BAD_INPUT' && /^mtree: line 2049: the path is longer than 4096 bytes$/.test(e.message));
  assert.equal(parseMtree('d type=dir\n'.repeat(2048), 'mtree').at(-1)!.path.length, 4095);
});

test('the audit report counts 40,000 missing paths of 20,000 packages (was 48 s)', () => {
  const packages = Array.from({ length: 20_000 }, (_, i) => ({ distribution: 'debian', name: `p${i}`, version: '1' }));
  const missing = packages.flatMap((p) => [{ package: p.name, path: `${p.name}/a` }, { package: p.name, path: `${p.name}/b` }]);
  const r = within(8000, 'report', () => buildReport({ target: 't', manifest: 'm', platform: 'p' }, [], packages, missing, undefined));
  assert.ok(r.packages.every((p) => p.missing === 2));
});
