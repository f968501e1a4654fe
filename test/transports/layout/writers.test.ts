/**
 * Issue 13, items 1, 5, 14, 15: writers of one oci: layout or one archive path, the fields an index
 * keeps when a tag is added, and symlinks in a layout (read or written) that lead out of it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalBytes } from '../../../src/model/canonical-json.js';
import { withLock } from '../../../src/fs/lock.js';
import { runCli, runCliAsync } from '../../helpers/cli.js';
import { makeTar } from '../../helpers/tar-maker.js';

let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'writers-')); });
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** A small rootfs tarball whose content depends on `seed`. */
function rootfs(seed: string): string {
  const f = join(work, `rootfs-${n++}.tar`);
  writeFileSync(f, makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/seed', data: seed }]));
  return f;
}

interface IndexJson { manifests: Array<{ digest: string; annotations?: Record<string, string> }>; [k: string]: unknown }
const readIndex = (layout: string): IndexJson => JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as IndexJson;
const tagsOf = (layout: string): string[] => readIndex(layout).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '').sort();

function build(input: string, out: string): ReturnType<typeof runCliAsync> {
  return runCliAsync(['build', '--rootfs', input, '--output', out, '--source-date-epoch', '1700000000']);
}

// ---- item 1 ---------------------------------------------------------------------------------

test('item 1: four builds writing different tags into one layout at once: every tag survives', async () => {
  const layout = join(work, 'shared');
  assert.equal((await build(rootfs('base'), `oci:${layout}:base`)).status, 0);
  const want = ['base'];
  for (let round = 0; round < 3; round++) {
    const tags = [0, 1, 2, 3].map((i) => `r${round}w${i}`);
    const results = await Promise.all(tags.map((t) => build(rootfs(t), `oci:${layout}:${t}`)));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    want.push(...tags);
    assert.deepEqual(tagsOf(layout), want.sort(), `round ${round}`);
  }
  assert.equal(runCli(['inspect', `oci:${layout}:r2w3`]).status, 0);
  assert.deepEqual(readdirSync(layout).sort(), ['blobs', 'index.json', 'oci-layout'], 'the lock is gone once nobody holds it');
});

test('item 1: two builds creating the same new layout both succeed, with both tags, no stack trace', async () => {
  for (let trial = 0; trial < 3; trial++) {
    const layout = join(work, `fresh-${trial}`);
    const [a, b] = await Promise.all([build(rootfs(`a${trial}`), `oci:${layout}:a`), build(rootfs(`b${trial}`), `oci:${layout}:b`)]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(tagsOf(layout), ['a', 'b']);
    assert.deepEqual(readdirSync(work).filter((x) => x.startsWith(`.fresh-${trial}.tmp`)), [], 'no staging directory left');
  }
});

test('item 1: two builds writing one archive path: one wins whole, never a mix', async () => {
  const refs = [rootfs('one'), rootfs('two')];
  const expected = await Promise.all(refs.map(async (r, i) => {
    const f = join(work, `alone-${i}.tar`);
    assert.equal((await build(r, `oci-archive:${f}:t`)).status, 0);
    return readFileSync(f);
  }));
  for (let trial = 0; trial < 3; trial++) {
    const f = join(work, `race-${trial}.tar`);
    const results = await Promise.all(refs.map((r) => build(r, `oci-archive:${f}:t`)));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    const got = readFileSync(f);
    assert.ok(got.equals(expected[0]!) || got.equals(expected[1]!), 'the archive is one of the two, whole');
    assert.deepEqual(readdirSync(work).filter((x) => x.startsWith(`.race-${trial}.tar.tmp`)), []);
  }
});

test('item 1: the layout lock excludes, skips the tickets of dead processes, and names a holder it waits for too long', async () => {
  const lockDir = join(work, 'lock-unit', '.index.json.lock');
  mkdirSync(join(work, 'lock-unit'));
  let inside = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 20 }, () => withLock(lockDir, async () => {
    inside++;
    most = Math.max(most, inside);
    await new Promise((ok) => setTimeout(ok, 2));
    inside--;
  })));
  assert.equal(most, 1);
  assert.equal(existsSync(lockDir), false);
  // A ticket left by a process killed with -9 does not block.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 100000)']);
  await new Promise((ok) => child.once('spawn', ok));
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const self = JSON.parse(JSON.stringify({ boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() })) as { boot: string };
  const { hostname } = await import('node:os');
  const { readlinkSync } = await import('node:fs');
  const owner = { pid: child.pid, start, boot: self.boot, ns: readlinkSync('/proc/self/ns/pid'), host: hostname() };
  mkdirSync(lockDir);
  writeFileSync(join(lockDir, '0000000000000001'), JSON.stringify(owner));
  let waited = false;
  const held = withLock(lockDir, async () => { waited = true; }, { waitMs: 60_000 });
  await new Promise((ok) => setTimeout(ok, 200));
  assert.equal(waited, false, 'a live holder is waited for');
  child.kill('SIGKILL');
  await held;
  assert.equal(waited, true);
  assert.equal(existsSync(join(lockDir, '0000000000000001')), false, 'the dead ticket was removed');
  // A ticket of another host cannot be judged: waited for, then named.
  mkdirSync(lockDir, { recursive: true });
  writeFileSync(join(lockDir, '0000000000000001'), JSON.stringify({ ...owner, host: 'elsewhere', pid: 1 }));
  await assert.rejects(withLock(lockDir, async () => {}, { waitMs: 300, what: 'L' }),
    /L: still locked after 0 s by .*0000000000000001 \(pid 1 on elsewhere\); remove that file if its process is gone/);
});

