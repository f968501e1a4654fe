/**
 * audit and sbom (and status, where it reads the database) over images whose package databases
 * are hostile (built by hand from a root directory): a dpkg status that is not deb822, an
 * installed package without a Version, one package stated twice (in a status, or as two pacman
 * entries), a pacman entry without %NAME% or under another directory name, an mtree that is a
 * gzip bomb, a status or desc that is a directory, a symlink or a hard link. Each is exit 2 with
 * one line naming the database file (was: exit 0, the packages silently gone, or gigabytes
 * decompressed); names with control characters are shown escaped in the text report, so that a
 * path cannot forge a line of it. A package name or version the distribution's tools would not
 * have written is read as written, with a warning.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { imagePackages } from '../../src/status/installed.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { runCli, runCliAsync, type RunResult } from '../helpers/cli.js';
import { startRebuilderd } from '../helpers/rebuilderd-stub.js';
import { cyclonedxLibraryErrors, cyclonedxSchemaErrors, pyspdxtools } from '../helpers/sbom-check.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'audit-hostile-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Not a regular file: a directory, a symlink to a target, a hard link to another path of the image. */
type Special = { dir: true } | { symlink: string } | { hardlink: string };
/** An image of one layer holding `files` (path → content, or what else the path is). */
function image(files: Record<string, string | Buffer | Special>): string {
  const root = join(dir, `root${++n}`);
  const links: Array<[string, string]> = [];
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    if (typeof data === 'string' || Buffer.isBuffer(data)) writeFileSync(join(root, path), data);
    else if ('dir' in data) mkdirSync(join(root, path));
    else if ('symlink' in data) symlinkSync(data.symlink, join(root, path));
    else links.push([join(root, data.hardlink), join(root, path)]);
  }
  for (const [target, path] of links) linkSync(target, path);
  const ref = `oci:${join(dir, `img${n}`)}:t`;
  const b = runCli(['build', '--rootfs', root, '--output', ref, '--source-date-epoch', '0', '--normalize', 'none', '--no-xattrs']);
  assert.equal(b.status, 0, b.stderr);
  return ref;
}

const FOO = 'hello\n';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
function debian(status: string, extra: Record<string, string | Special> = {}): Record<string, string | Special> {
  return {
    'usr/bin/foo': FOO,
    'var/lib/dpkg/status': status,
    'var/lib/dpkg/info/foo.list': '/.\n/usr\n/usr/bin\n/usr/bin/foo\n',
    'var/lib/dpkg/info/foo.md5sums': `${md5(FOO)}  usr/bin/foo\n`,
    ...extra,
  };
}
const FOO_STATUS = 'Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: foo\n';

