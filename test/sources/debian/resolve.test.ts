import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeUniverse, parsePackages } from '../../../src/sources/debian/packages.js';
import { resolve } from '../../../src/sources/debian/resolve.js';

const pkg = (name: string, version: string, extra = ''): string =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nFilename: pool/${name}_${version}.deb\nSize: 1\nSHA256: ${'0'.repeat(64)}\n${extra}`;

function universe(...paragraphs: string[]) {
  return makeUniverse(parsePackages(paragraphs.join('\n'), 'main', 'amd64', 'Packages'));
}

const names = (ps: Array<{ name: string; version: string }>): string[] => ps.map((p) => `${p.name}=${p.version}`);

test('closure over Depends and Pre-Depends, highest version meeting the constraint', () => {
  const u = universe(
    pkg('app', '1', 'Depends: lib (>= 2), tool\nPre-Depends: base\n'),
    pkg('lib', '1'), pkg('lib', '3'), pkg('lib', '2'),
    pkg('tool', '1', 'Depends: lib (<< 4)\n'),
    pkg('base', '1'),
    pkg('unrelated', '1'),
  );
  assert.deepEqual(names(resolve(u, { packages: ['app'], essential: false })), ['app=1', 'base=1', 'lib=3', 'tool=1']);
});

test('alternatives: an already selected one wins, else the first that can be satisfied', () => {
  const u = universe(
    pkg('app', '1', 'Depends: missing | second | third\n'),
    pkg('second', '1'), pkg('third', '1'),
  );
  assert.deepEqual(names(resolve(u, { packages: ['app'], essential: false })), ['app=1', 'second=1']);
  assert.deepEqual(names(resolve(u, { packages: ['third', 'app'], essential: false })), ['app=1', 'third=1']);
});

test('virtual packages: providers by priority then name; versioned Provides meet versioned deps', () => {
  const u = universe(
    pkg('app', '1', 'Depends: awk, mail-transport (>= 2)\n'),
    pkg('gawk', '1', 'Provides: awk\nPriority: optional\n'),
    pkg('mawk', '1', 'Provides: awk\nPriority: required\n'),
    pkg('mta-old', '1', 'Provides: mail-transport (= 1)\n'),
    pkg('mta-new', '1', 'Provides: mail-transport (= 2)\n'),
  );
  assert.deepEqual(names(resolve(u, { packages: ['app'], essential: false })), ['app=1', 'mawk=1', 'mta-new=1']);
  assert.deepEqual(names(resolve(u, { packages: ['gawk', 'app'], essential: false })), ['app=1', 'gawk=1', 'mta-new=1']);
});

test('essential and priority seeds', () => {
  const u = universe(pkg('e', '1', 'Essential: yes\nPriority: required\n'), pkg('r', '1', 'Priority: required\n'), pkg('i', '1', 'Priority: important\n'), pkg('o', '1'));
  assert.deepEqual(names(resolve(u, { packages: [], essential: true })), ['e=1']);
  assert.deepEqual(names(resolve(u, { packages: [], essential: true, priority: 'required' })), ['e=1', 'r=1']);
  assert.deepEqual(names(resolve(u, { packages: [], essential: false, priority: 'important' })), ['e=1', 'i=1', 'r=1']);
});

test('an unsatisfiable dependency names the chain that needs it and what is available', () => {
  const u = universe(pkg('app', '1', 'Depends: mid\n'), pkg('mid', '1', 'Depends: lib (>= 5) | other\n'), pkg('lib', '4'));
  assert.throws(() => resolve(u, { packages: ['app'], essential: false }),
    /unsatisfiable Depends: lib \(>= 5\) \| other, needed by \(named in the spec\) → app → mid \(lib has 4; other is not available\)/);
  assert.throws(() => resolve(u, { packages: ['nope'], essential: false }), /package "nope" \(named in the spec\) is not in the suite's indexes/);
});

test('Conflicts and Breaks between selected packages are errors', () => {
  const u = universe(pkg('a', '1', 'Conflicts: b\n'), pkg('b', '1'), pkg('c', '1', 'Breaks: b (<< 2)\n'));
  assert.throws(() => resolve(u, { packages: ['a', 'b'], essential: false }), /a 1 Conflicts b, but b 1 is selected/);
  assert.throws(() => resolve(u, { packages: ['c', 'b'], essential: false }), /c 1 Breaks b \(<< 2\), but b 1 is selected/);
});

test('resolution does not depend on the order of the index', () => {
  const ps = [pkg('app', '1', 'Depends: x | y, z\n'), pkg('x', '1', 'Depends: z\n'), pkg('y', '1'), pkg('z', '2'), pkg('z', '1')];
  const a = names(resolve(universe(...ps), { packages: ['app'], essential: false }));
  const b = names(resolve(universe(...[...ps].reverse()), { packages: ['app'], essential: false }));
  assert.deepEqual(a, b);
});
