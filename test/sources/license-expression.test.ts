/**
 * pacman's %LICENSE% entries are SPDX license expressions (Arch RFC 0016): compound ones are read
 * by the SPDX 2.3 Annex D grammar (WITH binds tightest, then AND, then OR; parentheses), each
 * simple term recognised or made a `LicenseRef-`, and written again with the fewest parentheses,
 * the operands in the order the package gives them. Was: split on ` OR ` only, so `MIT AND
 * Apache-2.0`, anything parenthesised and `A OR B AND C` became one `LicenseRef-` of the whole
 * entry, or alternatives with a stray parenthesis in them. An entry that is no expression stays
 * what it was. Debian: copyright-format 1.0's precedence (`and` before `or` unless after a comma)
 * and `Apache-2.0+` (was `Apache-2.0`, "or any later version" lost).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { archRecords } from '../../src/sources/arch/records.js';
import { copyrightLicenses } from '../../src/sources/debian/copyright.js';
import type { PackageRecord } from '../../src/sources/distribution.js';
import { MAX_LICENSE_LINE } from '../../src/sources/licenses.js';
import { checkPurlsAndLicenses } from '../helpers/sbom-check.js';

const hex8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** The record of one package whose %LICENSE% lists `licenses`. */
function record(licenses: string[]): PackageRecord {
  return archRecords(new Map([['var/lib/pacman/local/p-1-1/desc', Buffer.from(`%NAME%\np\n\n%VERSION%\n1-1\n\n%LICENSE%\n${licenses.join('\n')}\n\n`)]]))[0]!;
}
const license = (...entries: string[]): string | undefined => record(entries).license;

test('%LICENSE%: AND, and OR and AND by precedence (AND binds tighter), operands in the order written (was: one LicenseRef of the whole entry)', () => {
  assert.equal(license('MIT AND Apache-2.0'), 'MIT AND Apache-2.0');
  assert.equal(license('Apache-2.0 OR MIT'), 'Apache-2.0 OR MIT');
  assert.equal(license('MIT OR Apache-2.0'), 'MIT OR Apache-2.0');
  assert.equal(license('MIT OR Apache-2.0 AND BSD-3-Clause'), 'MIT OR Apache-2.0 AND BSD-3-Clause');
  assert.equal(license('MIT AND Apache-2.0 OR BSD-3-Clause'), 'MIT AND Apache-2.0 OR BSD-3-Clause');
  assert.equal(license('mit and apache-2.0'), `LicenseRef-mit-and-apache-2.0-${hex8('mit and apache-2.0')}`, 'operators are matched with regard to case (Annex D.2): no expression, one name as before');
  checkPurlsAndLicenses([], ['MIT AND Apache-2.0', 'MIT OR Apache-2.0 AND BSD-3-Clause']);
});

test('%LICENSE%: parentheses, kept where precedence needs them and only there; nesting', () => {
  assert.equal(license('(MIT OR Apache-2.0) AND Unicode-3.0'), '(MIT OR Apache-2.0) AND Unicode-3.0');
  assert.equal(license('Unicode-3.0 AND (MIT OR Apache-2.0)'), 'Unicode-3.0 AND (MIT OR Apache-2.0)');
  assert.equal(license('(MIT OR Apache-2.0)'), 'MIT OR Apache-2.0');
  assert.equal(license('((MIT))'), 'MIT');
  assert.equal(license('MIT OR (Apache-2.0 AND BSD-3-Clause)'), 'MIT OR Apache-2.0 AND BSD-3-Clause');
  assert.equal(license('(MIT AND Apache-2.0) AND Zlib'), 'MIT AND Apache-2.0 AND Zlib');
  assert.equal(license('MIT AND (Zlib OR (Apache-2.0 AND (BSD-2-Clause OR ISC)))'), 'MIT AND (Zlib OR Apache-2.0 AND (BSD-2-Clause OR ISC))');
  // Parentheses need no white space around them (Annex D: only the operators are separated by it).
  assert.equal(license('(MIT OR Apache-2.0)AND(Zlib OR ISC)'), '(MIT OR Apache-2.0) AND (Zlib OR ISC)');
  assert.equal(license('( MIT  OR\tApache-2.0 )'), 'MIT OR Apache-2.0');
  checkPurlsAndLicenses([], ['(MIT OR Apache-2.0) AND Unicode-3.0', 'MIT AND (Zlib OR Apache-2.0 AND (BSD-2-Clause OR ISC))']);
});