/** Both commands (or those named) refuse the image with exit 2 and one line matching `message`. */
function refused(ref: string, message: RegExp, commands = ['audit', 'sbom']): void {
  for (const args of commands.map((c) => [c, ref])) {
    const r: RunResult = runCli(args);
    assert.equal(r.status, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', args[0]);
    assert.match(r.stderr, message, args[0]);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${args[0]}: one line: ${r.stderr}`);
  }
}

test('a dpkg status that is not deb822 is exit 2 naming its line (was: no packages, exit 0)', () => {
  refused(image(debian(` orphan continuation\n${FOO_STATUS}`)), /^repro-image: var\/lib\/dpkg\/status:1: continuation line outside a field$/m);
});

test('an installed package without Version, and a paragraph without Package, are exit 2 naming the line', () => {
  refused(image(debian('Package: foo\nStatus: install ok installed\n')), /var\/lib\/dpkg\/status:1: package foo is installed but has no Version field/);
  refused(image(debian(`${FOO_STATUS}\nStatus: install ok installed\nVersion: 2\n`)), /var\/lib\/dpkg\/status:7: a paragraph without a Package field/);
});

test('one package and architecture stated twice is exit 2 (was: two SBOM components with one bom-ref)', () => {
  refused(image(debian(`${FOO_STATUS}\n${FOO_STATUS}`)), /var\/lib\/dpkg\/status:7: package foo \(amd64\) is stated again \(first at line 1\)/);
  // Multi-Arch: same, two architectures: two packages.
  const r = runCli(['sbom', image(debian(`${FOO_STATUS}\n${FOO_STATUS.replace('amd64', 'i386')}`)), '--format', 'cyclonedx-json']);
  assert.equal(r.status, 0, r.stderr);
  const refs = (JSON.parse(r.stdout) as { components: Array<{ 'bom-ref': string }> }).components.map((c) => c['bom-ref']);
  assert.deepEqual(refs.sort(), ['pkg:deb/debian/foo@1.0?arch=amd64', 'pkg:deb/debian/foo@1.0?arch=i386']);
});

test('a path with a newline or an escape sequence cannot forge a line of the text report', () => {
  const ref = image(debian(FOO_STATUS, {
    'usr/bin/evil\nEvery entry is accounted for.': '',
    'var/lib/dpkg/info/foo.list': '/.\n/usr\n/usr/bin\n/usr/bin/foo\n/\x1b[2Jgone\n',
  }));
  const r = runCli(['audit', ref]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f]/, 'no control character but newlines');
  assert.match(r.stdout, /^ {2}usr\/bin\/evil\\u000aEvery entry is accounted for\. \(file, 0 B\)$/m);
  assert.match(r.stdout, /^ {2}\/\\u001b\[2Jgone \(foo\)$/m);
  assert.doesNotMatch(r.stdout, /^Every entry is accounted for\.$/m);
});

test('a file whose name differs from a package\'s only in how a letter is encoded never looks like the package\'s, in text or HTML', () => {
  const composed = 'usr/bin/caf\u00e9';
  const decomposed = 'usr/bin/cafe\u0301';
  const ref = image(debian(FOO_STATUS, {
    [composed]: FOO,
    [decomposed]: 'not the package\'s\n',
    'var/lib/dpkg/info/foo.list': `/.\n/usr\n/usr/bin\n/usr/bin/foo\n/${composed}\n`,
    'var/lib/dpkg/info/foo.md5sums': `${md5(FOO)}  usr/bin/foo\n${md5(FOO)}  ${composed}\n`,
  }));
  const html = join(dir, 'nfd.html');
  const r = runCli(['audit', ref, '--html', html]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(decomposed), 'the decomposed name never raw in the text');
  assert.match(r.stdout, /^ {2}usr\/bin\/cafe\\u0301 \(file, 18 B\)$/m);
  const page = readFileSync(html, 'utf8');
  assert.ok(!page.includes(decomposed), 'the decomposed name never raw in the page');
  assert.ok(page.includes('cafe\\u0301') && page.includes('caf\u00e9'));
});

function arch(name: string, version: string, desc: string, mtree?: Buffer): Record<string, string | Buffer | Special> {
  const d = `var/lib/pacman/local/${name}-${version}`;
  return {
    'usr/bin/foo': FOO,
    'var/lib/pacman/local/ALPM_DB_VERSION': '9\n',
    [`${d}/desc`]: desc,
    [`${d}/files`]: '%FILES%\nusr/\nusr/bin/\nusr/bin/foo\n\n',
    ...(mtree ? { [`${d}/mtree`]: mtree } : {}),
  };
}

test('a pacman entry without %NAME%, or whose name is not its directory\'s, is exit 2 (was: skipped, its files unexplained)', () => {
  refused(image(arch('foo', '1.0-1', '%VERSION%\n1.0-1\n\n')), /var\/lib\/pacman\/local\/foo-1\.0-1\/desc: no %NAME%/);
  refused(image(arch('foo', '1.0-1', '%NAME%\nbar\n\n%VERSION%\n1.0-1\n\n')), /foo-1\.0-1\/desc: %NAME% and %VERSION% say bar 1\.0-1, not the directory's foo 1\.0-1$/m);
  refused(image(arch('foo', '1.0-1', '%NAME%\nfoo\n\nnot a key\n')), /foo-1\.0-1\/desc: line 4: expected a %KEY% line/);
});

/** As `refused`, and `status` (its reading of the image's packages) refuses it with the same message. */
async function refusedByAll(ref: string, message: RegExp): Promise<void> {
  refused(ref, message);
  await assert.rejects(imagePackages(parseImageRef(ref)), (e: Error & { code?: string }) => e.code === 'E_BAD_INPUT' && message.test(e.message));
}

const DESC = (name: string, version: string): string => `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n`;

test('two pacman entries of one package are exit 2 naming both directories, in audit, sbom and status (was: both read, two versions of one package)', async () => {
  const ref = image({ ...arch('foo', '1.0-1', DESC('foo', '1.0-1')), ...arch('foo', '2.0-1', DESC('foo', '2.0-1')) });
  await refusedByAll(ref, /^(repro-image: )?var\/lib\/pacman\/local\/foo-2\.0-1: package foo is stated again \(first as var\/lib\/pacman\/local\/foo-1\.0-1\); pacman's local database holds one entry per package$/m);
  // Two packages, two entries: read.
  const r = runCli(['sbom', image({ ...arch('foo', '1.0-1', DESC('foo', '1.0-1')), ...arch('foo-bar', '1.0-1', DESC('foo-bar', '1.0-1')) }), '--format', 'cyclonedx-json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { components: Array<{ name: string }> }).components.map((c) => c.name), ['foo', 'foo-bar']);
});

test('a pacman desc whose name and version are not its directory\'s as libalpm splits it is exit 2 in audit, sbom and status (status read it; audit and sbom compared the joined name)', async () => {
  // libalpm splits foo-1-2-3 into foo-1 and 2-3: a desc saying foo and 1-2-3 is not that entry.
  await refusedByAll(image(arch('foo', '1-2-3', DESC('foo', '1-2-3'))), /var\/lib\/pacman\/local\/foo-1-2-3\/desc: %NAME% and %VERSION% say foo 1-2-3, not the directory's foo-1 2-3$/m);
  await refusedByAll(image(arch('foo', '1.0-1', DESC('bar', '1.0-1'))), /foo-1\.0-1\/desc: %NAME% and %VERSION% say bar 1\.0-1, not the directory's foo 1\.0-1$/m);
  // A directory's name without a version and a release: libalpm leaves the entry out.
  await refusedByAll(image({ ...arch('foo', '1', DESC('foo', '1')) }), /var\/lib\/pacman\/local\/foo-1: not a pacman database entry's name \(NAME-PKGVER-PKGREL\)$/m);
});

test('a Package or Version Debian refuses, a pacman name or version makepkg refuses: read as written and said, on stderr in audit, sbom and status and in audit\'s report (text, JSON, HTML); audit --strict fails on it (was: taken silently)', async () => {
  const ODD = 'Package: foo_bar\nStatus: install ok installed\nArchitecture: amd64\nVersion: v1.0\nDescription: odd\n';
  const deb = image(debian(`${FOO_STATUS}\n${ODD}`));
  const debWarnings = [
    'var/lib/dpkg/status:7: Package "foo_bar" is not a Debian package name ("_" is not a lower-case letter, a digit, "+", "-" or "."); the package is read as written',
    'var/lib/dpkg/status:7: package "foo_bar": Version "v1.0" is not a Debian version (its upstream version does not start with a digit); the package is read as written',
  ];
  const stderrOf = (w: string[]): string => w.map((x) => `warning: ${x}\n`).join('');
  const a = runCli(['audit', deb, '--html', join(dir, 'odd.html')]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stderr, stderrOf(debWarnings));
  assert.ok(a.stdout.startsWith(`Package database warnings (the packages are read as written): 2\n  ${debWarnings[0]}\n  ${debWarnings[1]}\n\n`), a.stdout);
  assert.match(a.stdout, /^Every entry is accounted for\.$/m);
  assert.deepEqual((JSON.parse(runCli(['audit', deb, '--json']).stdout) as { warnings: string[] }).warnings, debWarnings);
  assert.match(readFileSync(join(dir, 'odd.html'), 'utf8'), /<h2>Package database warnings \(2\)<\/h2><p>The packages are read as written\.<\/p><ul>\n<li>var\/lib\/dpkg\/status:7: Package &quot;foo_bar&quot; is not a Debian package name/);
  const strict = runCli(['audit', deb, '--strict']);
  assert.equal(strict.status, 1, strict.stdout + strict.stderr);
  const sb = runCli(['sbom', deb, '--format', 'cyclonedx-json']);
  assert.equal(sb.status, 0, sb.stderr);
  assert.equal(sb.stderr, stderrOf(debWarnings));
  assert.deepEqual((JSON.parse(sb.stdout) as { components: Array<{ name: string; version: string }> }).components.map((c) => `${c.name} ${c.version}`), ['foo 1.0', 'foo_bar v1.0']);
  const rebuilder = await startRebuilderd([]);
  try {
    const st = await runCliAsync(['status', deb, '--rebuilder', rebuilder.url, '--json']);
    assert.equal(st.status, 0, st.stderr);
    assert.equal(st.stderr, stderrOf(debWarnings));
    const report = JSON.parse(st.stdout) as { warnings: string[]; packages: Array<{ name: string }> };
    assert.deepEqual(report.warnings, debWarnings);
    assert.deepEqual(report.packages.map((p) => p.name), ['foo', 'foo_bar']);
  } finally {
    await rebuilder.close();
  }
  // pacman: a name starting with ".", a release that is not a number, a name with an escape sequence (shown escaped, never raw).
  const evil = 'foo\u001b[2J';
  const pac = image({ ...arch('.foo', '1.0-x', DESC('.foo', '1.0-x')), ...arch(evil, '1.0-1', DESC(evil, '1.0-1')) });
  const pacWarnings = [
    'var/lib/pacman/local/.foo-1.0-x/desc: %NAME% ".foo" is not a pacman package name (it starts with "."); the package is read as written',
    'var/lib/pacman/local/.foo-1.0-x/desc: package ".foo": %VERSION% "1.0-x" is not a pacman version (its pkgrel "x" is not N or N.M); the package is read as written',
    'var/lib/pacman/local/foo\\u001b[2J-1.0-1/desc: %NAME% "foo\\u001b[2J" is not a pacman package name ("\\u001b" is not an ASCII letter, a digit, "@", ".", "_", "+" or "-"); the package is read as written',
  ];
  for (const args of [['audit', pac], ['sbom', pac]]) {
    const r = runCli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, stderrOf(pacWarnings), args[0]);
    assert.doesNotMatch(r.stdout + r.stderr, /\u001b/, 'no raw escape');
  }
});

test('an mtree that decompresses past 64 MiB is exit 2 for audit (was: decompressed whole, up to 4 GiB, then ignored); sbom, which lists packages and not their files, does not read it', () => {
  const bomb = gzipSync(Buffer.alloc(65 << 20, 0x20));
  const bombed = image(arch('foo', '1.0-1', '%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n', bomb));
  refused(bombed, /foo-1\.0-1\/mtree: decompresses to more than 64 MiB/, ['audit']);
  const s = runCli(['sbom', bombed, '--format', 'cyclonedx-json']);
  assert.equal(s.status, 0, s.stderr);
  assert.deepEqual((JSON.parse(s.stdout) as { components: Array<{ name: string }> }).components.map((c) => c.name), ['foo']);
  refused(image(arch('foo', '1.0-1', '%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]))), /foo-1\.0-1\/mtree: not a gzip stream we can read/, ['audit']);
  // A good one still checks the files.
  const good = gzipSync(`#mtree\n./usr/bin/foo type=file mode=644 uid=0 gid=0 size=6 sha256digest=${createHash('sha256').update('other\n').digest('hex')}\n`);
  const r = runCli(['audit', image(arch('foo', '1.0-1', '%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n', good))]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usr\/bin\/foo \(foo\): sha256 recorded/);
});

test('a package database file past the 64 MiB read of one is exit 2 (was: left out, the image without packages)', () => {
  const big = `${FOO_STATUS}X-Padding:\n ${'x'.repeat(64 << 20)}\n`;
  refused(image(debian(big)), /: var\/lib\/dpkg\/status: \d+ bytes, more than the 67108864 read of a package database file$/m);
});

test('a package file with no recorded digest is listed as not checked, and --strict fails on it (was: counted as the package\'s)', () => {
  const BAR = 'bar\n';
  const ref = image(debian(FOO_STATUS, {
    'usr/bin/bar': BAR,
    'var/lib/dpkg/info/foo.list': '/.\n/usr\n/usr/bin\n/usr/bin/foo\n/usr/bin/bar\n',
    // bar's line is not there (or not one md5sum writes: a digest of 31 digits).
    'var/lib/dpkg/info/foo.md5sums': `${md5(FOO)}  usr/bin/foo\n${md5(BAR).slice(1)}  usr/bin/bar\n`,
  }));
  const r = runCli(['audit', ref]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^From packages, not checked \(no digest recorded\): 1 file\n {2}usr\/bin\/bar \(foo, 4 B\)$/m);
  assert.match(r.stdout, /^1 file \(4 B\) from packages not checked: no digest recorded\.$/m);
  const j = JSON.parse(runCli(['audit', ref, '--json']).stdout) as { uncheckedTotal: { entries: number; bytes: number }; entries: Array<{ path: string; kind: string; unchecked?: boolean }> };
  assert.deepEqual(j.uncheckedTotal, { entries: 1, bytes: 4 });
  assert.deepEqual(j.entries.filter((e) => e.unchecked).map((e) => [e.path, e.kind]), [['usr/bin/bar', 'package']]);
  assert.equal(j.entries.find((e) => e.path === 'usr/bin/foo')!.unchecked, undefined);
  const strict = runCli(['audit', ref, '--strict', '--html', join(dir, 'unchecked.html')]);
  assert.equal(strict.status, 1, strict.stdout + strict.stderr);
  const html = readFileSync(join(dir, 'unchecked.html'), 'utf8');
  assert.match(html, /<h2>From packages, not checked \(no digest recorded\)<\/h2><table>.*\n<tr><td><code>\/usr\/bin\/bar<\/code><\/td><td>file<\/td><td>4 B<\/td><td>foo<\/td><\/tr>/);
  assert.match(html, /<span class="n">bar<\/span> <span class="s">4 B<\/span> <span class="w">package: foo \(not checked: no digest recorded\)<\/span>/);
  // With its digest recorded, the same image passes --strict.
  const fixed = runCli(['audit', image(debian(FOO_STATUS, {
    'usr/bin/bar': BAR,
    'var/lib/dpkg/info/foo.list': '/.\n/usr\n/usr/bin\n/usr/bin/foo\n/usr/bin/bar\n',
    'var/lib/dpkg/info/foo.md5sums': `${md5(FOO)}  usr/bin/foo\n${md5(BAR)}  usr/bin/bar\n`,
  })), '--strict']);
  assert.equal(fixed.status, 0, fixed.stdout + fixed.stderr);
  assert.doesNotMatch(fixed.stdout, /not checked/);
});

test('a dpkg status or a pacman desc that is a directory, or a symlink is exit 2 naming it (was: exit 0, an image without packages); a hard link to a file is read', () => {
  const must = /; a package database file must be a regular file$/m;
  const status = 'var/lib/dpkg/status';
  const without = (o: Record<string, string | Buffer | Special>, k: string): Record<string, string | Buffer | Special> => Object.fromEntries(Object.entries(o).filter(([p]) => p !== k));
  const deb = without(debian(FOO_STATUS), status);
  refused(image({ ...deb, [status]: { dir: true } }), new RegExp(`^repro-image: var/lib/dpkg/status: a directory${must.source}`, 'm'));
  refused(image({ ...deb, 'etc/st': FOO_STATUS, [status]: { symlink: '/etc/st' } }), /^repro-image: var\/lib\/dpkg\/status: a symlink to \/etc\/st; a package database/m);
  // A status that is a hard link to a file elsewhere is that file: read.
  const linked = runCli(['sbom', image({ ...deb, 'etc/st': FOO_STATUS, [status]: { hardlink: 'etc/st' } }), '--format', 'cyclonedx-json']);
  assert.equal(linked.status, 0, linked.stderr);
  assert.equal((JSON.parse(linked.stdout) as { components: unknown[] }).components.length, 1);
  const desc = 'var/lib/pacman/local/foo-1.0-1/desc';
  const pac = without(arch('foo', '1.0-1', ''), desc);
  refused(image({ ...pac, [desc]: { dir: true } }), /^repro-image: var\/lib\/pacman\/local\/foo-1\.0-1\/desc: a directory;/m);
  refused(image({ ...pac, 'etc/d': '%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n', [desc]: { symlink: '../../../../../etc/d' } }), /desc: a symlink to \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/d;/);
  // A status that is a regular file, and a hard link to it elsewhere, is read.
  const r = runCli(['sbom', image({ ...debian(FOO_STATUS), 'var/lib/dpkg/status-old': { hardlink: status } }), '--format', 'cyclonedx-json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { components: unknown[] }).components.length, 1);
});

test('sbom: a copyright file of 2,000 distinct licenses and a 60 MB %DESC% (was: an expression of 2,000 terms; the 60 MB summary copied whole into the document): NOASSERTION with the reason in each format, a summary of 1,024 characters; both documents read back by the SPDX tools and the CycloneDX schema and library', async () => {
  const FMT = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n';
  const copyright = FMT + Array.from({ length: 2000 }, (_, i) => `Files: f${i}\nLicense: L${i}\n\n`).join('');
  const deb = image(debian(FOO_STATUS, { 'usr/share/doc/foo/copyright': copyright }));
  const note = 'usr/share/doc/foo/copyright: more than 1000 distinct licenses; not machine-readable for this SBOM (NOASSERTION)';
  const spdx = runCli(['sbom', deb]);
  assert.equal(spdx.status, 0, spdx.stderr);
  const pkg = (JSON.parse(spdx.stdout) as { packages: Array<Record<string, unknown>> }).packages.find((p) => p['name'] === 'foo')!;
  assert.equal(pkg['licenseDeclared'], 'NOASSERTION');
  assert.equal(pkg['licenseComments'], note);
  // Read back by the SPDX project's own tool, and by CycloneDX's schema and library: the notes are valid fields.
  const spdxFile = join(dir, 'note.spdx.json');
  writeFileSync(spdxFile, spdx.stdout);
  const py = pyspdxtools(spdxFile);
  assert.equal(py.status, 0, py.output);
  assert.equal(py.output.trim(), '', 'pyspdxtools prints nothing for a valid document');
  const cdx = runCli(['sbom', deb, '--format', 'cyclonedx-json']);
  assert.equal(cdx.status, 0, cdx.stderr);
  assert.deepEqual(cyclonedxSchemaErrors(JSON.parse(cdx.stdout)), []);
  assert.equal(await cyclonedxLibraryErrors(cdx.stdout), null);
  const c = (JSON.parse(cdx.stdout) as { components: Array<Record<string, unknown>> }).components[0]!;
  assert.equal(c['licenses'], undefined);
  assert.deepEqual((c['properties'] as Array<{ name: string }>).find((p) => p.name === 'repro-image:license-note'), { name: 'repro-image:license-note', value: note });
  const big = image(arch('foo', '1.0-1', `%NAME%\nfoo\n\n%VERSION%\n1.0-1\n\n%DESC%\n${'d'.repeat(60_000_000)}\n\n`));
  const a = runCli(['sbom', big, '--format', 'cyclonedx-json']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal((JSON.parse(a.stdout) as { components: Array<{ description: string }> }).components[0]!.description, `${'d'.repeat(1024)}…`);
});

test('build --sbom says the package database\'s warnings once, as sbom REF does, however many formats (was: none)', () => {
  const rootfs = join(dir, 'odd-rootfs');
  mkdirSync(join(rootfs, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(join(rootfs, 'var/lib/dpkg/status'), 'Package: foo_bar\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: odd\n');
  const out = `oci:${join(dir, 'odd-built')}:t`;
  const r = runCli(['build', '-q', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', out, '--sbom', 'spdx-json', '--sbom', 'cyclonedx-json']);
  assert.equal(r.status, 0, r.stderr);
  const line = 'warning: var/lib/dpkg/status:1: Package "foo_bar" is not a Debian package name ("_" is not a lower-case letter, a digit, "+", "-" or "."); the package is read as written\n';
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('warning:')).map((l) => `${l}\n`), [line], r.stderr);
  assert.equal(runCli(['sbom', out]).stderr, line);
});
