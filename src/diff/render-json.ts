/**
 * The JSON report (schema: docs/diff.md, docs/diff-schema.json). The result is built in a fixed key
 * order and its lists are sorted, so the same inputs give the same bytes. Pure.
 */
import type { DiffResult } from './types.js';

export function renderJson(r: DiffResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