test('%LICENSE%: WITH and + inside compound expressions, identifiers in the list\'s spelling', () => {
  assert.equal(license('GPL-3.0-or-later WITH GCC-exception-3.1 AND LGPL-2.1-or-later'), 'GPL-3.0-or-later WITH GCC-exception-3.1 AND LGPL-2.1-or-later');
  assert.equal(license('(apache-2.0 WITH llvm-exception OR mit) AND ncsa'), '(Apache-2.0 WITH LLVM-exception OR MIT) AND NCSA');
  assert.equal(license('GPL-2.0+ AND LGPL-2.1+'), 'GPL-2.0+ AND LGPL-2.1+');
  assert.equal(license('MIT OR GPL-2.0+ WITH Font-exception-2.0'), 'MIT OR GPL-2.0+ WITH Font-exception-2.0');
  // A WITH that is no listed license and listed exception is one name, as it was alone.
  assert.equal(license('MIT WITH Foo-exception AND Zlib'), `LicenseRef-MIT-WITH-Foo-exception-${hex8('MIT WITH Foo-exception')} AND Zlib`);
  checkPurlsAndLicenses([], ['GPL-3.0-or-later WITH GCC-exception-3.1 AND LGPL-2.1-or-later', '(Apache-2.0 WITH LLVM-exception OR MIT) AND NCSA', 'GPL-2.0+ AND LGPL-2.1+']);
});

test('%LICENSE%: LicenseRef terms and names inside compound expressions, each a reference with its name', () => {
  const r = record(['(MIT OR LicenseRef-custom) AND custom:foo']);
  assert.equal(r.license, `(MIT OR LicenseRef-custom) AND LicenseRef-custom-foo-${hex8('custom:foo')}`);
  assert.deepEqual(r.licenseRefs, [{ id: 'LicenseRef-custom', name: 'custom' }, { id: `LicenseRef-custom-foo-${hex8('custom:foo')}`, name: 'custom:foo' }]);
  // Two names of identifiers that differ only in case, in one compound entry: NOASSERTION with the note, as for OR.
  const clash = record(['Foo-Special AND (MIT OR foo-special)']);
  assert.equal(clash.license, undefined);
  assert.match(clash.licenseNote!, /"Foo-Special" and "foo-special" make one identifier/);
});

test('%LICENSE%: several entries all apply (AND, sorted, as before); a compound OR entry is parenthesised among them', () => {
  assert.equal(license('MIT OR Apache-2.0', 'Unicode-3.0 AND Zlib'), '(MIT OR Apache-2.0) AND Unicode-3.0 AND Zlib');
  assert.equal(license('GPL-2.0-only', 'MIT AND Apache-2.0 OR ISC'), '(MIT AND Apache-2.0 OR ISC) AND GPL-2.0-only');
});

test('%LICENSE%: an entry that is no expression is what it was before, byte for byte: old-style names, unbalanced parentheses, an operator without an operand, names with spaces', () => {
  assert.deepEqual([license('GPL'), license('custom:foo'), license('custom')], ['LicenseRef-GPL', `LicenseRef-custom-foo-${hex8('custom:foo')}`, 'LicenseRef-custom']);
  const ref = (name: string): string => `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed'}-${hex8(name)}`;
  for (const entry of ['Bar Baz', 'MIT AND', 'AND MIT', 'MIT AND AND Zlib', 'MIT WITH', 'MIT + AND Zlib', 'WITH LLVM-exception', 'MIT ( AND Zlib']) {
    assert.equal(license(entry), ref(entry), entry);
  }
  // As before: a parenthesis at either end of the entry dropped.
  for (const [entry, name] of [['(MIT AND Zlib', 'MIT AND Zlib'], ['MIT AND Zlib)', 'MIT AND Zlib'], ['()', ''], ['MIT ()', 'MIT ('], ['MIT (Zlib)', 'MIT (Zlib']] as const) {
    assert.equal(license(entry), ref(name), entry);
  }
  // As before: split on OR, a parenthesis at either end of an alternative dropped, alternatives sorted.
  assert.equal(license('Bar Baz OR MIT'), `LicenseRef-Bar-Baz-${hex8('Bar Baz')} OR MIT`);
  assert.equal(license('(MIT OR Bar Baz'), `LicenseRef-Bar-Baz-${hex8('Bar Baz')} OR MIT`);
});

