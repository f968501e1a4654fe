/**
 * accountEntries, and planAccounts/settleAccounts with the digests filled in between, give the
 * accounts byte for byte (key order too: the report's --json) as the audit made them before they
 * were split in two: `reference` below is that code (main at 01119a1), kept as the definition.
 * Random trees with what the split has to get right: every entry type, hard links whose digests
 * come late, files hashed before planning (a lower layer's) or after, records of every field
 * (type, digests, size, mode, uid, gid, link target, conffile) matching or not, recorded paths
 * through a symlink or resolving to nothing, several owners (the same package twice too),
 * predictions of every type with and without digests (a step's file over a package's), the
 * machine-id pass, directories whose parent account depends on all of it, entries out of order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePaths, parentOf } from '../../src/archive/entry.js';
import { accountEntries, ownership, PASS_RULES, planAccounts, settleAccounts, type EntryAccount, type Ownership } from '../../src/audit/account.js';
import type { FlatEntry } from '../../src/image/flatten.js';
import type { GeneratedEntry, PackageRecord, RecordedFile } from '../../src/sources/distribution.js';

const oct = (n: number): string => `0${n.toString(8).padStart(3, '0')}`;

function compare(e: FlatEntry, r: RecordedFile): { differences: string[]; checked: boolean } {
  const d: string[] = [];
  let checked = false;
  const type = e.type === 'hardlink' ? 'file' : e.type;
  if (r.type && r.type !== type && !(r.type === 'dir' && type === 'symlink')) d.push(`a ${r.type} recorded, a ${type} in the image`);
  else if (!r.type && type !== 'file' && (r.md5 || r.sha256)) {
    d.push(`a file recorded (${r.sha256 ? `sha256 ${r.sha256}` : `md5 ${r.md5}`}), a ${type} in the image${type === 'symlink' ? ` (to ${JSON.stringify(e.linkname)})` : ''}`);
  }
  if (type === 'file') {
    if (r.sha256 && e.sha256) {
      checked = true;
      if (r.sha256 !== e.sha256) d.push(`sha256 recorded ${r.sha256}, image ${e.sha256}`);
    } else if (r.md5 && e.md5) {
      checked = true;
      if (r.md5 !== e.md5) d.push(`md5 recorded ${r.md5}, image ${e.md5}${e.sha256 ? ` (sha256 ${e.sha256})` : ''}`);
    }
    if (r.size !== undefined && r.size !== e.size && d.length === 0) d.push(`size recorded ${r.size}, image ${e.size}`);
  }
  if (type === 'symlink' && r.link !== undefined) {
    checked = true;
    if (r.link !== e.linkname) d.push(`link target recorded ${JSON.stringify(r.link)}, image ${JSON.stringify(e.linkname)}`);
  }
  if (r.mode !== undefined && type !== 'symlink' && r.mode !== e.mode) d.push(`mode recorded ${oct(r.mode)}, image ${oct(e.mode)}`);
  if (r.uid !== undefined && r.uid !== e.uid) d.push(`uid recorded ${r.uid}, image ${e.uid}`);
  if (r.gid !== undefined && r.gid !== e.gid) d.push(`gid recorded ${r.gid}, image ${e.gid}`);
  return { differences: d, checked };
}

/** The accounts as main's accountEntries made them (01119a1), in one pass with every digest known. */
function reference(entries: ReadonlyMap<string, FlatEntry>, own: Ownership, generated: ReadonlyMap<string, GeneratedEntry>): EntryAccount[] {
  const out = new Map<string, EntryAccount>();
  const paths = [...entries.keys()];
  if (paths.some((p, i) => i > 0 && comparePaths(paths[i - 1]!, p) >= 0)) paths.sort(comparePaths);
  for (const path of paths) {
    const e = entries.get(path)!;
    const base: EntryAccount = { path, type: e.type, size: e.type === 'file' || e.type === 'hardlink' ? e.size : 0, kind: 'unexplained' };
    const owners = own.owned.get(path);
    const g0 = generated.get(path);
    if (owners && g0?.sha256 !== undefined && e.type === 'file' && (e.sha256 !== undefined ? e.sha256 === g0.sha256 : e.md5 === g0.md5)
      && owners.every((o) => compare(e, o.file).differences.length > 0)) {
      out.set(path, { ...base, kind: 'generated', step: g0.step });
      continue;
    }
    if (owners) {
      const results = owners.map((o) => ({ o, ...compare(e, o.file) }));
      const good = results.find((r) => r.differences.length === 0 && r.checked) ?? results.find((r) => r.differences.length === 0);
      const conffile = owners.some((o) => o.file.conffile === true);
      const a = base;
      a.kind = good ? 'package' : 'modified';
      const o0 = owners[0]!;
      a.owners = owners.length === 1 ? [{ name: o0.pkg.name, version: o0.pkg.version }]
        : [...new Map(owners.map((o) => [o.pkg.name, { name: o.pkg.name, version: o.pkg.version }])).values()].sort((x, y) => (x.name < y.name ? -1 : 1));
      if (conffile) a.conffile = true;
      if (good && !good.checked && (e.type === 'file' || e.type === 'hardlink')) a.unchecked = true;
      if (!good) {
        const first = results[0]!;
        a.differences = first.differences;
        const rec: EntryAccount['recorded'] = {};
        if (first.o.file.md5) rec.md5 = first.o.file.md5;
        if (first.o.file.sha256) rec.sha256 = first.o.file.sha256;
        a.recorded = rec;
        a.actual = { ...(e.md5 ? { md5: e.md5 } : {}), ...(e.sha256 ? { sha256: e.sha256 } : {}) };
      }
      out.set(path, a);
      continue;
    }
    const g = generated.get(path);
    if (g) {
      const type = e.type === 'hardlink' ? 'file' : e.type;
      const differences: string[] = [];
      if (g.type !== type) differences.push(`${g.step} makes a ${g.type}, the image has a ${type}`);
      else if (g.sha256 !== undefined && e.sha256 !== undefined && g.sha256 !== e.sha256) differences.push(`not what ${g.step} makes (sha256 ${g.sha256}, image ${e.sha256})`);
      else if (e.sha256 === undefined && g.md5 !== undefined && g.md5 !== e.md5) differences.push(`not what ${g.step} makes (md5 ${g.md5}, image ${e.md5})`);
      else if (g.link !== undefined && g.link !== e.linkname) differences.push(`${g.step} links it to ${JSON.stringify(g.link)}, the image to ${JSON.stringify(e.linkname)}`);
      out.set(path, differences.length === 0 ? { ...base, kind: 'generated', step: g.step } : { ...base, kind: 'unexplained', step: g.step, differences });
      continue;
    }
    const rule = PASS_RULES.find((r) => r.matches(e));
    out.set(path, rule ? { ...base, kind: 'generated', step: rule.step } : base);
  }
  const below = new Set<string>();
  const unexplainedBelow = new Set<string>();
  for (let i = paths.length - 1; i >= 0; i--) {
    const path = paths[i]!;
    let a = out.get(path)!;
    if (a.kind === 'unexplained' && a.type === 'dir' && a.step === undefined && below.has(path) && !unexplainedBelow.has(path)) {
      a = { ...a, kind: 'generated', step: 'parent directories' };
      out.set(path, a);
    }
    const bad = a.kind === 'unexplained';
    for (let d = parentOf(path); d !== ''; d = parentOf(d)) {
      const told = below.has(d) && (!bad || unexplainedBelow.has(d));
      below.add(d);
      if (bad) unexplainedBelow.add(d);
      if (told) break;
    }
  }
  return paths.map((p) => out.get(p)!);
}

