/**
 * Layer strategies (`layers:` in the spec) on the hermetic signed Debian repository: golden
 * digests of layered builds; the layers applied in order give the single-layer tree, entry for
 * entry; bumping one leaf package changes exactly its layer and the database layer; `diff` of the
 * two builds names the changed layer; bad `layers:` values are exit 2 naming the field.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenLayers, type FlatEntry } from '../../src/image/flatten.js';
import { readImage } from '../../src/image/read.js';
import { openImage } from '../../src/transports/index.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { byPopularity, planLayers } from '../../src/pipeline/layers.js';
import type { Entry } from '../../src/archive/entry.js';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeKey, makeRepo, writeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { readGolden } from '../helpers/golden.js';

const appPackage = (version: string): TestPackage => ({
  name: 'app', version, fields: { Depends: 'libfoo (>= 2.0), mailer, hello-base' },
  files: { '/usr/bin/app-edit': { data: `#!/bin/sh\n# app ${version}\n`, mode: 0o755 }, '/usr/share/man/man1/app-edit.1.gz': 'man', '/etc/app.conf': 'setting=1\n', '/usr/share/doc/app/README': `app ${version}\n` },
  conffiles: ['/etc/app.conf'],
  postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  update-alternatives --install /usr/bin/editor editor /usr/bin/app-edit 50\nfi\n',
});

const PACKAGES: TestPackage[] = [
  { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'from hello-base\n', '/bin/hello-sh': { data: '#!/bin/sh\necho hello\n', mode: 0o755 }, '/usr/share/doc/hello-base/README': 'hello\n' } },
  { name: 'libfoo', version: '2.0', compression: 'gzip', fields: { Depends: 'hello-base' }, files: { '/usr/lib/libfoo.txt': 'libfoo 2.0\n', '/usr/share/doc/libfoo/README': 'libfoo\n' } },
  appPackage('1.0'),
  { name: 'tinymail', version: '1.0', compression: 'zstd', fields: { Provides: 'mailer' }, files: { '/usr/sbin/sendmail': { data: '#!/bin/sh\n', mode: 0o755 } } },
  { name: 'newer-base', version: '1.0', compression: 'none', fields: { Replaces: 'hello-base (<< 2)' }, files: { '/usr/share/hello/base.txt': 'from newer-base\n' } },
];

let dir: string;
let repo: Repo;
let signer: { home: string; keyring: string };
const golden = readGolden('layers.json') as Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'layers-'));
  signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
});
after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], cache = join(dir, 'cache')): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

function specFile(name: string, layers: string | undefined): string {
  const d = join(dir, name);
  mkdirSync(join(d, 'site'), { recursive: true });
  writeFileSync(join(d, 'site/index.html'), '<p>hello</p>\n');
  const path = join(d, 'image.yaml');
  writeFileSync(path, `name: ${name}\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\n`
    + `packages: [app, newer-base]\nfiles:\n  - { src: site, dest: /srv/www }\nconfig:\n  cmd: [/usr/bin/app-edit]\n${layers === undefined ? '' : `layers:${layers}\n`}`);
  return path;
}

/** lock, then build into oci:DIR:t; the manifest digest. */
async function lockAndBuild(spec: string, out: string): Promise<string> {
  const l = await run(['lock', spec]);
  assert.equal(l.status, 0, l.stderr);
  const b = await run(['build', spec, '--output', `oci:${out}:t`]);
  assert.equal(b.status, 0, b.stderr);
  return b.stdout.trim();
}

async function imageOf(out: string): Promise<Awaited<ReturnType<typeof readImage>>> {
  const ref = parseImageRef(`oci:${out}:t`);
  return readImage(await openImage(ref), out);
}

async function flat(out: string): Promise<Map<string, Omit<FlatEntry, 'layer'>>> {
  const image = await imageOf(out);
  const f = await flattenLayers(image.layers, { hash: true });
  return new Map([...f.entries].map(([p, { layer: _l, ...e }]) => [p, e]));
}

async function layerDigests(out: string): Promise<string[]> {
  return (await imageOf(out)).manifest.value.layers.map((l) => l.digest);
}

async function history(out: string): Promise<Array<string | undefined>> {
  return ((await imageOf(out)).config.value.history ?? []).map((h) => h.comment);
}

