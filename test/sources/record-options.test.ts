/**
 * `RecordOptions.dependencies: false` (what `audit` asks: its report has no dependencies): the
 * records are the same but for `dependsOn`, which is empty, for dpkg and pacman alike; nothing
 * of Depends, Pre-Depends, Provides, %DEPENDS% or %PROVIDES% is resolved, so a Depends of ten
 * million relations costs that reading nothing. `licenses: false` leaves pacman's %LICENSE% out
 * as it leaves Debian's copyright files. A database the readers refuse is refused either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archRecords } from '../../src/sources/arch/records.js';
import { debianRecords } from '../../src/sources/debian/records.js';
import { ReproError } from '../../src/model/errors.js';
import type { PackageRecord } from '../../src/sources/distribution.js';

const withoutDeps = (records: PackageRecord[]): PackageRecord[] => records.map((r) => ({ ...r, dependsOn: [] }));

const dpkg = (status: string, more: Array<[string, string]> = []): Map<string, Buffer> =>
  new Map([['var/lib/dpkg/status', Buffer.from(status)], ...more.map(([k, v]): [string, Buffer] => [k, Buffer.from(v)])]);

const STATUS = [
  'Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nSource: asrc (1.0)\nDepends: b (>= 1), v | c\nPre-Depends: c\nHomepage: https://example.org/a\nDescription: the a\n more\nConffiles:\n /etc/a 0123456789abcdef0123456789abcdef\n',
  'Package: b\nStatus: install ok installed\nVersion: 2\nArchitecture: all\nProvides: v\nDepends: a\n',
  'Package: c\nStatus: install ok installed\nVersion: 3\nArchitecture: amd64\nDepends: not-there\n',
  'Package: gone\nStatus: deinstall ok config-files\nVersion: 4\n',
].join('\n');

test('dpkg: dependencies: false gives the same records, dependsOn empty', () => {
  const files = dpkg(STATUS, [
    ['etc/os-release', 'VERSION_CODENAME=bookworm\n'],
    ['var/lib/dpkg/info/a:amd64.list', '/.\n/etc\n/etc/a\n/usr/bin/a\n'],
    ['var/lib/dpkg/info/a:amd64.md5sums', 'fedcba9876543210fedcba9876543210  usr/bin/a\n'],
  ]);
  const all = debianRecords(files, { licenses: false });
  assert.deepEqual(all.map((r) => r.dependsOn), [['b', 'c'], ['a'], []]);
  const none = debianRecords(files, { licenses: false, dependencies: false });
  assert.deepEqual(none.map((r) => r.dependsOn), [[], [], []]);
  assert.deepEqual(none, withoutDeps(all));
  assert.ok(none[0]!.files.length === 3 && none[0]!.description === 'the a' && none[0]!.purl === 'pkg:deb/debian/a@1.0-1?arch=amd64&distro=bookworm');
});

test('dpkg: dependencies: false reads a Depends of ten million relations and a Provides of two million for nothing', () => {
  const p = (name: string, more: string): string => `Package: ${name}\nStatus: install ok installed\nVersion: 1\n${more}\n`;
  const files = dpkg(p('a', `Depends: ${'x, '.repeat(10_000_000)}b | c, b\n`) + p('b', `Provides: ${'y (= 1), '.repeat(2_000_000)}v\n`) + p('c', 'Pre-Depends: v\nDepends: q, r\n'));
  const t = performance.now();
  const records = debianRecords(files, { dependencies: false });
  const took = performance.now() - t;
  assert.deepEqual(records.map((r) => `${r.name}:${r.dependsOn.join()}`), ['a:', 'b:', 'c:']);
  // The relations are skipped unread (1.3 s resolved, 60 ms skipped, here).
  assert.ok(took < 650, `${took.toFixed(0)} ms`);
});

test('dpkg: a status the reader refuses is refused without dependencies too, with the same message', () => {
  for (const bad of [
    'Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: a\nStatus: install ok installed\nVersion: 2\n',
    'Package: a\nStatus: install ok installed\n',
    'Status: install ok installed\nVersion: 1\n',
    'not deb822 at all\n',
  ]) {
    const message = (o: object): string => {
      try {
        debianRecords(dpkg(bad), o);
      } catch (e) {
        assert.ok(e instanceof ReproError && e.code === 'E_BAD_INPUT', String(e));
        return e.message;
      }
      return 'read';
    };
    assert.notEqual(message({}), 'read');
    assert.equal(message({ dependencies: false }), message({}));
  }
});

const desc = (name: string, more: string): [string, Buffer] => [`var/lib/pacman/local/${name}-1-1/desc`, Buffer.from(`%NAME%\n${name}\n\n%VERSION%\n1-1\n\n%ARCH%\nx86_64\n\n%URL%\nhttps://example.org/${name}\n\n${more}`)];

test('pacman: dependencies: false gives the same records, dependsOn empty; licenses: false leaves %LICENSE% out', () => {
  const files = new Map([
    desc('a', '%LICENSE%\nMIT\n\n%DEPENDS%\nb>=1\nv\nmissing\n\n'),
    desc('b', '%LICENSE%\nGPL-2.0-only\n\n%PROVIDES%\nv=2\n\n%DEPENDS%\na\n\n'),
    ['var/lib/pacman/local/a-1-1/files', Buffer.from('%FILES%\nusr/\nusr/bin/\nusr/bin/a\n\n')],
  ]);
  const all = archRecords(files);
  assert.deepEqual(all.map((r) => r.dependsOn), [['b'], ['a']]);
  const none = archRecords(files, { dependencies: false });
  assert.deepEqual(none.map((r) => r.dependsOn), [[], []]);
  assert.deepEqual(none, withoutDeps(all));
  assert.equal(none[0]!.files.length, 3);
  const unlicensed = archRecords(files, { dependencies: false, licenses: false });
  assert.deepEqual(unlicensed, withoutDeps(all).map(({ license: _l, ...r }) => r));
});

test('pacman: a desc the reader refuses is refused without dependencies too', () => {
  const files = new Map([desc('a', '%DEPENDS%\nb\n\nnot a key\n')]);
  assert.throws(() => archRecords(files), /line \d+: expected a %KEY% line/);
  assert.throws(() => archRecords(files, { dependencies: false, licenses: false }), /line \d+: expected a %KEY% line/);
});
