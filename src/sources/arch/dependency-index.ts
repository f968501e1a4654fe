/**
 * Which installed package satisfies a pacman dependency, as libalpm decides (`satisfiesDep`): by
 * its own name and version, or by a provision (an unversioned provision satisfies only an
 * unversioned dependency); of several, the first in the packages' order. Pure.
 *
 * Each distinct provision is held once, however often it is written, and compactly: a name that
 * one package provides without a version is a map entry and a number. A dependency looks up its
 * name, never scans a package's provisions (four million provisions matched by four million
 * dependencies took more than 20 minutes that way).
 */
import { ownString } from '../own-string.js';
import { satisfies } from './version.js';
import type { Dep } from './depends.js';

/** A package providing a name: its index, with the versions of its `name=version` provisions of that name (a number: none). */
type Provider = number | { at: number; versions: Set<string> };

const atOf = (p: Provider): number => (typeof p === 'number' ? p : p.at);

export class DependencyIndex {
  /** Package indices by their own name. */
  private readonly named = new Map<string, number[]>();
  /** Providers by provided name, in ascending index order. */
  private readonly provided = new Map<string, Provider | Provider[]>();
  private lastAt = -1;

  constructor(private readonly packages: ReadonlyArray<{ readonly name: string; readonly version: string }>) {
    packages.forEach((p, i) => {
      const list = this.named.get(p.name);
      if (list) list.push(i);
      else this.named.set(p.name, [i]);
    });
  }

  /**
   * Package `at` provides `p`. Provisions are given package by package in index order (a
   * package's provisions before the next package's), so that each name's providers stay in order.
   */
  provide(at: number, p: Dep): void {
    if (at < this.lastAt) throw new Error('internal: DependencyIndex: provisions out of package order');
    this.lastAt = at;
    const version = p.op === '=' ? (p.version ?? '') : undefined;
    const cur = this.provided.get(p.name);
    if (cur === undefined) {
      // The name's first provider: the key is copied out of the text it was sliced from.
      this.provided.set(ownString(p.name), version === undefined ? at : { at, versions: new Set([version]) });
      return;
    }
    const list = Array.isArray(cur) ? cur : undefined;
    const last = list ? list[list.length - 1]! : (cur as Provider);
    if (atOf(last) !== at) {
      const mine: Provider = version === undefined ? at : { at, versions: new Set([version]) };
      if (list) list.push(mine);
      else this.provided.set(p.name, [cur as Provider, mine]);
      return;
    }
    if (version === undefined) return;
    if (typeof last !== 'number') {
      last.versions.add(version);
      return;
    }
    const mine = { at, versions: new Set([version]) };
    if (list) list[list.length - 1] = mine;
    else this.provided.set(p.name, mine);
  }

  /** The index of the first package that satisfies `d`, or undefined. */
  resolve(d: Dep): number | undefined {
    const byName = this.named.get(d.name) ?? [];
    const cur = this.provided.get(d.name);
    const byProvision: readonly Provider[] = cur === undefined ? [] : Array.isArray(cur) ? cur : [cur];
    const want = d.version ?? '';
    // Both lists are in index order: walked together, each package is tried once, in order.
    for (let a = 0, b = 0; a < byName.length || b < byProvision.length; ) {
      const i = a < byName.length ? byName[a]! : Infinity;
      const j = b < byProvision.length ? atOf(byProvision[b]!) : Infinity;
      const at = Math.min(i, j);
      let ok = false;
      if (i === at) {
        a++;
        ok = d.op === undefined || satisfies(this.packages[at]!.version, d.op, want);
      }
      if (j === at) {
        const p = byProvision[b++]!;
        if (!ok && d.op === undefined) ok = true;
        else if (!ok && typeof p !== 'number') for (const v of p.versions) if (satisfies(v, d.op!, want)) { ok = true; break; }
      }
      if (ok) return at;
    }
    return undefined;
  }
}
