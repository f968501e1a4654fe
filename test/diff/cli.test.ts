/**
 * The command: exit codes, the JSON report against its schema and byte for byte stable, and bad
 * input (corrupted blobs, truncated archives, missing files, unwritable --html) failing with one
 * line that names the file, blob or byte offset, and leaving nothing behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINDINGS } from '../../src/diff/findings.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { runCli } from '../helpers/cli.js';
import { GOLDEN_DIR } from '../helpers/golden.js';
import { writeLayout } from './images.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020') as new (o: object) => { compile: (s: object) => ((d: unknown) => boolean) & { errors?: unknown } };
const SCHEMA = JSON.parse(readFileSync(join(GOLDEN_DIR, '../../docs/diff-schema.json'), 'utf8')) as { $defs: { findingId: { enum: string[] } } };

let work: string;
let n = 0;
before(() => { work = mkdtempSync(join(tmpdir(), 'diff-cli-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const FILES: RawMember[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/conf', data: 'one\ntwo\nthree\n' },
  { name: 'usr/bin/tool', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 4, 5, 6]) },
];
const CHANGED: RawMember[] = [
  { name: 'etc/', type: 'dir', mtime: 1700000500 },
  { name: 'etc/conf', data: 'one\n2\nthree\n' },
  { name: 'etc/new', data: 'new\n' },
  { name: 'usr/bin/tool', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 9, 4, 5, 6]), mode: 0o755 },
];
const layout = (members: RawMember[], compression: 'gzip' | 'none' = 'gzip'): string => writeLayout(join(work, `l${n++}`), { layers: [{ tar: makeTar(members), compression }] });

test('exit 0 when identical, 1 when different; text on stdout', () => {
  const a = layout(FILES);
  assert.equal(runCli(['diff', a, layout(FILES)]).status, 0);
  const r = runCli(['diff', a, layout(CHANGED)]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^different: 5 differences in 4 findings$/m);
  assert.match(r.stdout, /layer 1 \(sha256:[0-9a-f]{12}…\) \/ etc\/conf: content/);
  assert.match(r.stdout, /mtime newer than SOURCE_DATE_EPOCH on 1 entry {2}\[mtime-after-epoch\]/);
});

test('the JSON report validates against docs/diff-schema.json, whose finding ids are the catalogue', () => {
  assert.deepEqual([...SCHEMA.$defs.findingId.enum].sort(), Object.keys(FINDINGS).sort());
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(SCHEMA);
  const a = layout(FILES);
  const cases = [
    runCli(['diff', a, layout(CHANGED), '--format', 'json']),
    runCli(['diff', a, layout(FILES), '--format', 'json']),
    runCli(['diff', a, writeLayout(join(work, `l${n++}`), { layers: [{ tar: makeTar(FILES) }, { tar: makeTar([{ name: 'etc/.wh.conf', data: '' }]) }] }), '--format', 'json', '--semantic']),
  ];
  for (const r of cases) {
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    const doc = JSON.parse(r.stdout) as unknown;
    assert.ok(validate(doc), JSON.stringify(validate.errors));
  }
  // A schema that did not constrain anything would pass everything: it must reject a broken report.
  const broken = JSON.parse(cases[0]!.stdout) as { differences: Array<{ finding: string }> };
  broken.differences[0]!.finding = 'no-such-finding';
  assert.equal(validate(broken), false);
});

test('JSON and HTML are byte-stable whatever the time zone, locale and working directory', () => {
  const a = layout(FILES);
  const b = layout(CHANGED);
  const run = (env: NodeJS.ProcessEnv, cwd: string, html: string): [string, string] => {
    const r = runCli(['diff', a, b, '--format', 'json', '--html', html], { env, cwd });
    assert.equal(r.status, 1, r.stderr);
    return [r.stdout, readFileSync(html, 'utf8')];
  };
  const one = run({ TZ: 'UTC', LANG: 'C' }, work, join(work, 'one.html'));
  const two = run({ TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', LC_ALL: 'tr_TR.UTF-8' }, tmpdir(), join(work, 'two.html'));
  assert.equal(one[0], two[0]);
  assert.equal(one[1], two[1]);
});

/** A diff that must fail: the exit code, one line on stderr naming what is wrong, nothing on stdout. */
function mustFail(args: string[], exit: number, pattern: RegExp): void {
  const r = runCli(['diff', ...args]);
  assert.equal(r.status, exit, `exit ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '');
}

function layerBlob(ref: string): string {
  const dir = ref.slice('oci:'.length);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }>; config: { digest: string } };
  return join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7));
}

test('a corrupted uncompressed layer blob: exit 2 naming the layer and its digest', () => {
  const a = layout(FILES, 'none');
  const b = layout(CHANGED, 'none');
  const blob = layerBlob(b);
  const bytes = readFileSync(blob);
  bytes[1030] = bytes[1030]! ^ 0x01; // inside etc/conf's content (after two headers): still a valid tar
  writeFileSync(blob, bytes);
  mustFail([a, b], 2, /^repro-image: B oci:.*: layer 1 sha256:[0-9a-f]{64}: the blob hashes to sha256:[0-9a-f]{64}, not its digest \(corrupted blob\)$/);
});

test('a corrupted gzip layer: exit 2 naming the layer', () => {
  const a = layout(FILES);
  const b = layout(CHANGED);
  const blob = layerBlob(b);
  const bytes = readFileSync(blob);
  for (let i = 20; i < 40; i++) bytes[i] = 0xff;
  writeFileSync(blob, bytes);
  mustFail([a, b], 2, /^repro-image: B oci:.*: layer 1 sha256:[0-9a-f]{64}: corrupt or truncated gzip data/);
});

test('a corrupted config blob and a missing blob: exit 2 naming the blob', () => {
  const a = layout(FILES);
  const b = layout(CHANGED);
  const dir = b.slice(4);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string } };
  const config = join(dir, 'blobs/sha256', manifest.config.digest.slice(7));
  writeFileSync(config, readFileSync(config, 'utf8').replace('amd64', 'AMD64'));
  mustFail([a, b], 2, /: config sha256:[0-9a-f]{64} hashes to sha256:[0-9a-f]{64} \(corrupted blob\)$/);
  rmSync(config);
  mustFail([a, b], 2, /: blob sha256:[0-9a-f]{64} is missing$/);
});

test('truncated tarballs: exit 2 naming the file and the byte offset', () => {
  const good = join(work, 'good.tar');
  const cut = join(work, 'cut.tar');
  const full = makeTar(FILES);
  writeFileSync(good, full);
  writeFileSync(cut, full.subarray(0, 1300));
  mustFail([good, cut], 2, /cut\.tar: truncated: input ends at byte offset 1300/);
  writeFileSync(cut, makeTar(FILES, { end: false }));
  mustFail([good, cut], 2, /cut\.tar: truncated: no end-of-archive marker/);
});

test('missing inputs and bad usage: exit 2; an unreadable input: exit 3', () => {
  const a = layout(FILES);
  mustFail([a, join(work, 'nope')], 2, /^repro-image: B .*nope: no such file or directory$/);
  mustFail([a], 2, /expected two inputs/);
  mustFail([a, a, '--format', 'yaml'], 2, /--format: expected text or json/);
  mustFail([a, a, '--max-content-diff', '0'], 2, /--max-content-diff: expected a positive whole number/);
  mustFail([a, a, '--platform', 'linux'], 2, /--platform: expected OS\/ARCH/);
  mustFail(['/proc/self/mem', a], 3, /^repro-image: A \/proc\/self\/mem: cannot read: /);
});

test('--html: written whole or not at all', () => {
  const a = layout(FILES);
  const b = layout(CHANGED);
  const target = join(work, 'missing-dir', 'report.html');
  mustFail([a, b, '--html', target], 2, /cannot write .*report\.html: no such file or directory/);
  assert.equal(existsSync(join(work, 'missing-dir')), false);
  const ok = join(work, 'report.html');
  assert.equal(runCli(['diff', a, b, '--html', ok]).status, 1);
  assert.match(readFileSync(ok, 'utf8'), /^<!doctype html>/);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.tmp-')), []);
});
