/**
 * Other tar readers (GNU tar, Python's tarfile) read our uncompressed layer without complaint and
 * see every entry with the right type, owner, time and name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_EPOCH, makeFixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const REMOVED = new Set(['var/cache/ldconfig/aux-cache', 'var/lib/systemd/random-seed', 'srv/socket']);
const LONG_300 = `${'d'.repeat(60)}/${'x'.repeat(239)}`;
const NON_ASCII = ['srv/ünïcödé', 'srv/ünïcödé/fïlé.txt', 'srv/日本語', 'srv/日本語/ファイル', 'srv/emoji-😀'];

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', tool]).status === 0;
}

async function withTmp(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'repro-tar-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Kind = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

interface Expected { kind: Kind; uid: number; gid: number; mode: number; target?: string }

/** Every entry of the fixture, relative to its root, with what a reader should see. */
function walk(root: string, rel = '', out = new Map<string, Expected>()): Map<string, Expected> {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (REMOVED.has(r)) continue;
    const st = lstatSync(join(root, r));
    const kind: Kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char'
      : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'file';
    const e: Expected = { kind, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    if (kind === 'symlink') e.target = readlinkSync(join(root, r));
    out.set(r, e);
    if (kind === 'dir') walk(root, r, out);
  }
  return out;
}

/** Builds the fixture uncompressed; returns the fixture's expected entries and the layer's path. */
async function buildLayer(dir: string): Promise<{ expected: Map<string, Expected>; layer: string }> {
  const rootfs = join(dir, 'rootfs');
  await makeFixture(rootfs);
  const img = join(dir, 'img');
  const r = runCli(['build', '--rootfs', rootfs, '--output', `oci:${img}:v1`, '--source-date-epoch', String(FIXTURE_EPOCH), '--compression', 'none']);
  assert.equal(r.status, 0, r.stderr);
  const blob = (d: string): string => join(img, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
  const index = JSON.parse(readFileSync(join(img, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as { layers: Array<{ digest: string; mediaType: string }> };
  const layer = manifest.layers[0]!;
  assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar');
  return { expected: walk(rootfs), layer: blob(layer.digest) };
}

const TYPE_CHAR: Record<Kind, string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p' };
const HARD_LINKS = new Set(['usr/bin/tool', 'usr/bin/tool-hardlink', 'etc/a-hardlink-sorted-first']);

test('GNU tar lists and extracts the layer without warnings', async (t) => {
  if (!have('tar')) { t.skip('tar not installed'); return; }
  await withTmp(async (dir) => {
    const { expected, layer } = await buildLayer(dir);
    const env = { ...process.env, LANG: 'C', LC_ALL: 'C' };
    const r = spawnSync('tar', ['-tvv', '--numeric-owner', '--quoting-style=literal', '-f', layer], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const seen = new Map<string, { type: string; uid: number; gid: number; size: string; rest: string }>();
    const links = new Map<string, string>();
    for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
      const m = /^(\S)(\S{9}) (\d+)\/(\d+) +(\S+) \d{4}-\d\d-\d\d \d\d:\d\d (.*)$/.exec(line);
      assert.ok(m, `unparsed line: ${line}`);
      let rest = m[6]!;
      let name = rest;
      const hard = rest.indexOf(' link to ');
      const sym = rest.indexOf(' -> ');
      if (hard >= 0) { name = rest.slice(0, hard); links.set(name, rest.slice(hard + 9)); rest = 'hard'; }
      else if (sym >= 0) { name = rest.slice(0, sym); rest = rest.slice(sym + 4); }
      name = name.replace(/\/$/, '');
      assert.ok(!seen.has(name), `duplicate entry ${name}`);
      seen.set(name, { type: m[1]!, uid: Number(m[3]), gid: Number(m[4]), size: m[5]!, rest });
    }
    assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort());
    for (const [name, e] of expected) {
      const s = seen.get(name)!;
      assert.equal(s.uid, e.uid, name);
      assert.equal(s.gid, e.gid, name);
      if (HARD_LINKS.has(name) && links.has(name)) {
        assert.equal(s.type, 'h', name);
      } else {
        assert.equal(s.type, TYPE_CHAR[e.kind], name);
      }
      if (e.kind === 'symlink') assert.equal(s.rest, e.target, name);
    }
    // Exactly one of the three hard-linked names holds the data; the others link to it.
    assert.equal(links.size, 2);
    const holder = [...HARD_LINKS].find((n) => !links.has(n))!;
    assert.equal(seen.get(holder)!.type, '-');
    for (const target of links.values()) assert.equal(target, holder);
    assert.equal(seen.get('owners/big-ids')!.uid, 3000000);
    assert.equal(seen.get('owners/big-ids')!.gid, 4000000);
    assert.equal(seen.get('etc/null')!.size, '1,3');
    assert.equal(seen.get('etc/loop0')!.size, '7,0');
    assert.ok(seen.has(LONG_300));
    for (const n of NON_ASCII) assert.ok(seen.has(n), n);

    const out = join(dir, 'extracted');
    mkdirSync(out);
    const x = spawnSync('tar', ['-xf', layer, '-C', out], { env, encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    // GNU tar flags any time before 1970 when it extracts; the fixture's pre-1970 file is meant to be one.
    const warnings = x.stderr.split('\n').filter((l) => l !== '' && !/^tar: pre-1970: implausibly old time stamp 1969-01-01 00:00:00$/.test(l));
    assert.deepEqual(warnings, []);
    assert.equal(lstatSync(join(out, 'pre-1970')).mtimeMs, -31536000 * 1000);
    assert.equal(lstatSync(join(out, 'usr/bin/tool')).ino, lstatSync(join(out, 'usr/bin/tool-hardlink')).ino);
    assert.equal(readFileSync(join(out, LONG_300), 'utf8'), 'name over 255 bytes\n');
    assert.equal(lstatSync(join(out, 'owners/big-ids')).uid, 3000000);
  });
});

const PY = `
import json, sys, tarfile
out = []
with tarfile.open(sys.argv[1], 'r:', encoding='utf-8', errors='strict') as tf:
    for m in tf:
        out.append([m.name, m.type.decode('latin-1'), m.mode, m.uid, m.gid, m.size, m.mtime, m.linkname,
                    m.devmajor, m.devminor, sorted(m.pax_headers.keys())])
json.dump(out, sys.stdout)
`;

type PyMember = [string, string, number, number, number, number, number, string, number, number, string[]];

const PY_TYPE: Record<Kind, string> = { file: '0', dir: '5', symlink: '2', char: '3', block: '4', fifo: '6' };

test('Python tarfile reads every member with exact names, owners, times and xattrs', async (t) => {
  if (!have('python3')) { t.skip('python3 not installed'); return; }
  await withTmp(async (dir) => {
    const { expected, layer } = await buildLayer(dir);
    const r = spawnSync('python3', ['-c', PY, layer], { encoding: 'utf8', maxBuffer: 16 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const members = JSON.parse(r.stdout) as PyMember[];
    const byName = new Map<string, PyMember>();
    for (const m of members) {
      assert.ok(!byName.has(m[0]), `duplicate member ${m[0]}`);
      byName.set(m[0], m);
    }
    assert.deepEqual([...byName.keys()].sort(), [...expected.keys()].sort());
    for (const [name, e] of expected) {
      const m = byName.get(name)!;
      const [, type, mode, uid, gid, , mtime, linkname, devmajor, devminor] = m;
      if (type === '1') {
        assert.ok(HARD_LINKS.has(name), `unexpected hard link ${name}`);
        assert.ok(HARD_LINKS.has(linkname), `${name} links to ${linkname}`);
      } else {
        assert.equal(type, PY_TYPE[e.kind], name);
      }
      assert.equal(mode, e.mode, name);
      assert.equal(uid, e.uid, name);
      assert.equal(gid, e.gid, name);
      assert.ok(mtime <= FIXTURE_EPOCH, `${name} mtime ${mtime}`);
      if (e.kind === 'symlink') assert.equal(linkname, e.target, name);
      if (name === 'etc/null') assert.deepEqual([devmajor, devminor], [1, 3]);
      if (name === 'etc/loop0') assert.deepEqual([devmajor, devminor], [7, 0]);
    }
    assert.ok(Buffer.byteLength(LONG_300) > 255);
    assert.equal(byName.get(LONG_300)![5], Buffer.byteLength('name over 255 bytes\n'));
    for (const n of NON_ASCII) assert.ok(byName.has(n), n);
    assert.equal(byName.get('owners/big-ids')![3], 3000000);
    assert.equal(byName.get('owners/big-ids')![4], 4000000);
    assert.equal(byName.get('pre-1970')![6], -31536000);
    assert.equal(byName.get('old-file')![6], 1000000000);
    assert.ok(byName.get('usr/bin/capable')![10].includes('SCHILY.xattr.security.capability'));
    assert.equal(byName.get('usr/lib/big.bin')![5], 3 << 20);
    assert.equal(members.filter((m) => m[1] === '1').length, 2);
  });
});