test('%LICENSE%: an entry of MAX_LICENSE_LINE characters of nested parentheses neither overflows the stack nor takes long', () => {
  const depth = (MAX_LICENSE_LINE - 3) >> 1;
  const deep = `${'('.repeat(depth)}MIT${')'.repeat(depth)}`;
  assert.ok(deep.length <= MAX_LICENSE_LINE);
  let t = process.hrtime.bigint();
  assert.equal(license(deep), 'MIT');
  // Alternating operators, each level needing its parentheses: the deepest tree that fits.
  let alt = 'MIT';
  let want = 'MIT';
  for (let i = 0; `Zlib OR (ISC AND (${alt}))`.length <= MAX_LICENSE_LINE; i++) {
    alt = `Zlib OR (ISC AND (${alt}))`;
    want = want === 'MIT' ? 'Zlib OR ISC AND MIT' : `Zlib OR ISC AND (${want})`;
  }
  assert.ok(alt.length > MAX_LICENSE_LINE - 20 && want.split('(').length > 200);
  assert.equal(license(alt), want);
  // Unbalanced at the deepest point: no expression, one name.
  assert.match(license(deep.slice(0, -1))!, /^LicenseRef-MIT-[0-9a-f]{8}$/);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  assert.ok(ms < 500, `${ms} ms`);
  // Linear: a thousand such entries (each its own) in well under a second.
  t = process.hrtime.bigint();
  record(Array.from({ length: 200 }, (_, i) => `${'('.repeat(depth - 4)}MIT OR X${i}${')'.repeat(depth - 4)}`));
  const ms2 = Number(process.hrtime.bigint() - t) / 1e6;
  assert.ok(ms2 < 2000, `${ms2} ms`);
});

/** Debian copyright-format 1.0, "Syntax": `and` has the priority over `or`, unless preceded by a comma. */
test('Debian copyright: `A or B and C` is A OR (B AND C), `A and B, or C` is (A AND B) OR C (was: (A OR B) AND C, A AND (B OR C)); `Apache-2.0+` keeps its +', () => {
  const expr = (line: string): string | undefined => copyrightLicenses(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ${line}\n`, 'c')?.expression;
  assert.equal(expr('GPL-2+ or Artistic and BSD-3-clause'), 'Artistic-1.0 AND BSD-3-Clause OR GPL-2.0-or-later');
  assert.equal(expr('GPL-2+ or Artistic, and BSD-3-clause'), '(Artistic-1.0 OR GPL-2.0-or-later) AND BSD-3-Clause');
  assert.equal(expr('GPL-2+ and Artistic, or BSD-3-clause'), 'Artistic-1.0 AND GPL-2.0-or-later OR BSD-3-Clause');
  assert.equal(expr('MIT and Zlib or ISC and Apache-2'), 'Apache-2.0 AND ISC OR MIT AND Zlib');
  assert.equal(expr('Apache-2.0+'), 'Apache-2.0+');
  assert.equal(expr('apache-2.0+ or MIT'), 'Apache-2.0+ OR MIT');
  checkPurlsAndLicenses([], ['Artistic-1.0 AND BSD-3-Clause OR GPL-2.0-or-later', 'Artistic-1.0 AND GPL-2.0-or-later OR BSD-3-Clause', 'Apache-2.0+ OR MIT']);
});

test('a name that only lower-cases to a listed identifier (KELVIN SIGN U+212A lower-cases to ASCII k) is no identifier: a reference, in %LICENSE% and in Debian (was: `No\\u212Aia` → `Nokia`)', () => {
  const ref = (name: string): string => `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '')}-${hex8(name)}`;
  for (const name of ['No\u212Aia', 'MA\u212AEINDEX', '\u212Aazlib']) {
    assert.equal(license(name), ref(name), name);
    assert.equal(record([name]).licenseRefs?.[0]?.name, name);
  }
  assert.equal(license('MIT WITH \u212AiCad-libraries-exception'), ref('MIT WITH \u212AiCad-libraries-exception'));
  const deb = copyrightLicenses('Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: No\u212Aia\n', 'c');
  assert.equal(deb?.expression, ref('No\u212Aia'));
  // The ASCII spellings, in any case, are still the list's.
  assert.equal(license('nokia AND MAKEINDEX'), 'Nokia AND MakeIndex');
});
