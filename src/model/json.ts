import { ReproError } from './errors.js';
import { sha256, type Digest } from './digest.js';

/** A JSON document as it was read or written: the exact bytes, their digest and the parsed value. */
export interface RawJson<T> {
  readonly bytes: Buffer;
  readonly digest: Digest;
  readonly value: T;
}

export function parseJsonBytes(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (e) {
    // Not V8's message: it quotes the text, and the file may not be JSON at all (a symlink to a
    // secret). Only a position, when the engine gives one.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new ReproError('E_BAD_JSON', `${where}: invalid JSON${at === undefined ? '' : ` at character ${at}`} (${bytes.length} bytes)`);
  }
}

export type JsonObject = Record<string, unknown>;

export function asObject(v: unknown, where: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ReproError('E_BAD_JSON', `${where}: expected a JSON object`);
  }
  return v as JsonObject;
}

export function getString(o: JsonObject, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ReproError('E_BAD_JSON', `${where}.${key}: expected a string`);
  return v;
}

export function getOptString(o: JsonObject, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ReproError('E_BAD_JSON', `${where}.${key}: expected a string`);
  return v;
}

export function getNumber(o: JsonObject, key: string, where: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ReproError('E_BAD_JSON', `${where}.${key}: expected a non-negative integer`);
  }
  return v;
}

export function getArray(o: JsonObject, key: string, where: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new ReproError('E_BAD_JSON', `${where}.${key}: expected an array`);
  return v;
}

export function getStringMap(o: JsonObject, key: string, where: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = asObject(v, `${where}.${key}`);
  for (const [k, val] of Object.entries(m)) {
    if (typeof val !== 'string') throw new ReproError('E_BAD_JSON', `${where}.${key}.${k}: expected a string`);
  }
  return m as Record<string, string>;
}

export function rawJson<T>(bytes: Buffer, value: T): RawJson<T> {
  return { bytes, digest: sha256(bytes), value };
}

/**
 * JSON.parse loses integers beyond 2^53: a document holding one cannot be rewritten faithfully
 * (when a field is changed and the rest kept), so it is refused instead of altered.
 */
export function assertExactIntegers(v: unknown, where: string): void {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) {
      throw new ReproError('E_UNSUPPORTED', `${where}: holds the integer ${v}, beyond 2^53, which cannot be kept exactly when the document is rewritten`);
    }
  } else if (Array.isArray(v)) for (const x of v) assertExactIntegers(x, where);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) assertExactIntegers(x, where);
}