const GROUPS = '\n  - packages: [libfoo, hello-base]\n  - packages: rest\n  - files: all';
const builds: Record<string, string> = {};

const digests: Record<string, string> = {};

test('layered builds give their golden digests, and the single-layer build keeps its own', async () => {
  for (const [name, layers] of [['single', undefined], ['two', '\n  - packages: rest'], ['groups', GROUPS], ['auto', ' { auto: 4 }']] as const) {
    const out = join(dir, `${name}-image`);
    const digest = await lockAndBuild(specFile(name, layers), out);
    builds[name] = out;
    digests[name] = digest;
  }
  assert.deepEqual(digests, golden);
  assert.equal((await layerDigests(builds['single']!)).length, 1);
  assert.deepEqual(await history(builds['single']!), [undefined], 'a single layer: the history as before');
  assert.equal((await layerDigests(builds['two']!)).length, 2);
  assert.deepEqual(await history(builds['groups']!), ['packages: hello-base, libfoo', 'packages: rest (app, newer-base, tinymail)', 'files', 'database and unowned files']);
  // hello-base is needed by all four others, libfoo and tinymail by two: hello-base and libfoo alone (auto: 4).
  assert.deepEqual(await history(builds['auto']!), ['packages: hello-base', 'packages: libfoo', 'packages: app, newer-base, tinymail', 'database and unowned files']);
});

test('the layers applied in order give the single-layer tree, entry for entry', async () => {
  const single = await flat(builds['single']!);
  for (const name of ['two', 'groups', 'auto']) {
    const layered = await flat(builds[name]!);
    assert.deepEqual([...layered.keys()].sort(), [...single.keys()].sort(), name);
    for (const [p, e] of single) assert.deepEqual(layered.get(p), e, `${name}: ${p}`);
  }
  // Each path in exactly one layer, and where the rules say.
  const image = await imageOf(builds['groups']!);
  const f = await flattenLayers(image.layers);
  const layerOf = (p: string): number | undefined => f.entries.get(p)?.layer;
  assert.equal(layerOf('usr/lib/libfoo.txt'), 1);
  assert.equal(layerOf('usr/bin/hello-sh'), 1);
  assert.equal(layerOf('usr/bin/app-edit'), 2);
  assert.equal(layerOf('usr/share/hello/base.txt'), 2, 'newer-base took it over from hello-base');
  assert.equal(layerOf('srv/www/index.html'), 3);
  assert.equal(layerOf('var/lib/dpkg/status'), 4);
  assert.equal(layerOf('etc/alternatives/editor'), 4, 'made by a maintainer script: no package owns it');
  assert.equal(layerOf('bin'), 1, 'hello-base lists /bin (as the directory it ships into): the link goes with it');
  assert.equal(layerOf('usr'), 1, 'a shared directory goes into the lowest layer that needs it');
  assert.equal(layerOf('usr/share/doc'), 1);
});

