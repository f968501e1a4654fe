/**
 * A set of names that answers "maybe" or "no" in a fixed 1 MiB, whatever is added (a Bloom filter
 * of one hash, FNV-1a over UTF-16 code units, 2^23 bits). The package readers note in it every
 * name a dependency asks for, then keep only the provisions of names it may hold: a database of
 * millions of distinct provisions nothing depends on costs nothing. A "maybe" that is wrong keeps
 * a provision no dependency uses, never changes a result.
 */
const BITS = 23;

function hash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> (32 - BITS);
}

export class NameFilter {
  private readonly words = new Int32Array(1 << (BITS - 5));

  add(name: string): void {
    const h = hash(name);
    this.words[h >>> 5]! |= 1 << (h & 31);
  }

  /** False: never added. True: perhaps. */
  has(name: string): boolean {
    const h = hash(name);
    return (this.words[h >>> 5]! & (1 << (h & 31))) !== 0;
  }
}
