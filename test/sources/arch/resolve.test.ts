/** The resolver's choices, each the one libalpm makes, on small made-up repositories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDep } from '../../../src/sources/arch/depends.js';
import { resolve, sortByDeps, type Repository } from '../../../src/sources/arch/resolve.js';
import type { SyncPackage } from '../../../src/sources/arch/syncdb.js';

function pkg(repository: string, name: string, version: string, rel: { depends?: string[]; provides?: string[]; conflicts?: string[]; groups?: string[] } = {}): SyncPackage {
  return {
    repository, name, version, base: name, architecture: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, size: 1, sha256: '0'.repeat(64),
    depends: (rel.depends ?? []).map(parseDep), provides: (rel.provides ?? []).map(parseDep), conflicts: (rel.conflicts ?? []).map(parseDep), groups: rel.groups ?? [],
  };
}

const repo = (name: string, packages: SyncPackage[]): Repository => ({ name, packages: [...packages].sort((a, b) => (a.name < b.name ? -1 : 1)) });
const names = (r: ReturnType<typeof resolve>): string[] => r.map(({ pkg: p, reason }) => `${p.repository}/${p.name}-${p.version}${reason === 'explicit' ? '*' : ''}`);

test('providers: the first repository wins, then byte order of names; a package of the name beats any provider', () => {
  const core = repo('core', [pkg('core', 'zsh', '1-1', { provides: ['sh'] }), pkg('core', 'dash', '1-1', { provides: ['sh'] }), pkg('core', 'app', '1-1', { depends: ['sh', 'editor'] })]);
  const extra = repo('extra', [pkg('extra', 'bash', '1-1', { provides: ['sh'] }), pkg('extra', 'editor', '2-1'), pkg('extra', 'aaa-editor', '1-1', { provides: ['editor'] })]);
  assert.deepEqual(names(resolve([core, extra], ['app'])), ['core/dash-1-1', 'extra/editor-2-1', 'core/app-1-1*']);
});

test('versioned dependencies: an unversioned provision never satisfies one; a versioned one does', () => {
  const core = repo('core', [
    pkg('core', 'app', '1-1', { depends: ['libx>=2'] }),
    pkg('core', 'libx', '1-1'),
    pkg('core', 'libx-bare', '9-1', { provides: ['libx'] }),
    pkg('core', 'libx-compat', '1-1', { provides: ['libx=2.5'] }),
  ]);
  assert.deepEqual(names(resolve([core], ['app'])), ['core/libx-compat-1-1', 'core/app-1-1*']);
});

test('a dependency named as a target is met by that target, wherever it stands in the list', () => {
  const core = repo('core', [pkg('core', 'bash', '1-1', { provides: ['sh'] }), pkg('core', 'dash', '1-1', { provides: ['sh'] }), pkg('core', 'app', '1-1', { depends: ['sh'] })]);
  assert.deepEqual(names(resolve([core], ['app', 'dash'])), ['core/dash-1-1*', 'core/app-1-1*']);
});

test('a group name installs its members; a package of that name would win', () => {
  const core = repo('core', [pkg('core', 'b', '1-1', { groups: ['tools'] }), pkg('core', 'a', '1-1', { groups: ['tools'] })]);
  assert.deepEqual(names(resolve([core], ['tools'])), ['core/a-1-1*', 'core/b-1-1*']);
});

test('installation order is libalpm sortbydeps: dependencies first, the list order kept otherwise', () => {
  // The example of libalpm's comment: A depends on C, B depends on A; A,B,C,D becomes C,A,B,D.
  const [a, b, c, d] = [pkg('r', 'A', '1-1', { depends: ['C'] }), pkg('r', 'B', '1-1', { depends: ['A'] }), pkg('r', 'C', '1-1'), pkg('r', 'D', '1-1')];
  assert.deepEqual(sortByDeps([a!, b!, c!, d!]).map((p) => p.name), ['C', 'A', 'B', 'D']);
  // A cycle is broken where it is met, as libalpm does (with a warning there).
  const [x, y] = [pkg('r', 'x', '1-1', { depends: ['y'] }), pkg('r', 'y', '1-1', { depends: ['x'] })];
  assert.deepEqual(sortByDeps([x!, y!]).map((p) => p.name), ['y', 'x']);
});

test('conflicts and unknown targets are errors that say what to do', () => {
  const core = repo('core', [pkg('core', 'a', '1-1', { conflicts: ['b<2'] }), pkg('core', 'b', '1.5-1'), pkg('core', 'c', '1-1', { depends: ['gone'] })]);
  assert.throws(() => resolve([core], ['a', 'b']), /a 1-1 and b 1\.5-1 are in conflict \(a conflicts with "b<2"\)/);
  assert.throws(() => resolve([core], ['nope']), /target not found: nope/);
  assert.throws(() => resolve([core], ['c']), /cannot resolve "gone", a dependency of "c"/);
});

test('the same databases always give the same set, whatever order their entries came in', () => {
  const ps = [pkg('core', 'p1', '1-1', { depends: ['p2', 'sh'] }), pkg('core', 'p2', '1-1', { depends: ['p3'] }), pkg('core', 'p3', '1-1'), pkg('core', 'k', '1-1', { provides: ['sh'] }), pkg('core', 'j', '1-1', { provides: ['sh'] })];
  const one = names(resolve([repo('core', ps)], ['p1']));
  const two = names(resolve([repo('core', [...ps].reverse())], ['p1']));
  assert.deepEqual(one, two);
  assert.deepEqual(one, ['core/p3-1-1', 'core/p2-1-1', 'core/j-1-1', 'core/p1-1-1*']);
});
