/**
 * Hostile images against `diff`: names and values that try to forge lines of the text report or
 * break its JSON and HTML, and inputs that try to make it slow or crash.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { runCli } from '../helpers/cli.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { diff } from '../../src/diff/image-diff.js';
import { FlatFileSystem } from '../../src/image/whiteouts.js';
import { sha256 } from '../../src/model/digest.js';
import { MediaType } from '../../src/model/media-types.js';
import { writeLayout, type ImageSpec } from './images.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020') as new (o: object) => { compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } };
const SCHEMA = JSON.parse(readFileSync(join(GOLDEN_DIR, '../../docs/diff-schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(SCHEMA);

let work: string;
let n = 0;
before(() => { work = mkdtempSync(join(tmpdir(), 'diff-hostile-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const layout = (spec: ImageSpec): string => writeLayout(join(work, `l${n++}`), spec);

/** A layout of one image without layers whose config is `config`, byte for byte. */
function writeLayoutWithConfig(dir: string, config: Buffer): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const digest = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, ...put(config) }, layers: [] })));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, ...manifest }] }));
}

const FORGED = 'etc/x\n  layer 1 (sha256:deadbeef) / etc/passwd: content: 1 bytes -> 2 bytes  [content]';
const ANSI = 'etc/\u001b[2J\u001b[31mRED\u001b[0m\r';

test('names, labels and file lines from the images cannot add lines to the text report or reach the terminal raw', () => {
  const files = (v: string): RawMember[] => [
    { name: 'etc/', type: 'dir' },
    { name: FORGED, data: v },
    { name: ANSI, data: v },
    { name: 'etc/text', data: `same\n\u001b[31m${v}\rforged\n` },
  ];
  const a = layout({ layers: [{ tar: makeTar(files('a')) }], config: { config: { Labels: { 'k\u001b[31m\u2028': 'v\n\u0007\u007f' } } } });
  const b = layout({ layers: [{ tar: makeTar(files('b')) }], config: { config: { Labels: { 'k\u001b[31m\u2028': 'w\n\u0007\u007f' } } } });
  const r = runCli(['diff', a, b]);
  assert.equal(r.status, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/, 'no control character but newline and tab');
  // Only the real differences start a line: a label and three files.
  const starts = r.stdout.split('\n').filter((l) => /^ {2}(config|layer)/.test(l));
  assert.equal(starts.length, 4, starts.join('\n'));
  assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('  layer 1 (sha256:deadbeef)')), 'forged line');
  assert.match(r.stdout, /etc\/x\\u000a {2}layer 1 \(sha256:deadbeef\)/);
  // Diff headers are one line each in the JSON report too.
  const j = runCli(['diff', a, b, '--format', 'json']);
  const doc = JSON.parse(j.stdout) as { differences: Array<{ content?: { diff?: string } }> };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  for (const d of doc.differences) {
    if (!d.content?.diff) continue;
    const lines = d.content.diff.split('\n');
    assert.match(lines[0]!, /^--- a\//);
    assert.match(lines[1]!, /^\+\+\+ b\//);
    assert.match(lines[2]!, /^@@ /, d.content.diff);
  }
});

test('a layer of N whiteouts over N files is flattened in linear time', () => {
  // diff flattens images with different numbers of layers through FlatFileSystem. Each whiteout
  // used to scan every path kept so far: 80,000 of them took 29 s here, now 0.1 s.
  const N = 80_000;
  const fs = new FlatFileSystem<number>();
  const t0 = performance.now();
  fs.apply({ whiteouts: [], entries: Array.from({ length: N }, (_, i) => ({ path: `d/f${i}`, dir: false, value: i })) });
  fs.apply({ whiteouts: Array.from({ length: N }, (_, i) => ({ opaque: false as const, path: `d/f${i}` })), entries: [] });
  const ms = performance.now() - t0;
  assert.equal(fs.files.size, 0);
  assert.ok(ms < 3000, `took ${Math.round(ms)} ms`);
});

