/**
 * Where differences go as they are found: ignore rules applied, at most `maxDifferences` kept
 * (the rest are counted under their finding), and content details kept within a byte budget.
 */
import { isIgnored, type IgnoreRules } from './options.js';
import type { Difference } from './types.js';

export class Collector {
  readonly differences: Difference[] = [];
  /** Differences past maxDifferences, by finding. */
  readonly omitted = new Map<string, number>();
  omittedCount = 0;
  private detailBytes = 0;

  constructor(
    readonly rules: IgnoreRules,
    private readonly maxDifferences: number,
    private readonly maxDetailBytes: number,
  ) {}

  /** False once the report holds its budget of content details (they would be left out). */
  wantsDetail(): boolean {
    return this.detailBytes < this.maxDetailBytes && this.differences.length < this.maxDifferences;
  }

  /** Adds a difference unless the rules ignore it; returns whether it counts. */
  add(d: Difference): boolean {
    if (isIgnored(d, this.rules)) return false;
    if (this.differences.length >= this.maxDifferences) {
      this.omittedCount++;
      this.omitted.set(d.finding, (this.omitted.get(d.finding) ?? 0) + 1);
      return true;
    }
    const c = d.content;
    if (c) {
      const size = (c.diff?.length ?? 0) + (c.hex ? (c.hex.a.length + c.hex.b.length) * 80 : 0);
      if (this.detailBytes + size > this.maxDetailBytes) {
        delete c.diff;
        delete c.hex;
        c.note = 'content detail left out: the report already holds its budget of content diffs';
      } else {
        this.detailBytes += size;
      }
    }
    this.differences.push(d);
    return true;
  }
}