/** A tree as `find` lists it: path, type, mode, owner, link target, size and md5 of each entry. */
function listing(root: string): string {
  const r = spawnSync('sh', ['-c', 'cd "$0" && find . -printf "%p %y %m %U %G %l %s\\n" | LC_ALL=C sort && find . -type f -exec md5sum {} + | LC_ALL=C sort -k2', root], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('umoci unpacks a layered image into the same tree as the single-layer one; verify reproduces it', async () => {
  const trees: string[] = [];
  for (const name of ['single', 'groups', 'auto']) {
    const bundle = join(dir, `${name}-bundle`);
    const u = spawnSync('umoci', ['unpack', '--rootless', '--image', `${builds[name]!}:t`, bundle], { encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);
    trees.push(listing(join(bundle, 'rootfs')));
  }
  assert.ok(trees[0]!.includes('./usr/bin/app-edit f 755'), trees[0]);
  assert.equal(trees[1], trees[0]);
  assert.equal(trees[2], trees[0]);
  const v = await run(['verify', join(dir, 'groups', 'image.yaml'), '--offline', '--against', `oci:${builds['groups']!}:t`, '--json']);
  assert.equal(v.status, 0, v.stderr);
  assert.equal((JSON.parse(v.stdout) as { verdict: string }).verdict, 'reproduced');
  // audit accounts for a layered image's entries as for the single-layer one's.
  const accounts = async (out: string): Promise<unknown> => {
    const a = await run(['audit', `oci:${out}:t`, '--json']);
    assert.equal(a.status, 0, a.stderr);
    const r = JSON.parse(a.stdout) as { summary: unknown; steps: unknown; entries: unknown[]; unexplained: unknown[]; modified: unknown[] };
    assert.ok(r.summary && r.entries.length > 30);
    return { summary: r.summary, steps: r.steps, entries: r.entries, unexplained: r.unexplained, modified: r.modified };
  };
  assert.deepEqual(await accounts(builds['groups']!), await accounts(builds['single']!));
});

test('bumping one leaf package changes its layer and the database layer only; diff names the layer', async () => {
  const bumped = PACKAGES.map((p) => (p.name === 'app' ? appPackage('1.1') : p));
  writeRepo(repo.dir, join(dir, 'pkgsrc-bumped'), bumped, signer, { date: 'Tue, 14 Nov 2023 22:13:20 UTC' });
  const expectChanged: Record<string, boolean[]> = { groups: [false, true, false, true], auto: [false, false, true, true], two: [true, true] };
  for (const name of ['groups', 'auto', 'two']) {
    const spec = join(dir, name, 'image.yaml');
    const out = join(dir, `${name}-bumped`);
    await lockAndBuild(spec, out);
    const lock = JSON.parse(readFileSync(join(dir, name, 'image.lock.json'), 'utf8')) as { packages: Array<{ name: string; version: string }> };
    assert.ok(lock.packages.some((p) => p.name === 'app' && p.version === '1.1'));
    const a = await layerDigests(builds[name]!);
    const b = await layerDigests(out);
    assert.deepEqual(b.map((d, i) => d !== a[i]), expectChanged[name], name);
    if (name !== 'groups') continue;
    const d = await run(['diff', `oci:${builds[name]!}:t`, `oci:${out}:t`]);
    assert.equal(d.status, 1, d.stderr);
    assert.match(d.stdout, /layer 2/, d.stdout);
    assert.match(d.stdout, /usr\/bin\/app-edit/);
    assert.doesNotMatch(d.stdout, /layer 1\b/, 'layer 1 is the same on both sides');
  }
});

test('bad layers: values are exit 2 naming the field', async () => {
  const cases: Array<[string, RegExp]> = [
    [' { auto: 1 }', /image\.yaml:\d+:\d+: layers\.auto: Too small: expected number to be >=2/],
    [' { auto: 200 }', /layers\.auto: Too big: expected number to be <=127/],
    [' bogus', /layers: single, \{ auto: N \} or a list of groups/],
    ['\n  - packages: [libfoo]\n  - packages: [libfoo]', /layers\[1\]\.packages\[0\]: libfoo is already in layers\[0\]/],
    ['\n  - packages: rest\n  - packages: rest', /layers\[1\]\.packages: rest is already the group layers\[0\]/],
    ['\n  - files: all\n  - files: all', /layers\[1\]\.files: the spec files are already the group layers\[0\]/],
    ['\n  - packages: [libfoo]\n    files: all', /layers\[0\]: a group is one of packages: \[NAME, …\], packages: rest, files: all, files: \[DEST, …\]/],
    ['\n  - packages: [Bad]', /layers\[0\]\.packages\[0\]: a package name/],
    ['\n  - files: [/srv/nope]', /layers\[0\]\.files\[0\]: \/srv\/nope is the dest of no files: entry/],
    ['\n  - files: [/srv/www]\n  - files: [/srv/www]', /layers\[1\]\.files\[0\]: \/srv\/www is already in layers\[0\]/],
    ['\n  - files: [srv]', /layers\[0\]\.files\[0\]: an absolute path/],
    [' []', /layers: Too small: expected array to have >=1 items/],
  ];
  for (const [i, [layers, re]] of cases.entries()) {
    const spec = specFile(`bad-${i}`, layers);
    const r = await run(['lock', spec]);
    assert.equal(r.status, 2, `${layers}: ${r.stderr}`);
    assert.match(r.stderr, re, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // A package the image does not install is found at build time.
  const spec = specFile('bad-missing', '\n  - packages: [not-installed]');
  assert.equal((await run(['lock', spec])).status, 0);
  const r = await run(['build', spec, '--output', `oci:${join(dir, 'never')}:t`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /layers\[0\]\.packages\[0\]: not-installed is not among the packages the image installs/);
});

test('popularity: most depended-on first, ties by name; planLayers on a bare tree', () => {
  assert.deepEqual(byPopularity([
    { name: 'app', dependsOn: ['libc', 'libssl'] }, { name: 'libssl', dependsOn: ['libc'] }, { name: 'libc', dependsOn: [] },
    { name: 'tool', dependsOn: ['libc'] }, { name: 'cycle-a', dependsOn: ['cycle-b'] }, { name: 'cycle-b', dependsOn: ['cycle-a'] },
  ]), ['libc', 'cycle-a', 'cycle-b', 'libssl', 'app', 'tool']);
  const dirEntry = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
  const file = (path: string, inode?: string): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, content: { kind: 'bytes', data: Buffer.alloc(0) }, ...(inode ? { inode } : {}) } as Entry);
  const entries = new Map<string, Entry>([dirEntry('a'), dirEntry('a/b'), file('a/b/lib'), file('a/b/tool'), file('a/b/tool-link', 'i1'), file('a/b/lib-link', 'i1'), file('db')].map((e) => [e.path, e]));
  const layers = planLayers(entries, [{ packages: ['lib'] }, { packages: 'rest' }], {
    distribution: {
      isDatabaseFile: (p) => p === 'db', isRecordFile: () => false,
      packageRecords: () => [
        { distribution: 'x', name: 'lib', version: '1', purl: '', dependsOn: [], supplier: '', files: [{ path: '/a/b/lib' }, { path: '/a/b/lib-link' }, { path: '/a' }] },
        { distribution: 'x', name: 'tool', version: '1', purl: '', dependsOn: ['lib'], supplier: '', files: [{ path: '/a/b/tool' }, { path: '/a/b/tool-link' }] },
      ],
    },
    specFiles: new Map(), where: 'test',
  });
  assert.deepEqual(layers.map((l) => l.entries.map((e) => e.path)), [['a', 'a/b', 'a/b/lib'], ['a/b/lib-link', 'a/b/tool', 'a/b/tool-link'], ['db']],
    'hard links go up together; a directory goes into the lowest layer that needs it');
  // No rest: unnamed packages go last; a spec file over a package's path goes into the files group, wherever it is.
  const distribution = {
    isDatabaseFile: (p: string) => p === 'db', isRecordFile: () => false,
    packageRecords: () => [
      { distribution: 'x', name: 'lib', version: '1', purl: '', dependsOn: [], supplier: '', files: [{ path: '/a/b/lib' }] },
      { distribution: 'x', name: 'tool', version: '1', purl: '', dependsOn: ['lib'], supplier: '', files: [{ path: '/a/b/tool' }, { path: '/a/b/tool-link' }] },
    ],
  };
  const tree = new Map<string, Entry>([dirEntry('a'), dirEntry('a/b'), file('a/b/lib'), file('a/b/tool'), file('a/b/tool-link'), file('db'), dirEntry('etc'), file('etc/conf')].map((e) => [e.path, e]));
  const cut = planLayers(tree, [{ files: 'all' }, { packages: ['lib'] }], { distribution, specFiles: new Map([['a/b/tool', '/a/b/tool'], ['etc/conf', '/etc']]), where: 'test' });
  assert.deepEqual(cut.map((l) => [l.name, l.entries.map((e) => e.path)]), [
    ['files', ['a', 'a/b', 'a/b/tool', 'etc', 'etc/conf']], ['packages: lib', ['a/b/lib']], ['database and unowned files', ['a/b/tool-link', 'db']],
  ]);
  // files: [DEST…] takes the paths of the entries with that dest; files: all the others.
  const byDest = planLayers(tree, [{ files: ['/etc'] }, { packages: ['lib'] }, { files: 'all' }], { distribution, specFiles: new Map([['a/b/tool', '/a/b/tool'], ['etc/conf', '/etc']]), where: 'test' });
  assert.deepEqual(byDest.map((l) => [l.name, l.entries.map((e) => e.path)]), [
    ['files: /etc', ['etc', 'etc/conf']], ['packages: lib', ['a', 'a/b', 'a/b/lib']], ['files', ['a/b/tool']], ['database and unowned files', ['a/b/tool-link', 'db']],
  ]);
  assert.throws(() => planLayers(tree, [{ packages: ['nope'] }], { distribution, specFiles: new Map(), where: 'x.yaml' }),
    { code: 'E_SPEC', message: 'x.yaml: layers[0].packages[0]: nope is not among the packages the image installs' });
  // auto: 2 is all packages in one layer, then the last one.
  assert.deepEqual(planLayers(tree, { auto: 2 }, { distribution, specFiles: new Map(), where: 'x' }).map((l) => l.name), ['packages: lib, tool', 'database and unowned files']);
});

test('hard links: a group goes where its highest member is, whichever name sorts first; a hard-link entry follows its target after that, through chains', () => {
  const dirEntry = (path: string): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
  const file = (path: string, inode?: string): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, content: { kind: 'bytes', data: Buffer.alloc(0) }, ...(inode ? { inode } : {}) } as Entry);
  const link = (path: string, linkname: string): Entry => ({ path, type: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, linkname });
  const entries = new Map<string, Entry>([
    dirEntry('a'), link('a/link', 'a/y'), file('a/y', 'i1'), file('a/z', 'i1'),
    dirEntry('b'), link('b/1', 'b/2'), link('b/2', 'b/3'), file('b/3'),
    dirEntry('c'), file('c/first', 'i2'), file('c/second', 'i2'), file('c/own'),
  ].map((e) => [e.path, e]));
  const layers = planLayers(entries, [{ packages: ['lib'] }], {
    distribution: {
      isDatabaseFile: () => false, isRecordFile: () => false,
      packageRecords: () => [{ distribution: 'x', name: 'lib', version: '1', purl: '', dependsOn: [], supplier: '', files: ['/a/link', '/a/y', '/b/1', '/b/2', '/c/first', '/c/own'].map((path) => ({ path })) }],
    },
    specFiles: new Map(), where: 'test',
  });
  assert.deepEqual(layers.map((l) => l.entries.map((e) => e.path)), [
    ['c', 'c/own'],
    ['a', 'a/link', 'a/y', 'a/z', 'b', 'b/1', 'b/2', 'b/3', 'c/first', 'c/second'],
  ]);
});

test('layer names list packages and files: dests in byte order (code points), not UTF-16 order', () => {
  const file = (path: string): Entry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0, content: { kind: 'bytes', data: Buffer.alloc(0) } } as Entry);
  const hi = '\u{1F600}'; // a surrogate pair in UTF-16: sorts before U+FF5E there, after it in byte order
  const mid = '\u{FF5E}';
  const entries = new Map<string, Entry>([file(hi), file(mid), file('db')].map((e) => [e.path, e]));
  const distribution = {
    isDatabaseFile: (p: string) => p === 'db', isRecordFile: () => false,
    packageRecords: () => [`a${hi}`, `a${mid}`].map((name) => ({ distribution: 'x', name, version: '1', purl: '', dependsOn: [], supplier: '', files: [] })),
  };
  const specFiles = new Map([[hi, `/${hi}`], [mid, `/${mid}`]]);
  const named = planLayers(entries, [{ files: [`/${hi}`, `/${mid}`] }, { packages: [`a${hi}`, `a${mid}`] }], { distribution, specFiles, where: 'test' });
  assert.deepEqual(named.map((l) => l.name), [`files: /${mid}, /${hi}`, `packages: a${mid}, a${hi}`, 'database and unowned files']);
  const rest = planLayers(entries, [{ packages: 'rest' }], { distribution, specFiles, where: 'test' });
  assert.equal(rest[0]!.name, `packages: rest (a${mid}, a${hi})`);
  const auto = planLayers(entries, { auto: 2 }, { distribution, specFiles, where: 'test' });
  assert.equal(auto[0]!.name, `packages: a${mid}, a${hi}`);
  assert.deepEqual(byPopularity([{ name: `a${hi}`, dependsOn: [] }, { name: `a${mid}`, dependsOn: [] }]), [`a${mid}`, `a${hi}`]);
});
