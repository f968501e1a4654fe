/**
 * Findings that point at the right cause (issue 15, defect 6): two builds whose SOURCE_DATE_EPOCH
 * differ by one second are "the two builds used different SOURCE_DATE_EPOCH values", with both
 * values, not "mtime newer than SOURCE_DATE_EPOCH … clamp times"; a build that did not clamp is
 * still mtime-after-epoch; the `platform` hint names where the platform differs (the index.json
 * descriptor, the config, or both).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupFindings } from '../../src/diff/findings.js';
import type { Difference } from '../../src/diff/types.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
let rootfs: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'diff-epoch-'));
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/a'), 'a\n');
  writeFileSync(join(rootfs, 'etc/old'), 'old\n');
  utimesSync(join(rootfs, 'etc/old'), 1600000000, 1600000000);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function build(name: string, ...args: string[]): string {
  const out = join(dir, name);
  const r = runCli(['build', '--rootfs', rootfs, '--output', `oci:${out}`, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

interface Report { findings: Array<{ id: string; title: string; hint: string; count: number }> }
const diffJson = (a: string, b: string, ...extra: string[]): Report => {
  const r = runCli(['diff', `oci:${a}`, `oci:${b}`, '--format', 'json', ...extra]);
  assert.equal(r.status, 1, r.stderr);
  return JSON.parse(r.stdout) as Report;
};

test('SOURCE_DATE_EPOCH off by one: a finding that says so, with both values', () => {
  const a = build('a', '--source-date-epoch', '1700000000');
  const b = build('b', '--source-date-epoch', '1700000001');
  const r = diffJson(a, b);
  const ids = r.findings.map((f) => f.id);
  assert.ok(!ids.includes('mtime-after-epoch'), `not "clamp times": ${ids.join(', ')}`);
  const f = r.findings.find((x) => x.id === 'source-date-epoch')!;
  assert.ok(f, ids.join(', '));
  // etc and etc/a were clamped to each build's own time; etc/old is older than both and equal.
  assert.equal(f.count, 2);
  assert.match(f.title, /^the two builds used different SOURCE_DATE_EPOCH values \(A 1700000000 \(2023-11-14T22:13:20Z\), B 1700000001 \(2023-11-14T22:13:21Z\); 2 entries/);
  assert.match(f.hint, /created fields show different times/);
  const text = runCli(['diff', `oci:${a}`, `oci:${b}`]).stdout;
  assert.match(text, /the two builds used different SOURCE_DATE_EPOCH values/);
  // With --source-date-epoch the caller decides: B is newer than it.
  assert.ok(diffJson(a, b, '--source-date-epoch', '1700000000').findings.some((x) => x.id === 'mtime-after-epoch'));
});

test('a build that did not clamp its times is still "mtime newer than SOURCE_DATE_EPOCH"', () => {
  const a = build('c', '--source-date-epoch', '1700000000');
  const b = build('d', '--source-date-epoch', '1700000001', '--normalize', 'none');
  const r = diffJson(a, b);
  assert.ok(r.findings.some((x) => x.id === 'mtime-after-epoch'), r.findings.map((x) => x.id).join(', '));
  assert.ok(!r.findings.some((x) => x.id === 'source-date-epoch'));
});

test('the platform hint names where the platform differs', () => {
  const a = build('e', '--source-date-epoch', '1700000000');
  const b = build('f', '--source-date-epoch', '1700000000');
  // Only the index.json descriptor: drop its platform.
  const indexPath = join(b, 'index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: Array<{ platform?: unknown }> };
  delete index.manifests[0]!.platform;
  writeFileSync(indexPath, JSON.stringify(index));
  const only = diffJson(a, b).findings.find((x) => x.id === 'platform')!;
  assert.match(only.hint, /index\.json descriptor/);
  assert.doesNotMatch(only.hint, /config\.architecture/);
  // Both the descriptor and the config: another architecture.
  const arm = build('g', '--source-date-epoch', '1700000000', '--platform', 'linux/arm64');
  const both = diffJson(a, arm).findings.find((x) => x.id === 'platform')!;
  assert.match(both.hint, /index\.json descriptor.*, and in the image config's architecture/);
  // Only the config.
  const d: Difference = { location: { level: 'config' }, field: 'config.architecture', a: 'amd64', b: 'arm64', finding: 'platform' };
  const [cfg] = groupFindings([d], () => 'config');
  assert.match(cfg!.hint, /^It differs in the image config's architecture, os or variant/);
  assert.doesNotMatch(cfg!.hint, /descriptor/);
});
