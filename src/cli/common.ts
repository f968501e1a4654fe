import { parseArgs, type ParseArgsConfig } from 'node:util';
import { escapeName, ReproError } from '../model/errors.js';
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

/** Warnings (a package database's, see `InstalledPackage.warnings`) on stderr, one line each, escaped as report names are. */
export function printWarnings(io: Io, warnings: readonly string[]): void {
  for (const w of warnings) io.stderr(`warning: ${escapeName(w)}\n`);
}

/** An error's message as a CLI user reads it: options named by their flags. */
export function cliMessage(e: ReproError): string {
  return e.render(flagFor);
}

export interface Io {
  /** Text, or exact bytes (`inspect --raw`). */
  stdout: (s: string | Uint8Array) => void;
  /**
   * Resolves once what was written to stdout has gone out (where it can wait: a pipe whose reader
   * is behind). A long output written in blocks waits for it after each, so that it is not queued
   * in memory whole (process.stdout on a pipe queues every write it cannot make at once).
   */
  drained?: () => Promise<void>;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  /**
   * How much goes to stderr besides errors and warnings (-q/--quiet, -v/--verbose): `quiet` no
   * progress and no reports, `normal` (default) one line per report, `verbose` with every path.
   */
  verbosity?: Verbosity;
}

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export function verbosity(io: Io): Verbosity {
  return io.verbosity ?? 'normal';
}

/** Edit distance (insertions, deletions, substitutions, transpositions of neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known word closest to `word` (a typo or a prefix of it), if one is close enough to suggest. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((k) => word.length >= 3 && k.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(word, k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(Math.min(word.length, best.length) / 3)) ? best : undefined;
}

/** `--name` (and `-x`) of every option, for suggestions and messages. */
function spellings(options: Options): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(options)) {
    out.push(`--${name}`);
    if (o.short) out.push(`-${o.short}`);
    // --insecure is also spelled --tls-verify=false (see registry-flags.ts).
    if (name.endsWith('insecure')) out.push(`--${name.slice(0, -'insecure'.length)}tls-verify`);
  }
  return out;
}

/**
 * The parser's complaint as one line: `build: unknown option --outptu; did you mean --output?`.
 * node's own messages span two lines and quote unevenly; these name the option and what to do.
 */
function usageMessage(e: unknown, options: Options, command: string): string {
  const err = e as NodeJS.ErrnoException;
  const see = `(see repro-image ${command} --help)`;
  // node quotes the option as '--name', '-x' or '-x, --name <value>': take the long name if any.
  const quoted = /'(?:-\w, )?(--?[^' ,<]+)/.exec(err.message ?? '')?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) {
    const name = quoted.replace(/=.*$/, '');
    // Only long options get a suggestion: one letter off a one-letter option says nothing.
    const guess = name.startsWith('--') ? closest(name, [...spellings(options).filter((s) => s.startsWith('--')), '--quiet', '--verbose', '--version']) : undefined;
    return `${command}: unknown option ${name}${guess ? `; did you mean ${guess}?` : ''} ${see}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && quoted !== undefined) {
    if (/argument missing/.test(err.message)) return `${command}: ${quoted} needs a value ${see}`;
    if (/does not take an argument/.test(err.message)) return `${command}: ${quoted} takes no value ${see}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `${command}: unexpected argument ${see}`;
  return `${command}: ${String(err.message ?? e).split('\n')[0]!.replace(/\s+$/, '')} ${see}`;
}

export function parse<T extends Options>(args: string[], options: T, command: string): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new ReproError('E_USAGE', usageMessage(e, options, command));
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
  if (!io.isTTY || verbosity(io) === 'quiet') return { update: () => {}, end: () => {} };
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
