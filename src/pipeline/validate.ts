/**
 * The library's boundary: options from callers that may not be typed (JavaScript, JSON) are checked
 * here before anything is built, each error naming the option (the CLI prints its flag instead).
 */
import type { ContainerConfig } from '../model/config.js';
import { ReproError, option } from '../model/errors.js';
export { checkPlatform } from '../model/platform.js';
import { MAX_EPOCH } from './epoch.js';
import { PASS_NAMES } from './passes.js';

function usage(name: string, message: string): ReproError {
  return new ReproError('E_USAGE', `${option(name)}: ${message}`);
}

export function checkSourceDateEpoch(n: unknown, name = 'sourceDateEpoch'): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_EPOCH) {
    throw usage(name, `expected a whole number of seconds from 0 to ${MAX_EPOCH}, got ${JSON.stringify(n)}`);
  }
  return n;
}

export function checkCompression(c: unknown, name = 'compression'): 'gzip' | 'zstd' | 'none' {
  if (c !== 'gzip' && c !== 'zstd' && c !== 'none') throw usage(name, `expected gzip, zstd or none, got ${JSON.stringify(c)}`);
  return c;
}

export function checkPasses(names: unknown, name = 'normalize'): string[] {
  if (!Array.isArray(names)) throw usage(name, `expected a list of pass names (${PASS_NAMES.join(', ')})`);
  for (const n of names) {
    if (typeof n !== 'string' || !PASS_NAMES.includes(n)) throw usage(name, `unknown pass ${JSON.stringify(n)}; known: ${PASS_NAMES.join(', ')}`);
  }
  return names as string[];
}

function strings(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function stringRecord(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

export function checkRecord(v: unknown, name: string): Record<string, string> {
  if (!stringRecord(v)) throw usage(name, 'expected an object of string values');
  return v as Record<string, string>;
}

export function checkStrings(v: unknown, name: string): string[] {
  if (!strings(v)) throw usage(name, 'expected a list of strings');
  return v as string[];
}

/** The runtime settings of a config (`config.config`), as typed callers write them. */
export function checkContainerConfig(c: unknown, name = 'config'): ContainerConfig {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw usage(name, 'expected an object');
  const o = c as Record<string, unknown>;
  for (const k of ['Entrypoint', 'Cmd', 'Env'] as const) {
    if (o[k] !== undefined && !strings(o[k])) throw usage(`${name}.${k}`, 'expected a list of strings');
  }
  for (const k of ['WorkingDir', 'User', 'StopSignal'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw usage(`${name}.${k}`, 'expected a string');
  }
  if (o['Labels'] !== undefined && !stringRecord(o['Labels'])) throw usage(`${name}.Labels`, 'expected an object of string values');
  for (const k of ['ExposedPorts', 'Volumes'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    const ok = typeof v === 'object' && v !== null && !Array.isArray(v)
      && Object.values(v).every((x) => typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 0);
    if (!ok) throw usage(`${name}.${k}`, 'expected an object whose values are {} (e.g. {"80/tcp": {}})');
  }
  for (const e of (o['Env'] as string[] | undefined) ?? []) {
    if (e.indexOf('=') <= 0) throw usage(`${name}.Env`, `${JSON.stringify(e)}: expected KEY=VALUE`);
  }
  return o as ContainerConfig;
}

