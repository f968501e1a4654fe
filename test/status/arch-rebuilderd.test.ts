/**
 * `status` against loopback servers that answer as rebuilderd does: one with the v1 API (pages of
 * `{total, records}` followed by `after=ID`), one with the v0 list only, one that cannot be reached.
 * The images are built here from root filesystems holding a pacman or a dpkg database.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { summaryLines } from '../../src/status/report.js';
import { queryRebuilder } from '../../src/status/rebuilderd.js';
import { runCli, runCliAsync } from '../helpers/cli.js';

const ARCH_PACKAGES: Array<[string, string]> = [['acl', '2.3.2-1'], ['bash', '5.2.026-2'], ['gcc-libs', '14.1.1-1'], ['glibc', '2.39-1'], ['ncurses', '6.5-1']];

type Rec = { name: string; version: string; status: string | null };
const V1_RECORDS: Rec[] = [
  { name: 'acl', version: '2.3.2-1', status: 'GOOD' },
  { name: 'bash', version: '5.2.026-1', status: 'BAD' }, // another version: says nothing of ours
  { name: 'bash', version: '5.2.026-2', status: 'GOOD' },
  { name: 'gcc-libs', version: '14.1.1-1', status: 'BAD' },
  { name: 'glibc', version: '2.39-1', status: 'BAD' }, // rebuilt again later: the last record stands
  { name: 'zstd', version: '1.5.6-1', status: null },
  { name: 'glibc', version: '2.39-1', status: 'GOOD' },
];
const V0_RECORDS: Record<string, Rec[]> = {
  archlinux: [
    { name: 'acl', version: '2.3.2-1', status: 'GOOD' }, { name: 'bash', version: '5.2.026-2', status: 'GOOD' },
    { name: 'gcc-libs', version: '14.1.1-1', status: 'GOOD' }, { name: 'glibc', version: '2.39-1', status: 'GOOD' },
    { name: 'ncurses', version: '6.5-1', status: 'UNKWN' },
  ],
  debian: [{ name: 'glibc', version: '2.36-9', status: 'GOOD' }, { name: 'busybox', version: '1:1.35.0-4', status: 'BAD' }],
};

let dir: string;
let v1: Server;
let v0: Server;
let v1Url: string;
let v0Url: string;
let deadUrl: string;
const v1Queries: string[] = [];

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

function json(res: import('node:http').ServerResponse, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', String(data.length));
  res.end(data);
}

/** A root filesystem with a package database, built into an oci-archive. */
function image(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const out = join(dir, `${name}.tar`);
  const r = runCli(['build', '--rootfs', root, '--output', `oci-archive:${out}:t`, '--source-date-epoch', '1709251200']);
  assert.equal(r.status, 0, r.stderr);
  return `oci-archive:${out}:t`;
}

let archImage: string;
let debianImage: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arch-status-'));
  // v1: pages of two records, whatever limit is asked, following the after= cursor; ids in order.
  ({ server: v1, url: v1Url } = await listen((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/api/v1/packages/binary') { res.statusCode = 404; res.end(); return; }
    v1Queries.push(u.search);
    const all = V1_RECORDS.map((r, i) => ({ id: 10 + i * 3, ...r, distribution: 'archlinux', release: null, component: 'core', architecture: 'x86_64', url: `https://x/${r.name}`, build_id: i, artifact_id: null, diffoscope_log_id: null, attestation_log_id: null, last_seen: '2024-03-01T00:00:00', seen_in_last_sync: true }));
    const records = u.searchParams.get('distribution') === 'archlinux' ? all : [];
    const after = Number(u.searchParams.get('after') ?? -1);
    json(res, { total: records.length, records: records.filter((r) => r.id > after).slice(0, 2) });
  }));
  ({ server: v0, url: v0Url } = await listen((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/api/v0/pkgs/list') { res.statusCode = 404; res.end(); return; }
    const distro = u.searchParams.get('distro') ?? '';
    json(res, (V0_RECORDS[distro] ?? []).map((r) => ({ ...r, distro, suite: 'core', architecture: 'x86_64', artifact_url: 'https://x', build_id: 1, built_at: null, attestation: null, next_retry: null })));
  }));
  // A port where nothing listens: taken, then given back.
  const dead = await listen(() => {});
  deadUrl = dead.url;
  await new Promise<void>((ok) => dead.server.close(() => ok()));

  const files: Record<string, string> = { 'var/lib/pacman/local/ALPM_DB_VERSION': '9\n' };
  for (const [n, v] of ARCH_PACKAGES) files[`var/lib/pacman/local/${n}-${v}/desc`] = `%NAME%\n${n}\n\n%VERSION%\n${v}\n\n%INSTALLDATE%\n1709251200\n\n`;
  archImage = image('arch', files);
  debianImage = image('debian', {
    'var/lib/dpkg/status': [
      'Package: busybox\nStatus: install ok installed\nVersion: 1:1.35.0-4\n',
      'Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n',
      'Package: libc6\nStatus: install ok installed\nSource: glibc (2.36-9)\nVersion: 2.36-9+deb12u1\n',
    ].join('\n'),
  });
});

after(async () => {
  for (const s of [v1, v0]) await new Promise<void>((ok) => { s.closeAllConnections(); s.close(() => ok()); });
  rmSync(dir, { recursive: true, force: true });
});

