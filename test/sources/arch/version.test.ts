/** pacman's version order, cross-checked against pacman's own vercmp program. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseEvr, satisfies, vercmp } from '../../../src/sources/arch/version.js';

const VERSIONS = [
  '1', '1.0', '1.0.0', '1.0a', '1.0b', '1.0rc1', '1.0.rc1', '1.0-1', '1.0-2', '1.0-10', '1.0-1.1', '1.0+1', '1.0_1', '1.0~1',
  '1:1.0', '1:0.9', '0:1.0', '2:0', ':1.0', '1.01', '1.001', '1.1', '1.10', '1.9', '1.a', '1.A', '1a', 'a', 'alpha', 'beta', '1.0alpha',
  '1.0beta', '2.0', '2.0.1', '2.0-1', '2.0a-1', '10', '9', '1..0', '1.0.', '1.0-', '20240101', '2024.01.01', 'r123.abcdef', 'r99.zz',
  '1.0.0-1', '1.0.0-0', '0.5.12-1', '5.2.026-2', '5.2.26-2', '8.2.010-1', '8.2.10-1', '1:2.12-3', '2.12-3', 'abc', 'ABC', '1.2.3.4.5',
];

test('vercmp agrees with pacman vercmp on every pair of a varied set', () => {
  const pairs: Array<[string, string]> = [];
  for (const a of VERSIONS) for (const b of VERSIONS) pairs.push([a, b]);
  // One vercmp process per pair would be slow: a shell loop answers them all.
  const script = 'while IFS=\' \' read -r a b; do vercmp "$a" "$b"; done';
  const out = execFileSync('sh', ['-c', script], { input: pairs.map(([a, b]) => `${a} ${b}`).join('\n') + '\n', encoding: 'utf8' });
  const theirs = out.trim().split('\n').map(Number);
  assert.equal(theirs.length, pairs.length);
  const mismatches = pairs.filter(([a, b], i) => Math.sign(vercmp(a, b)) !== Math.sign(theirs[i]!)).map(([a, b], i) => `${a} vs ${b}: ours ${vercmp(a, b)}, vercmp ${theirs[i]}`);
  assert.deepEqual(mismatches, []);
});

test('epoch, version and release split as libalpm splits them', () => {
  assert.deepEqual(parseEvr('1:2.12-3'), { epoch: '1', version: '2.12', release: '3' });
  assert.deepEqual(parseEvr('2.12'), { epoch: '0', version: '2.12', release: undefined });
  assert.deepEqual(parseEvr(':1.0-1'), { epoch: '0', version: '1.0', release: '1' });
  assert.deepEqual(parseEvr('1.0-rc-2'), { epoch: '0', version: '1.0-rc', release: '2' });
});

test('constraints: a release is compared only when both sides have one', () => {
  assert.ok(satisfies('8.2.010-1', '>=', '8'));
  assert.ok(satisfies('8.2.010-1', '>=', '8.2.010'));
  assert.ok(satisfies('1.0-5', '=', '1.0'));
  assert.ok(!satisfies('1.0-5', '=', '1.0-4'));
  assert.ok(satisfies('1:0.1-1', '>', '9.9'));
  assert.ok(satisfies('2.39-1', '<', '2.40'));
  assert.ok(satisfies('2.39-1', '<=', '2.39'));
});