// ---- item 5 ---------------------------------------------------------------------------------

test('item 5: adding a tag keeps every field of the other entries and of the index, unknown ones too', async () => {
  const layout = join(work, 'fields');
  assert.equal((await build(rootfs('x'), `oci:${layout}:first`)).status, 0);
  const idx = readIndex(layout);
  const first = idx.manifests[0]!;
  const other = {
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: first.digest,
    size: (first as unknown as { size: number }).size,
    urls: ['https://example.invalid/a'],
    artifactType: 'application/vnd.example+type',
    data: readFileSync(join(layout, 'blobs', 'sha256', first.digest.slice(7))).toString('base64'),
    platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1879', 'os.features': ['win32k'], variant: 'v3', features: ['x'] },
    annotations: { 'org.opencontainers.image.ref.name': 'keep', 'com.example.note': 'n' },
    'com.example.unknown': { nested: [1, 2.5, 'three'] },
  };
  const index = {
    ...idx,
    manifests: [...idx.manifests, other],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: first.digest, size: 1 },
    artifactType: 'application/vnd.example.index',
    annotations: { 'com.example.index': 'i' },
    'com.example.top': [true, null, { deep: 'yes' }],
  };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index, null, 2));
  assert.equal((await build(rootfs('y'), `oci:${layout}:second`)).status, 0);
  const after = readIndex(layout);
  assert.deepEqual(after.manifests.slice(0, 2), [first, other]);
  for (const k of ['subject', 'artifactType', 'annotations', 'com.example.top', 'schemaVersion', 'mediaType']) {
    assert.deepEqual(after[k], (index as Record<string, unknown>)[k], k);
  }
  assert.equal(after.manifests.length, 3);
  assert.ok(readFileSync(join(layout, 'index.json')).equals(canonicalBytes(after)), 'written as canonical JSON');
});

// ---- item 14 --------------------------------------------------------------------------------

