/**
 * SPDX license expressions from what distributions record. Identifiers of the SPDX License List
 * (`spdx-list.ts`: every license and exception, deprecated ones too) are recognised in any letter
 * case and written as the list spells them; any other name becomes a `LicenseRef-` identifier
 * (the name kept beside it), one per name, so that the expression is valid whatever the
 * distribution wrote and two names never share one. Pure.
 */
import { createHash } from 'node:crypto';
import { IDSTRING, listedException, listedLicense } from './spdx-list.js';

/**
 * Past these a package's license records are not machine-readable for our purposes and the
 * package gets NOASSERTION, with the reason (`LicenseRecords.note`): no real package declares a
 * thousand distinct licenses, nor writes a license line of 4,096 characters (Debian's longest
 * are about a hundred), and a hostile record of a million terms cost gigabytes (each term a
 * string, a reference and a place in the expression).
 */
export const MAX_LICENSES = 1000;
export const MAX_LICENSE_LINE = 4096;

/** Whether `id` is a license identifier of the SPDX License List, in any letter case. */
export function isKnownLicense(id: string): boolean {
  return listedLicense(id) !== undefined;
}

/**
 * A license identifier of the list, alone or followed by SPDX's `+` ("this version or any later
 * one", SPDX 2.3 Annex D: `simple-expression = license-id / license-id "+"`), in the list's
 * spelling: `mit` → `MIT`, `gpl-2.0+` → `GPL-2.0+`. Undefined for anything else.
 */
function listed(name: string): string | undefined {
  const plus = name.endsWith('+') ? '+' : '';
  const id = listedLicense(plus === '' ? name : name.slice(0, -1));
  return id === undefined ? undefined : `${id}${plus}`;
}

/** How the identifiers of changed names end (`-` and 8 hex digits): a name that ends so is changed too. */
const SUFFIXED = /-[0-9a-f]{8}$/i;

/**
 * Names given a suffix, remembered (bounded, as copyright.ts's lines): a hostile copyright file
 * repeats a long line of such names, and each is hashed once, not once per time it is read.
 */
const suffixed = new Map<string, string>();
const NAMES_KEPT = 10_000;
const NAME_KEPT_LENGTH = 256;

/**
 * The `LicenseRef-` identifier of a name that is not on the list, one per name. A name that is an
 * idstring is kept as it is (`Foo-Special` → `LicenseRef-Foo-Special`). Any other name gets its
 * idstring characters (each run of others a `-`, none at either end) followed by `-` and the first
 * 8 hex digits of the SHA-256 of the name (UTF-8): `A B` → `LicenseRef-A-B-…`, `A_B` →
 * `LicenseRef-A-B-…` with other digits, while `A-B` stays `LicenseRef-A-B`. An idstring that ends
 * like such a suffix (`Foo-20240101`) gets one too, so no name kept as it is can be another's
 * changed one. The identifier depends on the name alone, never on what else the document holds.
 * Two names share one only when their idstring characters are the same and 32 bits of SHA-256
 * agree, which takes a search made on purpose (about 2^16 names); the collector and the SBOM give
 * the packages that use such a pair NOASSERTION with a note (`separateLicenseRefs`). So do they for
 * two names whose identifiers differ only in case (`Foo`, `foo`): SPDX matches identifiers without
 * regard to case (`refKey`), so a consumer would read the two as one license.
 */
