/**
 * `LicenseRef-` identifiers, one per license name: a name that is an SPDX idstring keeps its
 * identifier (`Foo-Special` → `LicenseRef-Foo-Special`, as every SBOM so far has it); any other
 * name gets its idstring characters and 8 hex digits of its SHA-256, so `A B`, `A/B`, `A_B` and
 * `A-B` are four identifiers (they were one, `LicenseRef-A-B`: SPDX's extracted licensing infos
 * kept one of the names for all four, and CycloneDX said one license where the records named
 * four). A pair of names made on purpose to share 32 bits of hash is NOASSERTION with a note,
 * in one package or across packages, never one identifier for two names; so is a pair whose
 * identifiers differ only in letter case (`Foo`, `foo`), which SPDX matches as one (Annex D.2).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCycloneDx } from '../../src/sbom/cyclonedx.js';
import type { SbomDocument } from '../../src/sbom/document.js';
import { encodeSpdx } from '../../src/sbom/spdx.js';
import { archRecords } from '../../src/sources/arch/records.js';
import { copyrightLicenses } from '../../src/sources/debian/copyright.js';
import type { PackageRecord } from '../../src/sources/distribution.js';
import { licenseRef, licenseTerm } from '../../src/sources/licenses.js';
import { checkPurlsAndLicenses, cyclonedxLibraryErrors, cyclonedxSchemaErrors, pyspdxtools } from '../helpers/sbom-check.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'license-refs-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const hex8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);
/** Two names whose idstring characters are `A-B` and whose SHA-256 share their first 32 bits (found by a search of 3,830 names). */
const PAIR = ['A/#/B', 'A~?;B'] as const;

test('a name that is an idstring keeps its identifier; any other name gets a suffix of its own', () => {
  assert.equal(licenseRef('A-B'), 'LicenseRef-A-B');
  assert.equal(licenseRef('Foo-Special'), 'LicenseRef-Foo-Special');
  assert.equal(licenseRef('public-domain'), 'LicenseRef-public-domain');
  for (const name of ['A B', 'A/B', 'A_B', 'A  B', ' A+B ']) assert.equal(licenseRef(name), `LicenseRef-A-B-${hex8(name)}`);
  assert.equal(licenseRef('custom:hello-exception'), `LicenseRef-custom-hello-exception-${hex8('custom:hello-exception')}`);
  // Nothing left of the name but the suffix: still a valid reference, and its own.
  assert.equal(licenseRef('+++'), `LicenseRef-unnamed-${hex8('+++')}`);
  // An idstring that ends as a suffix does is suffixed too, so it is never another name's.
  assert.equal(licenseRef('Foo-20240101'), `LicenseRef-Foo-20240101-${hex8('Foo-20240101')}`);
  // A reference written as one is the license of that name.
  assert.deepEqual(licenseTerm('LicenseRef-Foo'), { expression: 'LicenseRef-Foo', ref: { id: 'LicenseRef-Foo', name: 'Foo' } });
  assert.deepEqual(licenseTerm('MIT'), { expression: 'MIT' });
});

test('distinct names, distinct identifiers: the names that all were LicenseRef-A-B (and more), each a valid SPDX reference', () => {
  const names = ['A B', 'A-B', 'A/B', 'A_B', 'A  B', 'A--B', '-A-B-', 'A-B-', 'A.B', 'a b', 'a-b', 'A-B-' + hex8('A B'), 'A B C', 'A-B-C', '', ' ', 'unnamed', '.', 'A\u00e9B', 'Ae\u0301B', 'custom:A-B'];
  const ids = names.map(licenseRef);
  assert.equal(new Set(ids).size, names.length, ids.join('\n'));
  for (const id of ids) assert.match(id, /^LicenseRef-[A-Za-z0-9.-]+$/);
  checkPurlsAndLicenses([], ids);
  // The same name, the same identifier, whatever else there is.
  assert.deepEqual(names.map(licenseRef), ids);
});

