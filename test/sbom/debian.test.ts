/**
 * SBOMs and audits of Debian images built from the hermetic signed repository: `build --sbom`
 * leaves the image digest as it is and writes both formats beside it, with golden digests; the
 * documents pass the formats' own validators (CycloneDX's JSON schema and library, the SPDX
 * project's pyspdxtools) and name the same packages as the SBOM of the lock; the audit accounts
 * for every entry, flags a changed package file (both digests) and conffile, lists a file added
 * by hand with its size, and counts a package a rebuilder found BAD under "not reproduced".
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { readGolden } from '../helpers/golden.js';
import { startRebuilderd } from '../helpers/rebuilderd-stub.js';
import { checkPurlsAndLicenses, cyclonedxLibraryErrors, cyclonedxSchemaErrors, pyspdxtools } from '../helpers/sbom-check.js';

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: libfoo

Files: *
Copyright: 2024 Someone
License: GPL-2+ or Expat

Files: debian/*
Copyright: 2024 Someone Else
License: BSD-3-clause and Foo-Special
`;

const PACKAGES: TestPackage[] = [
  { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'from hello-base\n', '/bin/hello-sh': { data: '#!/bin/sh\necho hello\n', mode: 0o755 } } },
  { name: 'libfoo', version: '2.0', fields: { Homepage: 'https://libfoo.invalid/' }, files: { '/usr/lib/libfoo.txt': 'libfoo 2.0\n', '/usr/share/doc/libfoo/copyright': COPYRIGHT } },
  {
    name: 'app', version: '1:1.0-2', fields: { Depends: 'libfoo (>= 2.0), mailer, hello-base' },
    files: { '/usr/bin/app-edit': { data: '#!/bin/sh\n', mode: 0o755 }, '/usr/share/man/man1/app-edit.1.gz': 'man', '/etc/app.conf': 'setting=1\n' },
    conffiles: ['/etc/app.conf'],
    postinst: '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  update-alternatives --install /usr/bin/editor editor /usr/bin/app-edit 50 \\\n    --slave /usr/share/man/man1/editor.1.gz editor.1.gz /usr/share/man/man1/app-edit.1.gz\nfi\n',
  },
  { name: 'tinymail', version: '1.0', compression: 'zstd', fields: { Provides: 'mailer' }, files: { '/usr/sbin/sendmail': { data: '#!/bin/sh\n', mode: 0o755 } } },
];

let dir: string;
let repo: Repo;
let spec: string;
let cache: string;
const golden = readGolden('sbom.json') as Record<string, string>;
const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sbom-debian-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec/image.yaml');
  cache = join(dir, 'cache');
  writeFileSync(spec, `name: sbom-debian\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\npackages: [app]\n`);
  await ok(['lock', spec]);
  await ok(['fetch', spec]);
});
after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

interface Spdx { packages: Array<{ name: string; versionInfo: string; licenseDeclared: string; externalRefs?: Array<{ referenceLocator: string }> }>; relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>; documentNamespace: string; creationInfo: { created: string } }
interface Cdx { components: Array<{ name: string; version: string; purl: string; licenses?: Array<{ expression: string }>; hashes?: unknown[]; properties?: Array<{ name: string; value: string }> }>; metadata: { component: { version: string } }; dependencies: Array<{ ref: string; dependsOn: string[] }> }

test('build --sbom writes both formats beside the image, the image digest unchanged; golden digests; the SBOM of the image is the one beside it', async () => {
  const plain = (await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'plain')}:t`])).trim();
  const b = await run(['build', spec, '--offline', '--output', `oci:${join(dir, 'img')}:t`, '--sbom', 'spdx-json', '--sbom', 'cyclonedx-json', '--json']);
  assert.equal(b.status, 0, b.stderr);
  const built = JSON.parse(b.stdout) as { manifest: { digest: string }; referrers: Array<{ digest: string; artifactType: string }> };
  assert.equal(built.manifest.digest, plain, 'the SBOM does not change the image');
  assert.deepEqual(built.referrers.map((r) => r.artifactType).sort(), ['application/spdx+json', 'application/vnd.cyclonedx+json']);
  const listed = JSON.parse(await ok(['inspect', '--referrers', '--json', `oci:${join(dir, 'img')}:t`])) as { subjects: Array<{ digest: string; referrers: Array<{ digest: string; artifactType: string }> }> };
  assert.equal(listed.subjects[0]!.digest, plain);
  for (const [format, type] of [['spdx-json', 'application/spdx+json'], ['cyclonedx-json', 'application/vnd.cyclonedx+json']] as const) {
    const file = join(dir, `image.${format}.json`);
    const digest = (await ok(['sbom', `oci:${join(dir, 'img')}:t`, '--format', format, '--output', file])).trim();
    assert.equal(digest, golden[`debian-image-${format}`], `${format} golden digest`);
    // The referrer's one layer is the same document.
    const ref = listed.subjects[0]!.referrers.find((r) => r.artifactType === type)!;
    const manifest = JSON.parse(readFileSync(join(dir, 'img/blobs/sha256', ref.digest.slice(7)), 'utf8')) as { subject: { digest: string }; layers: Array<{ digest: string }>; artifactType: string };
    assert.equal(manifest.subject.digest, plain);
    assert.equal(manifest.artifactType, type);
    assert.equal(manifest.layers[0]!.digest, digest);
    // Byte for byte again, from a second build in another directory.
    assert.equal((await ok(['sbom', `oci:${join(dir, 'plain')}:t`, '--format', format, '--output', join(dir, `again.${format}.json`)])).trim(), digest);
  }
});

test('the documents pass the formats\' validators, and say what the packages are', async () => {
  const spdxFile = join(dir, 'image.spdx-json.json');
  const py = pyspdxtools(spdxFile);
  assert.equal(py.status, 0, py.output);
  assert.equal(py.output.trim(), '', 'pyspdxtools prints nothing for a valid document');
  const spdx = JSON.parse(readFileSync(spdxFile, 'utf8')) as Spdx;
  assert.match(spdx.documentNamespace, /^urn:uuid:[0-9a-f-]{36}$/);
  assert.equal(spdx.creationInfo.created, '2023-11-14T22:13:20Z', 'SOURCE_DATE_EPOCH of the lock');
  const libfoo = spdx.packages.find((p) => p.name === 'libfoo')!;
  assert.equal(libfoo.licenseDeclared, '(GPL-2.0-or-later OR MIT) AND BSD-3-Clause AND LicenseRef-Foo-Special');
  assert.equal(spdx.packages.find((p) => p.name === 'app')!.licenseDeclared, 'NOASSERTION');
  assert.ok(spdx.relationships.some((r) => r.relationshipType === 'DESCRIBES' && r.relatedSpdxElement === 'SPDXRef-Subject'));
  const appId = spdx.relationships.find((r) => r.relationshipType === 'DEPENDS_ON')?.spdxElementId;
  assert.match(appId ?? '', /^SPDXRef-Package-app-/);
  assert.deepEqual(spdx.relationships.filter((r) => r.spdxElementId === appId && r.relationshipType === 'DEPENDS_ON').length, 3, 'libfoo, tinymail (Provides: mailer), hello-base');

  const cdxText = readFileSync(join(dir, 'image.cyclonedx-json.json'), 'utf8');
  const cdx = JSON.parse(cdxText) as Cdx;
  assert.deepEqual(cyclonedxSchemaErrors(cdx), []);
  assert.equal(await cyclonedxLibraryErrors(cdxText), null);
  // The validators can say no: a component without a name, an SPDX document without its namespace.
  const broken = JSON.parse(cdxText) as { components: Array<Record<string, unknown>> };
  delete broken.components[0]!['name'];
  assert.notDeepEqual(cyclonedxSchemaErrors(broken), []);
  const badSpdx = JSON.parse(readFileSync(spdxFile, 'utf8')) as Record<string, unknown>;
  delete badSpdx['documentNamespace'];
  writeFileSync(join(dir, 'bad.spdx.json'), JSON.stringify(badSpdx));
  assert.notEqual(pyspdxtools(join(dir, 'bad.spdx.json')).output.trim(), '');
  checkPurlsAndLicenses(cdx.components.map((c) => c.purl), cdx.components.flatMap((c) => (c.licenses ?? []).map((l) => l.expression)));
  const cdxLibfoo = cdx.components.find((c) => c.name === 'libfoo')!;
  assert.deepEqual(cdxLibfoo.licenses, [{ expression: '(GPL-2.0-or-later OR MIT) AND BSD-3-Clause AND LicenseRef-Foo-Special' }]);
  assert.deepEqual(cdxLibfoo.properties!.filter((x) => x.name === 'repro-image:license-ref').map((x) => x.value), ['LicenseRef-Foo-Special=Foo-Special']);
  const app = cdx.components.find((c) => c.name === 'app')!;
  assert.equal(app.purl, 'pkg:deb/debian/app@1%3A1.0-2?arch=amd64');
  assert.deepEqual(cdx.dependencies.find((d) => d.ref === app.purl)!.dependsOn, ['pkg:deb/debian/hello-base@1.0?arch=amd64', 'pkg:deb/debian/libfoo@2.0?arch=amd64', 'pkg:deb/debian/tinymail@1.0?arch=amd64']);
});

test('the SBOM of the lock names the same packages as the SBOM of the image, with the .deb checksums', async () => {
  for (const format of ['spdx-json', 'cyclonedx-json'] as const) {
    const file = join(dir, `lock.${format}.json`);
    const digest = (await ok(['sbom', spec, '--format', format, '--output', file])).trim();
    // The lock names this run's keyring and port, so its digest (the subject) is this run's: same bytes twice.
    assert.equal((await ok(['sbom', spec, '--format', format, '--output', `${file}.again`])).trim(), digest);
    const fromLock = readFileSync(file, 'utf8');
    const fromImage = readFileSync(join(dir, `image.${format}.json`), 'utf8');
    const set = (text: string): string[] => {
      const d = JSON.parse(text) as Spdx & Cdx;
      return (format === 'spdx-json' ? d.packages.filter((p) => p.externalRefs?.[0]?.referenceLocator.startsWith('pkg:deb')).map((p) => `${p.name}=${p.versionInfo}`) : d.components.map((c) => `${c.name}=${c.version}`)).sort();
    };
    assert.deepEqual(set(fromLock), set(fromImage));
    assert.deepEqual(set(fromLock), ['app=1:1.0-2', 'hello-base=1.0', 'libfoo=2.0', 'tinymail=1.0']);
    if (format === 'spdx-json') assert.equal(pyspdxtools(file).status, 0);
    else {
      assert.deepEqual(cyclonedxSchemaErrors(JSON.parse(fromLock)), []);
      assert.ok((JSON.parse(fromLock) as Cdx).components.every((c) => c.hashes?.length === 1), 'the lock pins each .deb by SHA-256');
    }
  }
});

test('audit: every entry of the image is a package\'s or a named step\'s', async () => {
  const r = await run(['audit', `oci:${join(dir, 'img')}:t`, '--json', '--strict']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as { summary: Record<string, { entries: number; bytes: number }>; steps: Record<string, unknown>; total: { entries: number }; packages: Array<Record<string, unknown>> };
  assert.equal(report.summary['unexplained']!.entries, 0);
  // A package is named, counted and judged: its licenses, dependencies and file list are the SBOM's
  // (was: the whole record, every path it lists included; libfoo's copyright was read for it).
  const libfoo = report.packages.find((p) => p['name'] === 'libfoo');
  assert.deepEqual(Object.keys(libfoo ?? {}), ['distribution', 'name', 'version', 'architecture', 'source', 'purl', 'entries', 'bytes', 'modified', 'missing']);
  assert.equal(report.summary['modified']!.entries, 0);
  assert.ok(report.summary['packages']!.entries > 10);
  assert.deepEqual(Object.keys(report.steps).sort(), ['dpkg-database', 'effect alternatives', 'merged-usr', 'parent directories'].filter((s) => s in report.steps).sort());
  assert.ok('effect alternatives' in report.steps && 'dpkg-database' in report.steps);
  const text = await ok(['audit', `oci:${join(dir, 'img')}:t`]);
  assert.match(text, /Every entry is accounted for\.\n$/);
});

test('audit: a changed package file (both digests), a changed conffile and a file added by hand', async () => {
  const bundle = join(dir, 'bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${join(dir, 'img')}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const root = join(bundle, 'rootfs');
  writeFileSync(join(root, 'usr/lib/libfoo.txt'), 'libfoo 2.0, patched\n');
  appendFileSync(join(root, 'etc/app.conf'), 'setting=2\n');
  writeFileSync(join(root, 'usr/share/hello/added.bin'), Buffer.alloc(1234, 7));
  chmodSync(join(root, 'usr/share/hello/added.bin'), 0o600);
  await ok(['build', '--rootfs', root, '--output', `oci:${join(dir, 'changed')}:t`, '--source-date-epoch', '1700000000']);
  const r = await run(['audit', `oci:${join(dir, 'changed')}:t`, '--json', '--strict']);
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { modified: Array<{ path: string; conffile?: boolean; owners: Array<{ name: string }>; recorded: { md5: string }; actual: { md5: string; sha256: string }; differences: string[] }>; unexplained: Array<{ path: string; size: number; type: string }> };
  const md5 = (s: string): string => spawnSync('md5sum', { input: s, encoding: 'utf8' }).stdout.slice(0, 32);
  const lib = report.modified.find((m) => m.path === 'usr/lib/libfoo.txt')!;
  assert.equal(lib.owners[0]!.name, 'libfoo');
  assert.equal(lib.recorded.md5, md5('libfoo 2.0\n'));
  assert.equal(lib.actual.md5, md5('libfoo 2.0, patched\n'));
  assert.match(lib.actual.sha256, /^[0-9a-f]{64}$/);
  const conf = report.modified.find((m) => m.path === 'etc/app.conf')!;
  assert.equal(conf.conffile, true);
  assert.equal(report.modified.length, 2);
  assert.deepEqual(report.unexplained.map((u) => [u.path, u.type, u.size]), [['usr/share/hello/added.bin', 'file', 1234]]);
  const text = await ok(['audit', `oci:${join(dir, 'changed')}:t`]);
  assert.match(text, /Modified since installed:\n {2}etc\/app\.conf \(app, conffile\): md5 recorded [0-9a-f]{32}, image [0-9a-f]{32}/);
  assert.match(text, /Unexplained:\n {2}usr\/share\/hello\/added\.bin \(file, 1\.2 KiB\)\n/);
  assert.match(text, /\n3 entries \(1\.2 KiB\) not accounted for\.\n$/);
});

test('audit --rebuilder: a BAD package\'s files and bytes count as not reproduced, and --strict fails; --html writes the tree', async () => {
  const stub = await startRebuilderd([
    { distribution: 'debian', name: 'app', version: '1:1.0-2', status: 'GOOD' },
    { distribution: 'debian', name: 'hello-base', version: '1.0', status: 'GOOD' },
    { distribution: 'debian', name: 'libfoo', version: '2.0', status: 'BAD' },
    { distribution: 'debian', name: 'tinymail', version: '1.0', status: 'GOOD' },
  ]);
  try {
    const html = join(dir, 'audit.html');
    const r = await run(['audit', `oci:${join(dir, 'img')}:t`, '--rebuilder', stub.url, '--json', '--strict', '--html', html]);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { summary: Record<string, { entries: number; bytes: number }>; packages: Array<{ name: string; verdict: string; entries: number; bytes: number }> };
    const libfoo = report.packages.find((p) => p.name === 'libfoo')!;
    assert.equal(libfoo.verdict, 'BAD');
    assert.equal(report.summary['notReproduced']!.bytes, libfoo.bytes);
    assert.equal(libfoo.bytes, 'libfoo 2.0\n'.length + COPYRIGHT.length);
    assert.equal(report.summary['notReproduced']!.entries, 5, 'its two files and the three directories only it ships (usr/lib, usr/share/doc, usr/share/doc/libfoo)');
    assert.ok(report.summary['reproduced']!.entries > 5);
    assert.equal(report.summary['unknown']!.entries, 0);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<details><summary class="b-none"><span class="n">\/<\/span> <span class="s">[0-9.]+ KiB<\/span>/);
    assert.match(page, /libfoo\.txt<\/span> <span class="s">11 B<\/span> <span class="w">package, not reproduced: libfoo/);
    const text = await ok(['audit', `oci:${join(dir, 'img')}:t`, '--rebuilder', stub.url]);
    assert.match(text, /^\[-\] libfoo 2\.0 BAD: 7 entries, 251 B$/m);
    assert.match(text, /from packages not reproduced \(BAD\) +5 entries +251 B/);
  } finally {
    await stub.close();
  }
});

test('audit SPEC builds the spec from its lock and the cache, and names its files: as the spec\'s', async () => {
  const d = join(dir, 'withfiles');
  mkdirSync(d);
  writeFileSync(join(d, 'motd'), 'welcome\n');
  // The same packages and lock inputs; a file of the spec's own over a package's path and a new one.
  writeFileSync(join(d, 'image.yaml'), `${readFileSync(spec, 'utf8')}files:\n  - {src: motd, dest: /etc/motd}\n  - {src: motd, dest: /usr/lib/libfoo.txt}\n`);
  writeFileSync(join(d, 'image.lock.json'), readFileSync(join(dir, 'spec/image.lock.json')));
  const r = await run(['audit', join(d, 'image.yaml'), '--offline', '--json', '--strict']);
  assert.equal(r.status, 0, r.stdout.slice(0, 3000) + r.stderr);
  const report = JSON.parse(r.stdout) as { target: string; steps: Record<string, { entries: number }>; summary: Record<string, { entries: number }> };
  assert.equal(report.target, join(d, 'image.yaml'));
  assert.equal(report.steps['spec files']!.entries, 2);
  assert.equal(report.summary['unexplained']!.entries, 0);
  assert.equal(report.summary['modified']!.entries, 0);
});