test('whiteouts that delete everything, then recreate; opaque directories; a file replacing a directory', async () => {
  const a = layout({ layers: [{ tar: makeTar([{ name: 'd/', type: 'dir' }, { name: 'd/f', data: 'new' }, { name: 'e', data: 'file' }]) }] });
  const b = layout({ layers: [
    { tar: makeTar([{ name: 'd/', type: 'dir' }, { name: 'd/f', data: 'old' }, { name: 'd/g', data: 'g' }, { name: 'e/', type: 'dir' }, { name: 'e/x', data: 'x' }, { name: 'z', data: 'z' }]) },
    { tar: makeTar([{ name: '.wh.d' }, { name: '.wh.z' }, { name: 'd/', type: 'dir' }, { name: 'd/f', data: 'mid' }, { name: 'd/g', data: 'g' }]) },
    { tar: makeTar([{ name: 'd/', type: 'dir' }, { name: 'd/.wh..wh..opq' }, { name: 'd/f', data: 'new' }, { name: 'e', data: 'file' }]) },
  ] });
  const r = await diff(a, b);
  assert.deepEqual(r.differences.map((d) => `${d.location.path ?? ''}:${d.field}`), [':layer-count']);
});

test('a config nested thousands of levels deep is exit 2 naming the config, not a stack overflow', () => {
  // 5,000 nested arrays (10 KB): a RangeError, exit 3 with a stack trace, before.
  const deep = (n: number, leaf: unknown): unknown => { let v = leaf; for (let i = 0; i < n; i++) v = [v]; return v; };
  const config = (n: number, leaf: unknown): Buffer => Buffer.from(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"deep":${'['.repeat(n)}${JSON.stringify(leaf)}${']'.repeat(n)}}`);
  const a = layout({ layers: [], config: { deep: deep(3, 1) } });
  const b = join(work, `l${n++}`);
  writeLayoutWithConfig(b, config(5000, 2));
  const r = runCli(['diff', a, `oci:${b}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: B oci:\S+: config sha256:[0-9a-f]{64}: JSON nested more than 256 levels deep \(at byte \d+\), more than diff compares\n$/);
  // A shallow config still compares.
  const c = runCli(['diff', a, layout({ layers: [], config: { deep: deep(200, 2) } }), '--format', 'json']);
  assert.equal(c.status, 1, c.stderr);
  assert.ok(validate(JSON.parse(c.stdout)));
});

test('two names that differ only in how a letter is encoded (composed, decomposed) never look alike in the text and HTML reports', () => {
  const composed = 'etc/caf\u00e9';
  const decomposed = 'etc/cafe\u0301';
  assert.notEqual(composed, decomposed);
  assert.equal(composed, decomposed.normalize('NFC'));
  const a = layout({ layers: [{ tar: makeTar([{ name: 'etc/', type: 'dir' }, { name: composed, data: 'x' }]) }] });
  const b = layout({ layers: [{ tar: makeTar([{ name: 'etc/', type: 'dir' }, { name: decomposed, data: 'x' }]) }] });
  const r = runCli(['diff', a, b]);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.includes('etc/caf'));
  assert.ok(lines.length >= 2, r.stdout);
  assert.ok(lines.some((l) => l.includes('etc/caf\u00e9')), 'the composed name as it is');
  assert.ok(lines.some((l) => l.includes('etc/cafe\\u0301')), 'the decomposed name escaped');
  assert.ok(!lines.some((l) => l.includes(decomposed)), 'the decomposed name never raw');
  const html = join(work, 'nfd.html');
  assert.equal(runCli(['diff', a, b, '--html', html]).status, 1);
  const page = readFileSync(html, 'utf8');
  assert.ok(!page.includes(decomposed), 'the decomposed name never raw in the page');
  assert.ok(page.includes('cafe\\u0301'));
});

test('two link targets that differ only in how a letter is encoded never look alike in the text and HTML reports (they were shown raw, the same)', () => {
  const composed = 'caf\u00e9';
  const decomposed = 'cafe\u0301';
  const a = layout({ layers: [{ tar: makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/link', type: 'symlink', linkname: composed }, { name: 'etc/only-a', type: 'symlink', linkname: decomposed }]) }] });
  const b = layout({ layers: [{ tar: makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/link', type: 'symlink', linkname: decomposed }]) }] });
  const r = runCli(['diff', a, b]);
  assert.equal(r.status, 1, r.stderr);
  assert.ok(!r.stdout.includes(decomposed), r.stdout);
  assert.match(r.stdout, /etc\/link: link-target: "caf\u00e9" -> "cafe\\u0301"/);
  assert.match(r.stdout, /etc\/only-a: presence: only in A .*"link-target":"cafe\\u0301"/);
  const html = join(work, 'nfd-link.html');
  assert.equal(runCli(['diff', a, b, '--html', html]).status, 1);
  const page = readFileSync(html, 'utf8');
  assert.ok(!page.includes(decomposed), 'the decomposed target never raw in the page');
  const j = runCli(['diff', a, b, '--format', 'json']);
  assert.ok(JSON.stringify(JSON.parse(j.stdout)).includes(decomposed), 'the JSON report has the target as it is');
});
