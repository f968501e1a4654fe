/**
 * planAccounts and settleAccounts: the audit plans the accounts while the files are hashed (their
 * digests not yet in the entries) and settles them once the digests are filled in. Settled, they
 * are exactly what accountEntries gives of the entries with their digests, whatever the digests
 * turn out to be: on random trees of files (digests equal to the records', different, missing),
 * hard links, several owners, generated files with and without digests, a step's file over a
 * package's, and directories whose parent account depends on all of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountEntries, ownership, planAccounts, settleAccounts } from '../../src/audit/account.js';
import type { FlatEntry } from '../../src/image/flatten.js';
import type { GeneratedEntry, PackageRecord, RecordedFile } from '../../src/sources/distribution.js';
import { rng } from '../helpers/rng.js';

const DIGESTS = ['11', '22', '33'];

function tree(seed: number): { entries: FlatEntry[]; digests: Map<string, { md5?: string; sha256?: string }>; packages: PackageRecord[]; generated: Map<string, GeneratedEntry> } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const entries: FlatEntry[] = [];
  const digests = new Map<string, { md5?: string; sha256?: string }>();
  const files: Record<string, RecordedFile[]> = { p: [], q: [] };
  const generated = new Map<string, GeneratedEntry>();
  for (const d of ['a', 'a/b', 'c']) entries.push({ path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, layer: 1 });
  for (let i = 0; i < 12; i++) {
    const path = `${pick(['a', 'a/b', 'c'])}/f${i}`;
    const type = r() < 0.15 ? 'hardlink' : 'file';
    const e: FlatEntry = { path, type, mode: r() < 0.1 ? 0o755 : 0o644, uid: 0, gid: 0, size: 3, layer: 1 };
    if (type === 'hardlink') e.linkname = 'a/f0';
    entries.push(e);
    // What hashing will find: usually a digest, sometimes none (a link that names nothing).
    if (r() < 0.9) digests.set(path, { md5: pick(DIGESTS), ...(r() < 0.3 ? { sha256: pick(DIGESTS) } : {}) });
    const recorded = (): RecordedFile => {
      const f: RecordedFile = { path: `/${path}` };
      const x = r();
      if (x < 0.5) f.md5 = pick(DIGESTS);
      else if (x < 0.7) { f.md5 = pick(DIGESTS); f.sha256 = pick(DIGESTS); }
      if (r() < 0.1) f.mode = 0o644;
      if (r() < 0.1) f.conffile = true;
      return f;
    };
    const owner = r();
    if (owner < 0.6) files['p']!.push(recorded());
    else if (owner < 0.75) { files['p']!.push(recorded()); files['q']!.push(recorded()); }
    if (r() < 0.3) {
      const g: GeneratedEntry = { path, step: pick(['step one', 'step two']), type: 'file' };
      const x = r();
      if (x < 0.4) g.md5 = pick(DIGESTS);
      else if (x < 0.7) { g.md5 = pick(DIGESTS); g.sha256 = pick(DIGESTS); }
      generated.set(path, g);
    }
  }
  const pkg = (name: string): PackageRecord => ({ distribution: 'debian', name, version: '1', purl: `pkg:deb/debian/${name}@1`, dependsOn: [], supplier: 'Debian', files: files[name]! } as PackageRecord);
  return { entries, digests, packages: [pkg('p'), pkg('q')], generated };
}

test('accounts planned before the digests and settled after are those of the entries with their digests', () => {
  let redone = 0;
  let parentsChanged = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const { entries, digests, packages, generated } = tree(seed);
    // Without digests, as the audit's entries are while the files are hashed.
    const map = new Map(entries.map((e) => [e.path, { ...e }]));
    const own = ownership(map, packages);
    const plan = planAccounts(map, own, generated);
    for (const [path, d] of digests) Object.assign(map.get(path)!, d);
    const settled = settleAccounts(plan);
    const expected = accountEntries(map, ownership(map, packages), generated);
    assert.deepEqual(settled, expected, `seed ${seed}`);
    redone += plan.later.length + plan.checks.filter((i) => expected[i]!.kind !== 'package' || expected[i]!.unchecked).length;
    // A step's file found not to be its bytes: the parent directories the plan took are not all parents.
    const parents = expected.flatMap((a, i) => (a.step === 'parent directories' ? [i] : []));
    if (parents.join() !== plan.parents.join()) parentsChanged++;
  }
  // The trees do exercise what a plan cannot know: accounts worked out again once digests are in,
  // and parents that are not once they are.
  assert.ok(redone > 100, `only ${redone} accounts depended on digests`);
  assert.ok(parentsChanged > 10, `only ${parentsChanged} trees had parents the plan could not know`);
});

test('a plan is settled without changing it: settling twice gives the same accounts', () => {
  const { entries, digests, packages, generated } = tree(7);
  const map = new Map(entries.map((e) => [e.path, { ...e, ...digests.get(e.path) }]));
  const plan = planAccounts(map, ownership(map, packages), generated);
  const before = [...plan.accounts];
  assert.deepEqual(settleAccounts(plan), settleAccounts(plan));
  assert.deepEqual([...plan.accounts], before);
});

test('a planned check is worked out again when the digest turns out different or never comes', () => {
  const at = (path: string, type: FlatEntry['type'], extra: Partial<FlatEntry> = {}): FlatEntry => ({ path, type, mode: 0o644, uid: 0, gid: 0, size: 3, layer: 1, ...extra });
  const map = new Map<string, FlatEntry>([
    ['a', at('a', 'dir', { mode: 0o755, size: 0 })],
    ['a/none', at('a/none', 'hardlink', { linkname: 'gone' })],
    ['a/other', at('a/other', 'file')],
    ['a/same', at('a/same', 'file')],
  ]);
  const p = { distribution: 'debian', name: 'p', version: '1', purl: 'pkg:deb/debian/p@1', dependsOn: [], supplier: 'Debian',
    files: [{ path: 'a/same', md5: '11' }, { path: 'a/other', md5: '11' }, { path: 'a/none', md5: '11' }] } as unknown as PackageRecord;
  const plan = planAccounts(map, ownership(map, [p]), new Map());
  // All three taken to be the package's until the digests are in.
  assert.deepEqual(plan.checks.map((i) => plan.paths[i]), ['a/none', 'a/other', 'a/same']);
  map.get('a/same')!.md5 = '11';
  map.get('a/other')!.md5 = '22';
  const byPath = new Map(settleAccounts(plan).map((a) => [a.path, a]));
  assert.equal(byPath.get('a/same')!.kind, 'package');
  assert.equal(byPath.get('a/same')!.unchecked, undefined);
  assert.equal(byPath.get('a/other')!.kind, 'modified');
  assert.deepEqual(byPath.get('a/other')!.differences, ['md5 recorded 11, image 22']);
  assert.deepEqual(byPath.get('a/other')!.actual, { md5: '22' });
  // A link that names nothing has no bytes to check: the package's, unchecked.
  assert.equal(byPath.get('a/none')!.kind, 'package');
  assert.equal(byPath.get('a/none')!.unchecked, true);
  assert.equal(byPath.get('a')!.step, 'parent directories');
});

test('the owners list accounts of one package share cannot be changed through one of them', () => {
  const entries: FlatEntry[] = [
    { path: 'a', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, layer: 1 },
    { path: 'b', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, layer: 1 },
  ];
  const pkg = { distribution: 'debian', name: 'p', version: '1', purl: 'pkg:deb/debian/p@1', dependsOn: [], supplier: 'Debian', files: [{ path: '/a' }, { path: '/b' }] } as PackageRecord;
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const [a, b] = settleAccounts(planAccounts(byPath, ownership(byPath, [pkg]), new Map()));
  assert.deepEqual([a!.owners, b!.owners], [[{ name: 'p', version: '1' }], [{ name: 'p', version: '1' }]]);
  // One list for the package: a caller's change to one account's list would be every account's.
  assert.throws(() => a!.owners!.push({ name: 'q', version: '2' }), TypeError);
  assert.throws(() => { a!.owners![0]!.name = 'q'; }, TypeError);
  assert.deepEqual(b!.owners, [{ name: 'p', version: '1' }]);
});
