/**
 * Registry flags shared by the commands that reach registries: `--creds USER:PASSWORD`,
 * `--tls-verify=false` (or `--insecure`), and where credentials are looked up when none are given
 * (REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json; credential helpers run with this environment). The environment is read
 * here, in the CLI, and nowhere else.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ReproError } from '../model/errors.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { blobProgress } from '../transports/progress.js';
import { parseCredsFlag } from '../transports/registry/credentials.js';
import type { Io } from './common.js';

/** The flags for one side (prefix '' for both sides, 'src-' or 'dest-' for copy, 'a-' or 'b-' for diff). */
export function registryFlags<P extends string>(prefix: P) {
  return {
    [`${prefix}creds`]: { type: 'string' },
    [`${prefix}authfile`]: { type: 'string' },
    [`${prefix}insecure`]: { type: 'boolean' },
    [`${prefix}max-blob-size`]: { type: 'string' },
  } as Record<`${P}creds`, { type: 'string' }> & Record<`${P}authfile`, { type: 'string' }> & Record<`${P}insecure`, { type: 'boolean' }> & Record<`${P}max-blob-size`, { type: 'string' }>;
}

/** `--max-blob-size`: bytes, or a number with K, M, G or T (powers of 1024). */
export function parseSize(v: string, flag: string): number {
  const m = /^([0-9]+)([KMGT]i?B?|B)?$/i.exec(v.trim());
  const mult: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  const unit = (m?.[2] ?? '').charAt(0).toUpperCase();
  const n = m ? Number(m[1]) * (mult[unit] ?? NaN) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new ReproError('E_USAGE', `${flag}: expected a size such as 4G or 500M, got ${JSON.stringify(v)}`);
  return n;
}

export interface RegistryFlagValues {
  creds?: string | undefined;
  authfile?: string | undefined;
  insecure?: boolean | undefined;
  'max-blob-size'?: string | undefined;
}

/** One side's settings: its own flag where given (`--a-creds`), else the flag for both (`--creds`). */
export function sideFlags(v: Record<string, unknown>, prefix: string): RegistryFlagValues {
  const s = (k: string): string | undefined => (typeof v[`${prefix}${k}`] === 'string' ? v[`${prefix}${k}`] : v[k]) as string | undefined;
  return { creds: s('creds'), authfile: s('authfile'), insecure: v[`${prefix}insecure`] === true || v['insecure'] === true, 'max-blob-size': s('max-blob-size') };
}

/**
 * skopeo spells the switch `--tls-verify=false`; node's parser has no optional values, so the
 * spellings `--[src-|dest-|a-|b-]tls-verify[=true|false]` become `--[…]insecure` (or nothing).
 */
export function rewriteTlsFlags(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const m = /^--((?:src-|dest-|a-|b-)?)tls-verify(?:=(.*))?$/.exec(a);
    if (!m) {
      out.push(a);
      continue;
    }
    const value = m[2] ?? 'true';
    if (value === 'false') out.push(`--${m[1]}insecure`);
    else if (value !== 'true') throw new ReproError('E_USAGE', `--${m[1]}tls-verify: expected true or false, got ${JSON.stringify(value)}`);
  }
  return out;
}

/** The auth files searched when no --creds are given, in order. */
export function authFiles(env: NodeJS.ProcessEnv): string[] {
  const files: string[] = [];
  if (env['REGISTRY_AUTH_FILE']) files.push(env['REGISTRY_AUTH_FILE']);
  if (env['XDG_RUNTIME_DIR']) files.push(join(env['XDG_RUNTIME_DIR'], 'containers', 'auth.json'));
  files.push(join(env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker'), 'config.json'));
  return files;
}

/**
 * Registry options from the flags and the environment. `progress` is told the bytes moved over all
 * blobs so far, of the total of the blobs seen so far (blobs move several at a time).
 */
export function registryOptions(values: RegistryFlagValues, io: Io, progress?: (done: number, total: number) => void): RegistryOptions {
  if (values.authfile !== undefined) {
    // As skopeo: a named auth file must exist (a typo would otherwise mean "no credentials").
    try {
      accessSync(values.authfile, constants.R_OK);
    } catch {
      throw new ReproError('E_USAGE', `--authfile ${values.authfile}: cannot read it`);
    }
  }
  const opts: RegistryOptions = {
    authFiles: values.authfile !== undefined ? [values.authfile] : authFiles(io.env),
    helperEnv: io.env,
    insecure: values.insecure === true,
    onRetry: (m) => io.stderr(`retry: ${m}\n`),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
  };
  if (values.creds !== undefined) opts.credentials = parseCredsFlag(values.creds);
  if (values['max-blob-size'] !== undefined) opts.maxBlobSize = parseSize(values['max-blob-size'], '--max-blob-size');
  if (progress) opts.onProgress = blobProgress(progress);
  return opts;
}

export const REGISTRY_HELP = `  --creds USER:PASSWORD      registry credentials (default: from the auth file)
  --authfile FILE            the auth file (containers-auth.json(5) or Docker config.json, with
                             its credHelpers, auths and credsStore; default: REGISTRY_AUTH_FILE,
                             $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)
  --tls-verify=false         allow plain HTTP and unverified certificates (also --insecure)
  --max-blob-size SIZE       refuse a blob a registry declares larger than SIZE (bytes, or
                             with K, M, G, T; default 32G); free space is checked before writing`;

/** The help lines of the per-side flags: `sides` are the two prefixes ('a', 'b' or 'src', 'dest'). */
export function sideRegistryHelp(sides: [string, string], names: [string, string]): string {
  const [x, y] = sides;
  return `  --${x}-creds, --${x}-authfile, --${x}-tls-verify=false, --${x}-max-blob-size
                             the same for ${names[0]} only
  --${y}-creds, --${y}-authfile, --${y}-tls-verify=false, --${y}-max-blob-size
                             the same for ${names[1]} only`;
}
