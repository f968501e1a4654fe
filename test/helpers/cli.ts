import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI (tests run from dist/test/...). */
export const CLI = join(here, '../../src/cli/main.js');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a separate process, optionally under a umask, with an environment of our choosing. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; umask?: string } & Pick<SpawnSyncOptions, 'uid' | 'gid' | 'timeout'> = {}): RunResult {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = opts.umask
    ? spawnSync('sh', ['-c', `umask ${opts.umask}; exec "$0" "$@"`, process.execPath, CLI, ...args], { env, cwd: opts.cwd, encoding: 'utf8', uid: opts.uid, gid: opts.gid, timeout: opts.timeout, killSignal: 'SIGKILL' })
    : spawnSync(process.execPath, [CLI, ...args], { env, cwd: opts.cwd, encoding: 'utf8', uid: opts.uid, gid: opts.gid, timeout: opts.timeout, killSignal: 'SIGKILL' });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** runCli without blocking the event loop (for tests that serve HTTP from this process). */
export function runCliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<RunResult> {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Past the timeout the child is killed (status -1), as runCli's spawnSync does.
    const timer = opts.timeout === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeout);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * `CLI ARGS` in a child Node of at most `mb` MB of heap, its stdout written to `outFile` (not
 * piped: a report of a hundred megabytes is not held by the test): its exit status, the signal
 * that ended it (an out-of-heap child aborts), its stderr and its output.
 */
export function runCliInSmallHeap(mb: number, args: string[], outFile: string): { status: number | null; signal: NodeJS.Signals | null; stderr: string; out: Buffer } {
  const fd = openSync(outFile, 'w');
  try {
    const r = spawnSync(process.execPath, [`--max-old-space-size=${mb}`, CLI, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    return { status: r.status, signal: r.signal, stderr: r.stderr, out: readFileSync(outFile) };
  } finally {
    closeSync(fd);
  }
}