export function licenseRef(name: string): string {
  if (IDSTRING.test(name) && !SUFFIXED.test(name)) return `LicenseRef-${name}`;
  const hit = suffixed.get(name);
  if (hit !== undefined) return hit;
  const base = name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';
  const id = `LicenseRef-${base}-${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  if (name.length <= NAME_KEPT_LENGTH && suffixed.size < NAMES_KEPT) suffixed.set(name, id);
  return id;
}

/** One license term (an identifier, perhaps `ID WITH EXCEPTION`) or, failing that, a reference. */
export interface LicenseTerm {
  expression: string;
  ref?: { id: string; name: string };
}

/** An identifier as written, recognised, or made a reference. */
export function licenseTerm(name: string): LicenseTerm {
  const n = name.trim();
  // `ID WITH EXCEPTION` only as SPDX has it: a listed license, the operator in capitals (SPDX 2.3
  // Annex D.2 matches operators with regard to case), a listed exception. An exception alone, or
  // a license after WITH, is no valid expression: such a term is a name like any other (below).
  const w = /^(\S+)\s+WITH\s+(\S+)$/.exec(n);
  if (w) {
    const id = listed(w[1]!);
    const exception = listedException(w[2]!);
    if (id !== undefined && exception !== undefined) return { expression: `${id} WITH ${exception}` };
  }
  const alone = listed(n);
  if (alone !== undefined) return { expression: alone };
  // A reference written as one (`LicenseRef-Foo`, in any case as SPDX matches it: `licenseref-Foo`)
  // is the license named Foo: the same identifier.
  const named = /^LicenseRef-/i.test(n) && IDSTRING.test(n) ? n.slice('LicenseRef-'.length) : n;
  const id = licenseRef(named);
  return { expression: id, ref: { id, name: named } };
}

/**
 * One license item of a package: an expression as the records give it (already written, its terms
 * recognised or made references), whether its outermost operator is OR (so that it is
 * parenthesised among the items, which are AND-ed), and its terms (counted against `MAX_LICENSES`).
 */
export interface LicenseItem {
  expression: string;
  or: boolean;
  terms: readonly string[];
}

/** A single term as an item. */
export function termItem(expression: string): LicenseItem {
  return { expression, or: false, terms: [expression] };
}

/** Alternatives (OR) as one item, each once and sorted, as Debian's `or` and pacman's entries that are no expression are read. */
export function alternativesItem(alts: readonly string[]): LicenseItem {
  const uniq = [...new Set(alts)].sort();
  return { expression: uniq.join(' OR '), or: uniq.length > 1, terms: uniq };
}

/**
 * Joins items with AND: each distinct item once, sorted (as written, an OR item in parentheses),
 * so the same records give the same expression whatever order they come in. An item keeps the
 * order of its operands.
 */
export function licenseExpression(items: readonly LicenseItem[]): string | undefined {
  const all = [...new Map(items.map((i) => [i.expression, i])).values()];
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0]!.expression;
  return all.map((i) => (i.or ? `(${i.expression})` : i.expression)).sort().join(' AND ');
}

/**
 * How SPDX matches a license identifier: without regard to case (SPDX 2.3 Annex D.2: `MIT`, `Mit`
 * and `mIt` are one identifier), so `LicenseRef-Foo` and `LicenseRef-foo` are one reference to a
 * consumer that does so. Identifiers are idstrings (ASCII): no locale is involved.
 */
export function refKey(id: string): string {
  return id.toLowerCase();
}

/** Why two license names get no expression: they make one identifier (`licenseRef`), or two SPDX matches as one (`refKey`). */
export function collision(a: { id: string; name: string }, b: { id: string; name: string }): string {
  const shown = (n: string): string => JSON.stringify(n.length > 80 ? `${n.slice(0, 80)}…` : n);
  const [x, y] = a.name < b.name ? [a, b] : [b, a];
  const ids = x.id === y.id ? x.id : `${x.id} and ${y.id}, which differ only in letter case`;
  return `the license names ${shown(x.name)} and ${shown(y.name)} make one identifier, ${ids}`;
}

/**
 * The `LicenseRef-`s of a package or a document, one name for each identifier as SPDX matches
 * identifiers (`refKey`): a second name whose identifier is the same, or the same but for case,
 * is a collision, never a second reference that a consumer would read as the first.
 */
export class RefNames {
  private readonly byKey = new Map<string, { id: string; name: string }>();

  /** Adds one reference: why it cannot be (`collision`) when another name has its identifier, else undefined. */
  add(id: string, name: string): string | undefined {
    const key = refKey(id);
    const other = this.byKey.get(key);
    if (other === undefined) this.byKey.set(key, { id, name });
    else if (other.name !== name) return collision({ id, name }, other);
    return undefined;
  }

  /** The references, by identifier. */
  sorted(): Array<{ id: string; name: string }> {
    return [...this.byKey.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

/** What a package's license records gave: an expression and its references, or why none. */
export interface LicenseRecords {
  expression?: string;
  refs: Array<{ id: string; name: string }>;
  /** Why there is no expression though licenses were recorded (past `MAX_LICENSES`, `MAX_LICENSE_LINE`). */
  note?: string;
}

/**
 * A package's licenses gathered item by item (`LicenseItem`s, AND-ed), holding each distinct item
 * and term once: a file that repeats one license a million times costs one item. Past
 * `MAX_LICENSES` distinct terms or items `add` says false and the result is a note.
 */
export class LicenseCollector {
  private readonly items = new Map<string, LicenseItem>();
  private readonly terms = new Set<string>();
  private readonly refs = new RefNames();
  private note: string | undefined;

  constructor(private readonly where: string) {}

  /** One item. False once past the limits. */
  add(item: LicenseItem): boolean {
    if (this.note !== undefined) return false;
    if (this.items.has(item.expression)) return true;
    for (const t of item.terms) this.terms.add(t);
    this.items.set(item.expression, item);
    if (this.terms.size > MAX_LICENSES || this.items.size > MAX_LICENSES) return this.refuse(`more than ${MAX_LICENSES} distinct licenses`);
    return true;
  }

  /** The `LicenseRef-`s the items use (id, name). Two names of one id, or of ids that differ only in case (`RefNames`), are a note. */
  use(refs: Iterable<readonly [string, string]>): void {
    for (const [id, name] of refs) {
      if (this.note !== undefined) return;
      const clash = this.refs.add(id, name);
      if (clash !== undefined) this.refuse(clash);
    }
  }

  /** Gives up with a reason: the result is NOASSERTION with it. Always false. */
  refuse(reason: string): false {
    this.note ??= `${this.where}: ${reason}; not machine-readable for this SBOM (NOASSERTION)`;
    return false;
  }

  result(): LicenseRecords {
    if (this.note !== undefined) return { refs: [], note: this.note };
    const expression = licenseExpression([...this.items.values()]);
    return { ...(expression !== undefined ? { expression } : {}), refs: this.refs.sorted() };
  }
}