test('item 14: a layout whose index.json or blob is a symlink out of it is refused, and no content is echoed', async () => {
  const secret = join(work, 'shadow');
  writeFileSync(secret, 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
  const layout = join(work, 'evil-index');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  symlinkSync(secret, join(layout, 'index.json'));
  const r = runCli(['inspect', `oci:${layout}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /index\.json is a symlink to a file outside the layout; refused$/);
  assert.doesNotMatch(r.stderr + r.stdout, /SECRET|root:/);
  // The same as a write destination: refused, nothing written beside the secret.
  const w = await build(rootfs('w'), `oci:${layout}:t`);
  assert.equal(w.status, 2, w.stderr);
  assert.doesNotMatch(w.stderr, /SECRET|root:/);
  assert.equal(readFileSync(secret, 'utf8').startsWith('root:'), true);

  // A regular index.json that is not JSON: the message says so without quoting it.
  rmSync(join(layout, 'index.json'));
  writeFileSync(join(layout, 'index.json'), readFileSync(secret));
  const j = runCli(['inspect', `oci:${layout}`]);
  assert.equal(j.status, 2);
  assert.match(j.stderr.trim(), /index\.json: invalid JSON/);
  assert.doesNotMatch(j.stderr, /SECRET|root:/);

  // A blob that is a symlink to a file outside the layout.
  const good = join(work, 'evil-blob');
  assert.equal((await build(rootfs('b'), `oci:${good}:t`)).status, 0);
  const cfgDigest = (JSON.parse(readFileSync(join(good, 'blobs', 'sha256', readIndex(good).manifests[0]!.digest.slice(7)), 'utf8')) as { config: { digest: string } }).config.digest;
  const cfgPath = join(good, 'blobs', 'sha256', cfgDigest.slice(7));
  const outside = join(work, 'outside-config');
  writeFileSync(outside, readFileSync(cfgPath));
  rmSync(cfgPath);
  symlinkSync(outside, cfgPath);
  const b = runCli(['inspect', `oci:${good}:t`]);
  assert.notEqual(b.status, 0);
  assert.match(b.stderr, new RegExp(`blobs/sha256/${cfgDigest.slice(7)} is a symlink to a file outside the layout; refused`));
});

// ---- item 15 --------------------------------------------------------------------------------

test('item 15: a destination layout whose blobs/sha256 (or blobs) is a symlink is refused; nothing is written where it points', async () => {
  for (const linked of ['blobs/sha256', 'blobs']) {
    const layout = join(work, `dest-${linked.replace('/', '-')}`);
    const elsewhere = join(work, `elsewhere-${linked.replace('/', '-')}`);
    mkdirSync(elsewhere);
    if (linked === 'blobs/sha256') mkdirSync(join(elsewhere, 'sha256'));
    mkdirSync(join(layout, linked === 'blobs' ? '' : 'blobs'), { recursive: true });
    symlinkSync(linked === 'blobs' ? elsewhere : join(elsewhere, 'sha256'), join(layout, linked));
    writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const r = await build(rootfs(linked), `oci:${layout}:t`);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`${linked} is a symlink; refused \\(blobs are written only inside the layout\\)$`));
    const left = linked === 'blobs' ? readdirSync(elsewhere) : readdirSync(join(elsewhere, 'sha256'));
    assert.deepEqual(left, linked === 'blobs' ? [] : [], 'nothing written where the link points');
  }
  // A blob file that is a symlink is replaced, not written through.
  const layout = join(work, 'dest-bloblink');
  const input = rootfs('bl');
  assert.equal((await build(input, `oci:${layout}:t`)).status, 0);
  const manifest = readIndex(layout).manifests[0]!.digest.slice(7);
  const target = join(work, 'bloblink-target');
  writeFileSync(target, readFileSync(join(layout, 'blobs', 'sha256', manifest)));
  rmSync(join(layout, 'blobs', 'sha256', manifest));
  symlinkSync(target, join(layout, 'blobs', 'sha256', manifest));
  assert.equal((await build(input, `oci:${layout}:t2`)).status, 0);
  assert.equal(runCli(['inspect', `oci:${layout}:t2`]).status, 0);
});

test('an oci: destination that is a regular file is one line, exit 2 (was ENOTDIR with a stack trace)', async () => {
  const file = join(work, 'not-a-dir');
  writeFileSync(file, 'x');
  const r = await build(rootfs('f'), `oci:${file}:t`);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), /not-a-dir: exists and is not a directory$/);
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

test('item 1: a temporary index left by a writer killed while it held the lock is removed by the next writer', async () => {
  const layout = join(work, 'stale-temp');
  assert.equal((await build(rootfs('s1'), `oci:${layout}:one`)).status, 0);
  writeFileSync(join(layout, '.index.json.tmp-999999-0'), '{"partial');
  assert.equal((await build(rootfs('s2'), `oci:${layout}:two`)).status, 0);
  assert.deepEqual(readdirSync(layout).sort(), ['blobs', 'index.json', 'oci-layout']);
  assert.deepEqual(tagsOf(layout), ['one', 'two']);
});