/** A small deterministic generator (mulberry32): the same trees on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const D = ['11', '22', '33'];
type Digests = { md5?: string; sha256?: string };

/** A tree; `late`: the digests hashing fills in after planning. `match`: how often a record or prediction agrees with the image. */
function tree(seed: number, match: number): { entries: FlatEntry[]; late: Map<string, Digests>; packages: PackageRecord[]; generated: Map<string, GeneratedEntry> } {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const entries: FlatEntry[] = [];
  const late = new Map<string, Digests>();
  const dirs = ['a', 'a/b', 'a/b/c', 'c', 'c/d', 'e', 'usr', 'usr/bin', 'etc'].filter(() => r() < 0.8);
  for (const d of dirs) entries.push({ path: d, type: 'dir', mode: r() < 0.1 ? 0o700 : 0o755, uid: r() < 0.05 ? 1 : 0, gid: 0, size: 0, layer: 1 });
  if (r() < 0.3) entries.push({ path: 'bin', type: 'symlink', linkname: 'usr/bin', mode: 0o777, uid: 0, gid: 0, size: 0, layer: 1 });
  if (r() < 0.2) entries.push({ path: 'etc/machine-id', type: 'file', mode: 0o444, uid: 0, gid: 0, size: r() < 0.7 ? 0 : 3, layer: 1 });
  const parents = [...dirs, 'x', 'a/b/c/d'];
  const nf = Math.floor(r() * 20);
  for (let i = 0; i < nf; i++) {
    const path = `${pick(parents)}/f${i}`;
    const t = r();
    const type: FlatEntry['type'] = t < 0.6 ? 'file' : t < 0.72 ? 'hardlink' : t < 0.85 ? 'symlink' : t < 0.92 ? 'dir' : pick(['char', 'fifo', 'block'] as const);
    const content = type === 'file' || type === 'hardlink';
    const e: FlatEntry = { path, type, mode: r() < 0.1 ? 0o755 : type === 'dir' ? 0o755 : 0o644, uid: r() < 0.05 ? 5 : 0, gid: r() < 0.05 ? 5 : 0, size: content ? pick([0, 3, 3, 3, 7]) : 0, layer: 1 };
    if (type === 'hardlink') e.linkname = 'a/f0';
    if (type === 'symlink') e.linkname = pick(['x', '/x', 'f0', '']);
    if (content && r() < 0.9) {
      const dg: Digests = { md5: pick(D) };
      if (r() < 0.3) dg.sha256 = pick(D);
      if (r() < 0.05) { delete dg.md5; dg.sha256 = pick(D); }
      if (type === 'file' && r() < 0.3) Object.assign(e, dg);
      else late.set(path, dg);
    }
    entries.push(e);
  }
  if (r() < 0.5) for (let i = entries.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [entries[i], entries[j]] = [entries[j]!, entries[i]!]; }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const digest = (path: string, k: keyof Digests): string => (r() < match ? (late.get(path)?.[k] ?? byPath.get(path)?.[k] ?? pick(D)) : pick(D));
  const recorded = (path: string): RecordedFile => {
    const f: RecordedFile = { path: pick([`/${path}`, `/${path}`, path, `/bin/${path.split('/').pop()}`, `${path}/`, `/./${path}`]) };
    const x = r();
    if (x < 0.45) f.md5 = digest(path, 'md5');
    else if (x < 0.65) { f.md5 = digest(path, 'md5'); f.sha256 = digest(path, 'sha256'); }
    else if (x < 0.7) f.sha256 = digest(path, 'sha256');
    if (r() < 0.15) f.mode = r() < match ? (byPath.get(path)?.mode ?? 0o644) : pick([0o644, 0o755]);
    if (r() < 0.05) f.uid = 0;
    if (r() < 0.05) f.gid = 5;
    if (r() < 0.1) f.size = pick([0, 3, 7]);
    if (r() < 0.1) f.type = pick(['file', 'dir', 'symlink'] as const);
    if (r() < 0.08) f.link = pick(['x', '/x', 'f0']);
    if (r() < 0.1) f.conffile = true;
    return f;
  };
  const files: Record<string, RecordedFile[]> = { p: [], q: [], r: [] };
  const names = Object.keys(files);
  const paths = [...entries.map((e) => e.path), 'nowhere/f', 'a/missing'];
  for (const path of paths) {
    const o = r();
    if (o < 0.5) files[pick(names)]!.push(recorded(path));
    else if (o < 0.7) for (let k = 2 + Math.floor(r() * 2); k > 0; k--) files[pick(names)]!.push(recorded(path));
  }
  const generated = new Map<string, GeneratedEntry>();
  for (const path of paths) {
    if (r() >= 0.3) continue;
    const g: GeneratedEntry = { path, step: pick(['step one', 'step two', 'spec files']), type: pick(['file', 'file', 'file', 'dir', 'symlink'] as const) };
    const x = r();
    if (g.type === 'file') {
      if (x < 0.4) g.md5 = digest(path, 'md5');
      else if (x < 0.7) { g.md5 = digest(path, 'md5'); g.sha256 = digest(path, 'sha256'); }
      else if (x < 0.75) g.sha256 = digest(path, 'sha256');
    }
    if (g.type === 'symlink' && r() < 0.7) g.link = pick(['x', '/x', 'f0', '']);
    generated.set(path, g);
  }
  const pkg = (name: string, version = pick(['1', '2'])): PackageRecord =>
    ({ distribution: 'debian', name, version, purl: `pkg:deb/debian/${name}@${version}`, dependsOn: [], supplier: 'Debian', files: files[name]! } as PackageRecord);
  const packages = names.map((n) => pkg(n));
  if (r() < 0.2) packages.push({ ...pkg('p', '3'), files: files['p']!.slice(0, 2) });
  return { entries, late, packages, generated };
}

