/**
 * Structural comparison of two JSON documents (index, manifest, config): every leaf that differs,
 * named by its path (`config.Env[1]`, `annotations["org.opencontainers.image.created"]`). Object
 * keys are visited in code-unit order so the result does not depend on how the JSON was written;
 * arrays are compared element by element. Pure.
 */
import { ReproError } from '../model/errors.js';
import { parseJsonBytes } from '../model/json.js';
import type { Value } from './types.js';

export interface JsonDifference {
  field: string;
  a?: Value;
  b?: Value;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function jsonPath(prefix: string, key: string | number): string {
  if (typeof key === 'number') return `${prefix}[${key}]`;
  return IDENT.test(key) ? `${prefix}.${key}` : `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * How deeply nested a JSON document `diff` compares may be. Image JSON is a few levels deep; the
 * comparison walks it recursively (and names each difference by its full path), so a config of
 * 5,000 nested arrays (10 KB) overflowed the stack: an internal error with a stack trace.
 */
export const MAX_JSON_DEPTH = 256;

/** Parses a JSON blob for comparison: invalid JSON, or JSON nested deeper than MAX_JSON_DEPTH, is exit 2 naming `where`. */
export function parseComparedJson(bytes: Buffer, where: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw new ReproError('E_BAD_JSON', `${where}: JSON nested more than ${MAX_JSON_DEPTH} levels deep (at byte ${i}), more than diff compares`);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return parseJsonBytes(bytes, where);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Differences between `a` and `b` under `prefix`; `skip` leaves out subtrees by path. */
export function jsonDifferences(a: unknown, b: unknown, prefix: string, skip: (path: string) => boolean = () => false): JsonDifference[] {
  const out: JsonDifference[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (skip(path)) return;
    if (x === undefined && y === undefined) return;
    // An object only one side has is compared key by key with an empty one (annotations, labels).
    if (x === undefined && isObject(y)) { walk({}, y, path); return; }
    if (y === undefined && isObject(x)) { walk(x, {}, path); return; }
    if (x === undefined) { out.push({ field: path, b: y as Value }); return; }
    if (y === undefined) { out.push({ field: path, a: x as Value }); return; }
    if (isObject(x) && isObject(y)) {
      const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
      for (const k of keys) walk(x[k], y[k], jsonPath(path, k));
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      for (let i = 0; i < Math.max(x.length, y.length); i++) walk(x[i], y[i], jsonPath(path, i));
      return;
    }
    if (x !== y) out.push({ field: path, a: x as Value, b: y as Value });
  };
  walk(a, b, prefix);
  return out;
}

/** `v` without the named top-level keys (for comparing descriptors without their digests). */
export function without(v: unknown, keys: string[]): unknown {
  if (!isObject(v)) return v;
  const o: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (!keys.includes(k)) o[k] = val;
  return o;
}
