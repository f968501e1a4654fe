import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareVersions, satisfies } from '../../../src/sources/debian/version.js';
import { parseDeps } from '../../../src/sources/debian/depends.js';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

test('dpkg version order: the policy examples and the usual Debian suffixes', () => {
  const increasing = ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0-1', '1.0-1+b1', '1.0a', '1.0+b1', '1.0.0', '1.1~rc1', '1.1', '1:0.1'];
  for (let i = 0; i < increasing.length; i++) {
    for (let j = 0; j < increasing.length; j++) {
      assert.equal(sign(compareVersions(increasing[i]!, increasing[j]!)), sign(i - j), `${increasing[i]} vs ${increasing[j]}`);
    }
  }
  assert.equal(compareVersions('2.36-9+deb12u14', '2.36-9+deb12u4'), 1);
  assert.equal(compareVersions('1.00', '1.0'), 0, 'digit runs compare as numbers');
  assert.equal(compareVersions('0:1.0', '1.0'), 0, 'epoch 0 is the default');
  assert.throws(() => compareVersions('1.0-', '1.0'), /revision is empty/);
  assert.ok(satisfies('1.2-1', '>=', '1.2') && satisfies('1.2-1', '>>', '1.2') && !satisfies('1.2-1', '<<', '1.2-1') && satisfies('1.2-1', '=', '1.2-1'));
});

test('dpkg version order agrees with dpkg --compare-versions', () => {
  const versions = ['0', '0~', '1', '1.0', '1.0-0', '1.0-1', '1:1.0', '2:0', '1.2.3~beta1+dfsg-2', '1.2.3+dfsg-1~bpo12+1', '1.2.3+dfsg-1',
    '9.1-1', '10-1', '1.0a-1', '1.0A-1', '1.0.', '3.0.11-1~deb12u2', '3.0.11-1', '20230311', '20230311+deb12u1', '1.36.1-9+deb12u1', '7.88.1-10+deb12u5'];
  const pairs: Array<[string, string]> = [];
  for (const a of versions) for (const b of versions) if (a < b) pairs.push([a, b]);
  // One dpkg process for all pairs: prints lt/eq/gt per pair.
  const script = pairs.map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`).join('\n');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const theirs = r.stdout.trim().split('\n').map(Number);
  assert.equal(theirs.length, pairs.length);
  pairs.forEach(([a, b], i) => assert.equal(sign(compareVersions(a, b)), theirs[i], `${a} vs ${b}`));
});

test('dependency fields: alternatives, constraints, arch qualifiers, obsolete operators', () => {
  assert.deepEqual(parseDeps('libc6 (>= 2.34), awk | mawk:any (<< 2), foo (> 1)', 't'), [
    [{ name: 'libc6', op: '>=', version: '2.34' }],
    [{ name: 'awk' }, { name: 'mawk', archQualifier: 'any', op: '<<', version: '2' }],
    [{ name: 'foo', op: '>=', version: '1' }],
  ]);
  assert.throws(() => parseDeps('foo [amd64]', 'Packages:7'), /Packages:7: cannot parse the relation "foo \[amd64\]"/);
});