test('accounts planned before the digests and settled after are, byte for byte, those of the code before the split', () => {
  const kinds = new Map<string, number>();
  for (const match of [0, 0.6, 0.95]) {
    for (let seed = 1; seed <= 400; seed++) {
      const { entries, late, packages, generated } = tree(seed, match);
      const withDigests = new Map(entries.map((e) => [e.path, { ...e, ...late.get(e.path) }]));
      const want = JSON.stringify(reference(withDigests, ownership(withDigests, packages), generated));
      for (const a of JSON.parse(want) as EntryAccount[]) {
        const k = a.step === 'parent directories' ? 'parent' : a.unchecked ? 'unchecked' : a.kind;
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      assert.equal(JSON.stringify(accountEntries(withDigests, ownership(withDigests, packages), generated)), want, `accountEntries, seed ${seed}, match ${match}`);
      // As the audit does it: planned while the files are hashed, the digests filled into the same entries, then settled.
      const map = new Map(entries.map((e) => [e.path, { ...e }]));
      const plan = planAccounts(map, ownership(map, packages), generated);
      for (const [path, d] of late) Object.assign(map.get(path)!, d);
      assert.equal(JSON.stringify(settleAccounts(plan)), want, `planned and settled, seed ${seed}, match ${match}`);
    }
  }
  // The trees do hold every kind of account.
  for (const k of ['package', 'unchecked', 'modified', 'generated', 'parent', 'unexplained']) assert.ok((kinds.get(k) ?? 0) > 100, `${k}: ${kinds.get(k) ?? 0}`);
});
