/**
 * Temporary directories for one run: made under the caller's temp dir (never the output), named
 * `repro-image-…`, and removed by whoever made them when the work is done or has failed.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ioError } from '../model/errors.js';

/** A new private directory under `base` (default: the OS temp dir). */
export async function makeScratchDir(base: string | undefined, prefix = 'repro-image-'): Promise<string> {
  return mkdtemp(join(base ?? tmpdir(), prefix)).catch((e) => { throw ioError(e, 'cannot create a temporary directory'); });
}

/** Runs `fn` with a new scratch directory and removes it afterwards, whatever happens. */
export async function withScratchDir<T>(base: string | undefined, fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeScratchDir(base, prefix);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const atExit = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const d of atExit) rmSync(d, { recursive: true, force: true });
  atExit.clear();
}

/**
 * Removes `dir` when the process exits, or is ended by SIGINT, SIGTERM or SIGHUP (then the signal
 * is raised again, so the exit status says so): for scratch files whose readers live as long as the
 * run (an image read from a container store). `release` removes it earlier.
 */
export function removeOnExit(dir: string): { release: () => void } {
  atExit.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const onSignal = (): void => {
        removeAll();
        process.removeListener(sig, onSignal);
        // Nobody else listens: end as the signal would have ended us.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      };
      process.on(sig, onSignal);
    }
  }
  return {
    release() {
      atExit.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
