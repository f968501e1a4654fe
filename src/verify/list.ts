/**
 * `verify --jobs N --list FILE`: verify many images, N at once, in this process — the unit of work
 * a rebuilder's job runs (see docs/rebuilders.md). FILE has one image a line, `SPEC REF`: the spec
 * to rebuild from (its lock beside it; a relative path is relative to FILE's folder) and the
 * published image (any --against reference), separated by spaces or tabs. Blank lines and lines
 * starting with `#` are skipped. A bad line is a usage error naming FILE and the line number,
 * before anything is rebuilt. Each entry's outcome (reproduced, not reproduced, or the error that
 * stopped it) is kept apart: one failing entry does not stop the others.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ReproError, ioError } from '../model/errors.js';
import type { SpecBuildOptions } from '../pipeline/spec.js';
import { parseImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { verify, type VerifyResult } from './verify.js';

export interface VerifyListEntry {
  /** 1-based line number in the list. */
  line: number;
  /** The spec as written in the list, and resolved against the list's folder. */
  spec: string;
  specPath: string;
  against: string;
}

/** Parses a list's text; `file` names it in errors (exit 2, with the line number). */
export function parseVerifyList(text: string, file: string): VerifyListEntry[] {
  const entries: VerifyListEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.replace(/\r$/, '').trim();
    if (s === '' || s.startsWith('#')) return;
    const fields = s.split(/[ \t]+/);
    if (fields.length !== 2) {
      throw new ReproError('E_USAGE', `${file}:${line}: expected "SPEC REF" (two fields separated by spaces), got ${fields.length} field${fields.length === 1 ? '' : 's'}: ${JSON.stringify(s.length > 120 ? `${s.slice(0, 117)}...` : s)}`);
    }
    const [spec, against] = fields as [string, string];
    if (!/\.ya?ml$/.test(spec)) throw new ReproError('E_USAGE', `${file}:${line}: the first field is a spec (a .yaml file), got ${JSON.stringify(spec)}`);
    if (against.startsWith('disk:')) throw new ReproError('E_USAGE', `${file}:${line}: ${against}: a list verifies images; verify a disk on its own`);
    try {
      parseImageRef(against, 'REF');
    } catch (e) {
      if (e instanceof ReproError) throw new ReproError('E_USAGE', `${file}:${line}: ${e.message}`);
      throw e;
    }
    entries.push({ line, spec, specPath: isAbsolute(spec) ? spec : resolve(dirname(file), spec), against });
  });
  if (entries.length === 0) throw new ReproError('E_USAGE', `${file}: lists no image (one "SPEC REF" a line)`);
  return entries;
}

export function readVerifyList(file: string): VerifyListEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw ioError(e, `--list: cannot read ${file}`);
  }
  return parseVerifyList(text, file);
}

export interface VerifyListOptions {
  entries: VerifyListEntry[];
  /** How many verifications run at once (default 1). */
  jobs?: number;
  /** The rebuild's options but the spec (cache, offline, SOURCE_DATE_EPOCH, ...), the same for every entry. */
  spec: Omit<SpecBuildOptions, 'output' | 'spec'>;
  registry?: RegistryOptions;
  deepDiff?: boolean;
  maxDifferences?: number;
  /** Run after an entry's verification (an attestation, say); its error is the entry's. */
  after?: (entry: VerifyListEntry, result: VerifyResult) => Promise<void>;
  /** Told of each finished entry, in list order (an entry is told once those before it are). */
  onEntry?: (outcome: VerifyListOutcome) => void;
}

export interface VerifyListOutcome {
  line: number;
  spec: string;
  against: string;
  verdict: 'reproduced' | 'not-reproduced' | 'error';
  /** The verification's record (absent when it stopped with an error before the verdict). */
  result?: VerifyResult;
  error?: { code: string; exitCode: number; message: string };
}

export interface VerifyListResult {
  entries: VerifyListOutcome[];
  summary: { total: number; reproduced: number; notReproduced: number; errors: number; text: string };
}

export async function verifyList(opts: VerifyListOptions): Promise<VerifyListResult> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new ReproError('E_USAGE', `jobs: expected a whole number from 1, got ${jobs}`);
  const entries = opts.entries;
  const outcomes: Array<VerifyListOutcome | undefined> = new Array(entries.length);
  let told = 0;
  const tell = (): void => {
    while (told < entries.length && outcomes[told] !== undefined) opts.onEntry?.(outcomes[told++]!);
  };
  const one = async (e: VerifyListEntry): Promise<VerifyListOutcome> => {
    const base = { line: e.line, spec: e.spec, against: e.against };
    let result: VerifyResult | undefined;
    try {
      result = await verify({
        spec: { ...opts.spec, spec: e.specPath, ...(opts.spec.onWarning ? { onWarning: (m: string) => opts.spec.onWarning!(`line ${e.line} (${e.against}): ${m}`) } : {}) },
        against: e.against,
        ...(opts.registry ? { registry: opts.registry } : {}),
        ...(opts.deepDiff !== undefined ? { deepDiff: opts.deepDiff } : {}),
        ...(opts.maxDifferences !== undefined ? { maxDifferences: opts.maxDifferences } : {}),
      });
      await opts.after?.(e, result);
      return { ...base, verdict: result.verdict, result };
    } catch (err) {
      if (!(err instanceof ReproError)) throw err;
      return { ...base, verdict: 'error', ...(result ? { result } : {}), error: { code: err.code, exitCode: err.exitCode, message: err.message } };
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const i = next++;
      outcomes[i] = await one(entries[i]!);
      tell();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, entries.length) }, worker));
  const done = outcomes as VerifyListOutcome[];
  const reproduced = done.filter((o) => o.verdict === 'reproduced').length;
  const notReproduced = done.filter((o) => o.verdict === 'not-reproduced').length;
  const errors = done.filter((o) => o.verdict === 'error').length;
  const n = done.length;
  return {
    entries: done,
    summary: { total: n, reproduced, notReproduced, errors, text: `${n} image${n === 1 ? '' : 's'}: ${reproduced} reproduced, ${notReproduced} not reproduced, ${errors} error${errors === 1 ? '' : 's'}` },
  };
}

/** One line for an entry's outcome. */
export function renderListEntry(o: VerifyListOutcome): string {
  const where = `${o.against} (${o.spec}, line ${o.line})`;
  const index = o.result?.index;
  if (o.verdict === 'reproduced') return `reproduced ${index ? `index ${index.rebuilt}` : o.result!.rebuilt.manifest} ${where}`;
  if (o.verdict === 'not-reproduced' && index) {
    return `not reproduced ${where}: rebuilt index ${index.rebuilt}, published ${index.published}; platforms that differ: ${index.platforms.filter((p) => p.verdict !== 'reproduced').map((p) => p.platform).join(', ') || 'none (the index differs)'}`;
  }
  if (o.verdict === 'not-reproduced') return `not reproduced ${where}: rebuilt ${o.result!.rebuilt.manifest}, published ${o.result!.published.manifest}`;
  return `error ${where}: ${o.error!.message} (exit ${o.error!.exitCode})`;
}
