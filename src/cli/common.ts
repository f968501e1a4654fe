import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ReproError } from '../model/errors.js';
import { formatBytes } from '../verify/render-inspect.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Library options whose flag is not simply the option's name in kebab case. */
const FLAG_OF: Record<string, string> = {
  'registry.insecure': '--tls-verify=false',
  'registry.credentials': '--creds USER:PASSWORD',
  rebuilders: '--rebuilder URL',
  'xattrs=false': '--no-xattrs',
};

/** The flag that sets a library option, for messages: `maxContentDiff` → `--max-content-diff`. */
export function flagFor(option: string): string {
  return FLAG_OF[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** An error's message as a CLI user reads it: options named by their flags. */
export function cliMessage(e: ReproError): string {
  return e.render(flagFor);
}

export interface Io {
  /** Text, or exact bytes (`inspect --raw`). */
  stdout: (s: string | Uint8Array) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

export function parse<T extends Options>(args: string[], options: T, command: string): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ReproError('E_USAGE', `${command}: ${(e as Error).message.split('\n')[0]} (see repro-image ${command} --help)`);
  }
}

/** `K=V` pairs into a record; a missing `=` is a usage error naming the flag. */
export function keyValues(values: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new ReproError('E_USAGE', `${flag} ${JSON.stringify(v)}: expected KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/**
 * `--entrypoint`/`--cmd`: a JSON array of strings (exec form), or any other string, which runs
 * through `/bin/sh -c` (shell form), as buildah config does.
 */
export function commandLine(v: string | undefined, flag: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (v.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw new ReproError('E_USAGE', `${flag}: invalid JSON array: ${(e as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
      throw new ReproError('E_USAGE', `${flag}: expected a JSON array of strings`);
    }
    return parsed as string[];
  }
  return ['/bin/sh', '-c', v];
}

/** A one-line progress display on a TTY; does nothing elsewhere. */
export function progressLine(io: Io, label: string): { update: (done: number, total: number) => void; end: () => void } {
  if (!io.isTTY) return { update: () => {}, end: () => {} };
  let last = -1;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      if (pct === last) return;
      last = pct;
      io.stderr(`\r${label} ${String(pct).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}\x1b[K`);
    },
    end() {
      if (last >= 0) io.stderr('\r\x1b[K');
    },
  };
}