test('Debian copyright and pacman %LICENSE%: two names that differ only in separators are two references', () => {
  const doc = (line: string): string => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${line}\n\nFiles: debian/*\nLicense: Foo-Special\n`;
  const deb = copyrightLicenses(doc('Foo Special or Foo_Special'), 'c')!;
  assert.deepEqual(deb.refs.map((r) => r.name).sort(), ['Foo Special', 'Foo-Special', 'Foo_Special']);
  assert.equal(new Set(deb.refs.map((r) => r.id)).size, 3);
  assert.ok(deb.expression!.includes('LicenseRef-Foo-Special AND') || deb.expression!.endsWith('AND LicenseRef-Foo-Special'), deb.expression);
  const desc = (licenses: string[]): Map<string, Buffer> => new Map([['var/lib/pacman/local/a-1-1/desc', Buffer.from(`%NAME%\na\n\n%VERSION%\n1-1\n\n%LICENSE%\n${licenses.join('\n')}\n\n`)]]);
  const [a] = archRecords(desc(['custom:foo', 'custom-foo', 'custom foo']));
  assert.deepEqual(a!.licenseRefs!.map((r) => [r.name, r.id]).sort(), [
    ['custom foo', `LicenseRef-custom-foo-${hex8('custom foo')}`], ['custom-foo', 'LicenseRef-custom-foo'], ['custom:foo', `LicenseRef-custom-foo-${hex8('custom:foo')}`],
  ]);
  // A pair made to share the suffix, in one package: NOASSERTION with the reason, not one license for two names.
  const [b] = archRecords(desc([...PAIR]));
  assert.equal(b!.license, undefined);
  assert.equal(b!.licenseNote, `var/lib/pacman/local/a-1-1/desc: the license names "A/#/B" and "A~?;B" make one identifier, LicenseRef-A-B-${hex8(PAIR[0])}; not machine-readable for this SBOM (NOASSERTION)`);
  assert.equal(hex8(PAIR[0]), hex8(PAIR[1]));
});

/** A package (no architecture) whose %LICENSE% lists `licenses`. */
function record(name: string, licenses: string[]): PackageRecord {
  return archRecords(new Map([[`var/lib/pacman/local/${name}-1-1/desc`, Buffer.from(`%NAME%\n${name}\n\n%VERSION%\n1-1\n\n%LICENSE%\n${licenses.join('\n')}\n\n`)]]))[0]!;
}

const documentOf = (packages: PackageRecord[]): SbomDocument => ({ subject: { kind: 'lock', name: 'licenses', digest: `sha256:${'0'.repeat(64)}` }, created: 0, packages });

interface Spdx { packages: Array<{ name: string; licenseDeclared: string; licenseComments?: string }>; hasExtractedLicensingInfos?: Array<{ licenseId: string; name: string }> }
interface Cdx { components: Array<{ name: string; purl: string; licenses?: Array<{ expression: string }>; properties?: Array<{ name: string; value: string }> }> }

/** Both documents of `doc`, each read back by its format's tools: pyspdxtools (silent, status 0), CycloneDX's JSON schema and library validator. */
async function readBack(doc: SbomDocument, file: string): Promise<{ spdx: Spdx; cdx: Cdx; text: string }> {
  writeFileSync(join(dir, file), encodeSpdx(doc));
  const py = pyspdxtools(join(dir, file));
  assert.equal(py.status, 0, py.output);
  assert.equal(py.output.trim(), '');
  const text = encodeCycloneDx(doc).toString();
  const cdx = JSON.parse(text) as Cdx;
  assert.deepEqual(cyclonedxSchemaErrors(cdx), []);
  assert.equal(await cyclonedxLibraryErrors(text), null);
  return { spdx: JSON.parse(encodeSpdx(doc).toString()) as Spdx, cdx, text };
}

test('SPDX and CycloneDX: packages licensed "A B", "A-B", "A/B", "A_B", "-A-B-" and "." have six licenses, each with its own name; both documents read back by the formats\' tools', async () => {
  const names = ['A B', 'A-B', 'A/B', 'A_B', '-A-B-', '.'];
  const doc = documentOf(names.map((l, i) => record(`p${i}`, [l])));
  const { spdx, cdx } = await readBack(doc, 'four.spdx.json');
  const infos = spdx.hasExtractedLicensingInfos!;
  assert.deepEqual(infos.map((x) => x.name).sort(), [...names].sort());
  assert.equal(new Set(infos.map((x) => x.licenseId)).size, names.length);
  for (const [i, name] of names.entries()) {
    const declared = spdx.packages.find((p) => p.name === `p${i}`)!.licenseDeclared;
    assert.equal(infos.find((x) => x.licenseId === declared)!.name, name);
  }
  const expressions = cdx.components.map((c) => c.licenses![0]!.expression);
  assert.equal(new Set(expressions).size, names.length);
  checkPurlsAndLicenses(cdx.components.map((c) => c.purl), expressions);
});

test('SPDX and CycloneDX: a pair made to share the suffix, across packages, is NOASSERTION with a note for each package using it; other packages keep theirs', async () => {
  const doc = documentOf([record('p1', [PAIR[0]]), record('p2', [PAIR[1], 'MIT']), record('p3', ['MIT', 'A B'])]);
  const note = `the license names "A/#/B" and "A~?;B" make one identifier, LicenseRef-A-B-${hex8(PAIR[0])} in this document; not machine-readable for this SBOM (NOASSERTION)`;
  const { spdx, cdx } = await readBack(doc, 'pair.spdx.json');
  for (const n of ['p1', 'p2']) {
    const p = spdx.packages.find((x) => x.name === n)!;
    assert.equal(p.licenseDeclared, 'NOASSERTION');
    assert.equal(p.licenseComments, note);
  }
  assert.equal(spdx.packages.find((x) => x.name === 'p3')!.licenseDeclared, `LicenseRef-A-B-${hex8('A B')} AND MIT`);
  assert.deepEqual(spdx.hasExtractedLicensingInfos!.map((x) => [x.licenseId, x.name]), [[`LicenseRef-A-B-${hex8('A B')}`, 'A B']]);
  for (const n of ['p1', 'p2']) {
    const c = cdx.components.find((x) => x.name === n)!;
    assert.equal(c.licenses, undefined);
    assert.deepEqual(c.properties, [{ name: 'repro-image:license-note', value: note }]);
  }
});

test('a pair made to share the suffix in one %LICENSE% entry or one License line is NOASSERTION with a note (was: one of the two names dropped)', () => {
  const [a, b] = ['x*#%#&y', 'x!_!&#!y'];
  assert.equal(licenseRef(a), licenseRef(b));
  const note = (where: string, sep = ''): string => `${where}${sep}: the license names ${JSON.stringify(a < b ? a : b)} and ${JSON.stringify(a < b ? b : a)} make one identifier, ${licenseRef(a)}; not machine-readable for this SBOM (NOASSERTION)`;
  const pac = archRecords(new Map([['var/lib/pacman/local/p-1-1/desc', Buffer.from(`%NAME%\np\n\n%VERSION%\n1-1\n\n%LICENSE%\n${a} OR ${b}\n\n`)]]))[0]!;
  assert.equal(pac.license, undefined);
  assert.equal(pac.licenseNote, note('var/lib/pacman/local/p-1-1/desc'));
  for (const op of ['or', 'and']) {
    const deb = copyrightLicenses(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${a} ${op} ${b}\n`, 'c')!;
    assert.equal(deb.expression, undefined, op);
    assert.equal(deb.note, note('c'), op);
  }
});

/** SPDX matches identifiers without regard to case (SPDX 2.3 Annex D.2): no two of `ids` may be one to a consumer that does so. */
function assertDistinctToSpdx(ids: readonly string[]): void {
  assert.equal(new Set(ids.map((id) => id.toLowerCase())).size, ids.length, ids.join('\n'));
}

test('two names whose identifiers differ only in case, in one %LICENSE% entry, one License line or two of them, are NOASSERTION with a note (was: LicenseRef-Foo and LicenseRef-foo, one license to SPDX)', () => {
  const note = (where: string, a: string, b: string): string => `${where}: the license names ${JSON.stringify(a)} and ${JSON.stringify(b)} make one identifier, LicenseRef-${a} and LicenseRef-${b}, which differ only in letter case; not machine-readable for this SBOM (NOASSERTION)`;
  for (const licenses of [['Foo-Special OR foo-special'], ['Foo-Special', 'MIT', 'foo-special'], ['foo-special', 'LicenseRef-Foo-Special']]) {
    const pac = archRecords(new Map([['var/lib/pacman/local/p-1-1/desc', Buffer.from(`%NAME%\np\n\n%VERSION%\n1-1\n\n%LICENSE%\n${licenses.join('\n')}\n\n`)]]))[0]!;
    assert.equal(pac.license, undefined, licenses.join());
    assert.equal(pac.licenseRefs, undefined, licenses.join());
    assert.equal(pac.licenseNote, note('var/lib/pacman/local/p-1-1/desc', 'Foo-Special', 'foo-special'), licenses.join());
  }
  const copyright = (lines: string[]): string => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n${lines.map((l, i) => `\nFiles: f${i}\nLicense: ${l}\n`).join('')}`;
  for (const lines of [['Foo-Special or FOO-SPECIAL'], ['Foo-Special and BSD-3-clause', 'GPL-2+ or FOO-SPECIAL']]) {
    const deb = copyrightLicenses(copyright(lines), 'c')!;
    assert.equal(deb.expression, undefined, lines.join());
    assert.deepEqual(deb.refs, [], lines.join());
    assert.equal(deb.note, note('c', 'FOO-SPECIAL', 'Foo-Special'), lines.join());
  }
  // One name written twice, or as the reference it is in any case (`licenseref-`), is one license.
  const same = archRecords(new Map([['var/lib/pacman/local/p-1-1/desc', Buffer.from('%NAME%\np\n\n%VERSION%\n1-1\n\n%LICENSE%\nFoo-Special\nlicenseref-Foo-Special OR MIT\n\n')]]))[0]!;
  assert.equal(same.license, '(LicenseRef-Foo-Special OR MIT) AND LicenseRef-Foo-Special');
  assert.deepEqual(same.licenseRefs, [{ id: 'LicenseRef-Foo-Special', name: 'Foo-Special' }]);
});

test('SPDX and CycloneDX: packages whose license names make identifiers differing only in case are NOASSERTION with a note; no two LicenseRefs of the document are one to SPDX; others keep theirs', async () => {
  // p1 and p2 differ in case; p3 uses p1's name (the same identifier, so the same pair); p4 and p5 are apart.
  const doc = documentOf([record('p1', ['Foo-Special']), record('p2', ['foo-special', 'MIT']), record('p3', ['Foo-Special', 'Bar Baz']), record('p4', ['Bar Baz']), record('p5', ['bar baz'])]);
  const note = 'the license names "Foo-Special" and "foo-special" make one identifier, LicenseRef-Foo-Special and LicenseRef-foo-special, which differ only in letter case in this document; not machine-readable for this SBOM (NOASSERTION)';
  const { spdx, cdx } = await readBack(doc, 'case.spdx.json');
  for (const n of ['p1', 'p2', 'p3']) {
    const p = spdx.packages.find((x) => x.name === n)!;
    assert.equal(p.licenseDeclared, 'NOASSERTION', n);
    assert.equal(p.licenseComments, note, n);
  }
  // `Bar Baz` and `bar baz` are not idstrings: each has its own suffix, so they are two licenses whatever the case.
  assert.equal(spdx.packages.find((x) => x.name === 'p4')!.licenseDeclared, `LicenseRef-Bar-Baz-${hex8('Bar Baz')}`);
  assert.equal(spdx.packages.find((x) => x.name === 'p5')!.licenseDeclared, `LicenseRef-bar-baz-${hex8('bar baz')}`);
  const infos = spdx.hasExtractedLicensingInfos!;
  assert.deepEqual(infos.map((x) => [x.licenseId, x.name]), [[`LicenseRef-Bar-Baz-${hex8('Bar Baz')}`, 'Bar Baz'], [`LicenseRef-bar-baz-${hex8('bar baz')}`, 'bar baz']]);
  assertDistinctToSpdx(infos.map((x) => x.licenseId));
  for (const n of ['p1', 'p2', 'p3']) {
    const c = cdx.components.find((x) => x.name === n)!;
    assert.equal(c.licenses, undefined, n);
    assert.deepEqual(c.properties, [{ name: 'repro-image:license-note', value: note }], n);
  }
  const refsOf = (c: Cdx['components'][number]): string[] => (c.licenses ?? []).flatMap((l) => l.expression.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []);
  assertDistinctToSpdx([...new Set(cdx.components.flatMap(refsOf))]);
});

test('CycloneDX carries the name of every LicenseRef of a component (property repro-image:license-ref, ID=NAME), as SPDX\'s extracted licensing infos do (was: the identifier only, the name lost)', async () => {
  const doc = documentOf([
    record('p1', ['A B OR Foo-Special', 'MIT']),
    record('p2', ['custom:x=y OR GPL-2.0-only', 'Foo-Special']),
    record('p3', ['MIT']),
    record('p4', ['LicenseRef-Foo-Special']),
  ]);
  const { spdx, cdx, text } = await readBack(doc, 'named.spdx.json');
  const spdxName = new Map(spdx.hasExtractedLicensingInfos!.map((x) => [x.licenseId, x.name]));
  const named = (c: Cdx['components'][number]): Array<[string, string]> => (c.properties ?? []).filter((x) => x.name === 'repro-image:license-ref').map((x) => {
    const eq = x.value.indexOf('=');
    return [x.value.slice(0, eq), x.value.slice(eq + 1)];
  });
  const byName = (n: string): Cdx['components'][number] => cdx.components.find((c) => c.name === n)!;
  assert.deepEqual(named(byName('p1')), [[`LicenseRef-A-B-${hex8('A B')}`, 'A B'], ['LicenseRef-Foo-Special', 'Foo-Special']]);
  assert.deepEqual(named(byName('p2')), [['LicenseRef-Foo-Special', 'Foo-Special'], [`LicenseRef-custom-x-y-${hex8('custom:x=y')}`, 'custom:x=y']]);
  assert.deepEqual(named(byName('p3')), []);
  assert.deepEqual(named(byName('p4')), [['LicenseRef-Foo-Special', 'Foo-Special']]);
  for (const c of cdx.components) {
    // Every reference of the expression is named, once, and by the name SPDX gives it.
    const used = [...new Set((c.licenses ?? []).flatMap((l) => l.expression.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []))].sort();
    assert.deepEqual(named(c).map(([id]) => id), used, c.name);
    for (const [id, name] of named(c)) assert.equal(name, spdxName.get(id), id);
  }
  // The same document, the same bytes.
  assert.equal(encodeCycloneDx(doc).toString(), text);
});

/**
 * The whole SPDX License List (spdx-license-ids, spdx-exceptions), matched without regard to case
 * (SPDX 2.3 Annex D.2) and written as the list spells it. Was: a hand-picked subset of 85 licenses
 * and 9 exceptions, matched case-sensitively, so `mit` and any real identifier outside the subset
 * became a `LicenseRef-` — another license to an SBOM's reader.
 */
test('license identifiers of the SPDX License List in any letter case are the list\'s identifiers, as the list spells them (was: LicenseRef-mit)', () => {
  for (const [written, id] of [['mit', 'MIT'], ['Mit', 'MIT'], ['mIt', 'MIT'], ['Gpl-2.0-or-later', 'GPL-2.0-or-later'], ['gpl-2.0-or-later', 'GPL-2.0-or-later'],
    ['ZLIB', 'Zlib'], ['apache-2.0', 'Apache-2.0'], ['LIBPNG', 'Libpng'], ['bsd-3-clause', 'BSD-3-Clause']] as const) {
    assert.deepEqual(licenseTerm(written), { expression: id }, written);
  }
});

test('identifiers outside the old subset are recognised: licenses, deprecated ones, exceptions after WITH (was: LicenseRef-BSD-3-Clause-Clear, …)', () => {
  for (const id of ['BSD-3-Clause-Clear', 'MPL-2.0-no-copyleft-exception', 'OFL-1.1-RFN', 'AGPL-1.0-only', 'Unicode-3.0', 'MIT-Modern-Variant']) {
    assert.deepEqual(licenseTerm(id), { expression: id }, id);
  }
  // Deprecated identifiers are valid SPDX identifiers (validators accept them): kept as the list spells them.
  for (const [written, id] of [['GPL-2.0', 'GPL-2.0'], ['lgpl-2.1', 'LGPL-2.1'], ['GPL-2.0-with-classpath-exception', 'GPL-2.0-with-classpath-exception'],
    ['gpl-2.0-with-gcc-exception', 'GPL-2.0-with-GCC-exception'], ['wxwindows', 'wxWindows']] as const) {
    assert.deepEqual(licenseTerm(written), { expression: id }, written);
  }
  // The list's `GPL-2.0+` forms: a listed identifier and SPDX's `+` operator ("or any later version").
  for (const [written, id] of [['GPL-2.0+', 'GPL-2.0+'], ['LGPL-2.1+', 'LGPL-2.1+'], ['lgpl-2.1+', 'LGPL-2.1+'], ['MPL-1.1+', 'MPL-1.1+']] as const) {
    assert.deepEqual(licenseTerm(written), { expression: id }, written);
  }
  // `ID WITH EXCEPTION`, each from the list, in any case: the list's spelling; the operator stays WITH.
  for (const [written, expr] of [
    ['Apache-2.0 WITH LLVM-exception', 'Apache-2.0 WITH LLVM-exception'],
    ['apache-2.0 WITH llvm-exception', 'Apache-2.0 WITH LLVM-exception'],
    ['GPL-2.0-or-later WITH classpath-exception-2.0', 'GPL-2.0-or-later WITH Classpath-exception-2.0'],
    ['LGPL-2.1-only WITH Qt-LGPL-exception-1.1', 'LGPL-2.1-only WITH Qt-LGPL-exception-1.1'],
    ['GPL-3.0-or-later WITH GCC-exception-3.1', 'GPL-3.0-or-later WITH GCC-exception-3.1'],
    ['GPL-2.0+ WITH Font-exception-2.0', 'GPL-2.0+ WITH Font-exception-2.0'],
    ['LGPL-2.1-only WITH Nokia-Qt-exception-1.1', 'LGPL-2.1-only WITH Nokia-Qt-exception-1.1'],
  ] as const) {
    assert.deepEqual(licenseTerm(written), { expression: expr }, written);
  }
  // spdx-expression-parse 5.0.0 reads the same lists, but of the exceptions only the current ones (not Nokia-Qt-exception-1.1).
  checkPurlsAndLicenses([], ['BSD-3-Clause-Clear', 'GPL-2.0', 'GPL-2.0+', 'GPL-2.0-with-classpath-exception', 'GPL-2.0-or-later WITH Classpath-exception-2.0']);
});

test('what is no SPDX license term stays a LicenseRef exactly as before: other names, an exception alone, a license after WITH, a lower-case operator', () => {
  const ref = (name: string, id: string): void => assert.deepEqual(licenseTerm(name), { expression: id, ref: { id, name } }, name);
  ref('Foo-Special', 'LicenseRef-Foo-Special');
  ref('GPL2', 'LicenseRef-GPL2');
  ref('custom:hello-exception', `LicenseRef-custom-hello-exception-${hex8('custom:hello-exception')}`);
  ref('Classpath-exception-2.0', 'LicenseRef-Classpath-exception-2.0');
  ref('classpath-exception-2.0', 'LicenseRef-classpath-exception-2.0');
  ref('MIT WITH Apache-2.0', `LicenseRef-MIT-WITH-Apache-2.0-${hex8('MIT WITH Apache-2.0')}`);
  ref('Apache-2.0 WITH Foo-exception', `LicenseRef-Apache-2.0-WITH-Foo-exception-${hex8('Apache-2.0 WITH Foo-exception')}`);
  ref('Apache-2.0 with LLVM-exception', `LicenseRef-Apache-2.0-with-LLVM-exception-${hex8('Apache-2.0 with LLVM-exception')}`);
  ref('MIT++', `LicenseRef-MIT-${hex8('MIT++')}`);
  // A reference written as one names a license, even one whose name is on the list.
  assert.deepEqual(licenseTerm('LicenseRef-MIT'), { expression: 'LicenseRef-MIT', ref: { id: 'LicenseRef-MIT', name: 'MIT' } });
});

test('Debian copyright: short names and SPDX identifiers in any letter case (copyright-format 1.0: "License names are case-insensitive")', () => {
  const doc = (line: string): string => `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${line}\n`;
  const expr = (line: string): string | undefined => copyrightLicenses(doc(line), 'c')?.expression;
  assert.equal(expr('expat or EXPAT'), 'MIT');
  assert.equal(expr('gpl-2+ or bsd-3-CLAUSE'), 'BSD-3-Clause OR GPL-2.0-or-later');
  assert.equal(expr('Public-Domain and public-domain'), 'LicenseRef-public-domain');
  assert.equal(expr('mit and zlib and Apache-2.0 and mpl-2.0'), 'Apache-2.0 AND MIT AND MPL-2.0 AND Zlib');
  assert.equal(expr('BSD-3-Clause-Clear or OFL-1.1-RFN'), 'BSD-3-Clause-Clear OR OFL-1.1-RFN');
  // Debian's own short names keep their SPDX counterparts.
  assert.equal(expr('GPL-2+ or Expat, and LGPL-2.1+ and Artistic and Perl and CC0 and Apache-2'), '(GPL-2.0-or-later OR MIT) AND Apache-2.0 AND Artistic-1.0 AND Artistic-1.0-Perl AND CC0-1.0 AND LGPL-2.1-or-later');
  assert.deepEqual(copyrightLicenses(doc('Expat and Foo-Special'), 'c'), { expression: 'LicenseRef-Foo-Special AND MIT', refs: [{ id: 'LicenseRef-Foo-Special', name: 'Foo-Special' }] });
});

/**
 * Read back by pyspdxtools 0.8.5, whose license-expression 30.1.0 knows an older License List than
 * spdx-license-ids 3.0.24: not the newest identifiers (`Unicode-3.0`) nor the deprecated
 * `GPL-2.0-with-…-exception` ones, which it calls unrecognised. Those are left out here (docs/sbom.md).
 */
test('SPDX and CycloneDX: identifiers from the whole list, deprecated ones, `+` and WITH, written in any case, read back by the formats\' tools', async () => {
  const doc = documentOf([
    record('p1', ['mit', 'Gpl-2.0-or-later OR BSD-3-Clause-Clear']),
    record('p2', ['GPL-2.0', 'LGPL-2.1+', 'lgpl-2.1']),
    record('p3', ['apache-2.0 WITH llvm-exception', 'OFL-1.1-RFN', 'Foo-Special']),
    record('p4', ['MPL-2.0-no-copyleft-exception OR LGPL-2.1-only WITH Qt-LGPL-exception-1.1']),
  ]);
  const { spdx, cdx } = await readBack(doc, 'list.spdx.json');
  const declared = (n: string): string => spdx.packages.find((p) => p.name === n)!.licenseDeclared;
  // An entry's operands in the order the package gives them (they were sorted); the entries sorted, as before.
  assert.equal(declared('p1'), '(GPL-2.0-or-later OR BSD-3-Clause-Clear) AND MIT');
  assert.equal(declared('p2'), 'GPL-2.0 AND LGPL-2.1 AND LGPL-2.1+');
  assert.equal(declared('p3'), 'Apache-2.0 WITH LLVM-exception AND LicenseRef-Foo-Special AND OFL-1.1-RFN');
  assert.equal(declared('p4'), 'MPL-2.0-no-copyleft-exception OR LGPL-2.1-only WITH Qt-LGPL-exception-1.1');
  assert.deepEqual(spdx.hasExtractedLicensingInfos!.map((x) => [x.licenseId, x.name]), [['LicenseRef-Foo-Special', 'Foo-Special']]);
  const expressions = cdx.components.map((c) => c.licenses![0]!.expression);
  assert.deepEqual(expressions, ['p1', 'p2', 'p3', 'p4'].map(declared));
  checkPurlsAndLicenses(cdx.components.map((c) => c.purl), expressions);
});