test('two rebuilders (v1 paged, v0 list) and an unreachable one: verdicts, percentages, disagreements', async () => {
  v1Queries.length = 0;
  const r = await runCliAsync(['status', archImage, '--rebuilder', v1Url, '--rebuilder', v0Url, '--rebuilder', deadUrl]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    '[+] acl 2.3.2-1 GOOD',
    '[+] bash 5.2.026-2 GOOD',
    '[-] gcc-libs 14.1.1-1 BAD',
    '[+] glibc 2.39-1 GOOD',
    '[?] ncurses 6.5-1 UNKWN',
    '',
    `${v1Url}: 2/5 packages are not reproducible (60.00% reproducible).`,
    `${v0Url}: 1/5 packages are not reproducible (80.00% reproducible).`,
    '',
    'The rebuilders disagree on 1 package:',
    `  gcc-libs 14.1.1-1: GOOD at ${v0Url}; BAD at ${v1Url}`,
    '',
    '2/5 packages are not reproducible.',
    'Your image is 60.00% reproducible.',
    '',
  ].join('\n'));
  assert.match(r.stderr, new RegExp(`warning: rebuilder ${deadUrl} left out: .*(ECONNREFUSED|connect)`));
  assert.deepEqual(v1Queries, ['?distribution=archlinux&limit=1000', '?distribution=archlinux&limit=1000&after=13', '?distribution=archlinux&limit=1000&after=19', '?distribution=archlinux&limit=1000&after=25']);

  const j = await runCliAsync(['status', archImage, '--rebuilder', v1Url, '--rebuilder', v0Url, '--json']);
  const report = JSON.parse(j.stdout) as { summary: { total: number; notReproducible: number; percent: string }; rebuilders: Array<{ url: string; api: string }>; packages: Array<{ name: string; rebuilders: Record<string, string> }> };
  assert.deepEqual(report.summary, { total: 5, notReproducible: 2, percent: '60.00' });
  assert.deepEqual(report.rebuilders.map((x) => x.api), ['v1', 'v0']);
  assert.deepEqual(report.packages.find((p) => p.name === 'gcc-libs')!.rebuilders, { [v1Url]: 'BAD', [v0Url]: 'GOOD' });
});

test('no rebuilder answering is an error (exit 3); --strict fails an image not fully reproducible', async () => {
  const dead = await runCliAsync(['status', archImage, '--rebuilder', deadUrl]);
  assert.equal(dead.status, 3, dead.stderr);
  assert.match(dead.stderr, /no rebuilder answered/);
  const strict = await runCliAsync(['status', archImage, '--rebuilder', v0Url, '--strict']);
  assert.equal(strict.status, 1);
  assert.match(strict.stdout, /^1\/5 package is not reproducible\. Almost there\.$/m);
  const none = await runCliAsync(['status', archImage]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /--rebuilder URL/);
});

test('a Debian image: installed packages from dpkg status, matched by binary or by source', async () => {
  const r = await runCliAsync(['status', debianImage, '--rebuilder', v0Url]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[-\] busybox 1:1\.35\.0-4 BAD\n\[\+\] libc6 2\.36-9\+deb12u1 GOOD\n/);
  assert.doesNotMatch(r.stdout, /gone/, 'only installed packages count');
  assert.match(r.stdout, /Your image is 50\.00% reproducible\./);
});

test('a dpkg status with an installed package it cannot read is exit 2 naming its line (was: that package left out, the others asked about)', async () => {
  const hidden = image('debian-hidden', {
    'var/lib/dpkg/status': 'Package: busybox\nStatus: install ok installed\n\nPackage: libc6\nStatus: install ok installed\nVersion: 2.36-9\n',
  });
  const r = await runCliAsync(['status', hidden, '--rebuilder', v0Url]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'repro-image: var/lib/dpkg/status:1: package busybox is installed but has no Version field\n');
});

test('a spec is checked through its lock', async () => {
  const d = join(dir, 'spec');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'image.yaml'), 'name: s\nsource: {distro: arch, snapshot: 2024/03/01}\npackages: [acl]\n');
  const pkg = (name: string, version: string): unknown => ({ name, version, architecture: 'x86_64', repository: 'core', base: name, reason: 'explicit', filename: `${name}-${version}-x86_64.pkg.tar.zst`, size: 1, sha256: '0'.repeat(64), signature: { in: 'none' } });
  writeFileSync(join(d, 'image.lock.json'), JSON.stringify({
    lockVersion: 1, specDigest: `sha256:${'0'.repeat(64)}`,
    source: { distro: 'arch', snapshot: '2024/03/01', architecture: 'x86_64', sourceDateEpoch: 1709251200, signatures: 'not-verified', signers: [], repositories: [] },
    packages: [pkg('glibc', '2.39-1'), pkg('acl', '2.3.2-1')],
  }));
  const r = await runCliAsync(['status', join(d, 'image.yaml'), '--rebuilder', v0Url]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[\+\] acl 2\.3\.2-1 GOOD\n\[\+\] glibc 2\.39-1 GOOD\n\nAll packages are reproducible!\nYour image is 100\.00% reproducible\.\n$/);
});

test('only the records of the image\'s packages are kept, through every page, in order (the last one of a package stands)', async () => {
  const a = await queryRebuilder(v1Url, 'archlinux', { wanted: new Set(['acl', 'glibc']) });
  assert.equal(a.api, 'v1');
  assert.deepEqual(a.records.map((r) => [r.name, r.status]), [['acl', 'GOOD'], ['glibc', 'BAD'], ['glibc', 'GOOD']]);
  const v0 = await queryRebuilder(v0Url, 'debian', { wanted: new Set(['busybox']) });
  assert.equal(v0.api, 'v0');
  assert.deepEqual(v0.records.map((r) => r.name), ['busybox']);
});

test('summary lines in arch-repro-status wording', () => {
  assert.deepEqual(summaryLines({ total: 118, notReproducible: 3, percent: (115 / 118 * 100).toFixed(2) }), ['3/118 packages are not reproducible.', 'Your image is 97.46% reproducible.']);
  assert.deepEqual(summaryLines({ total: 0, notReproducible: 0, percent: '0.00' }), ['No packages found.']);
});
