/**
 * How a run ends early outside its own control: a signal (main.ts) or a closed pipe on stdout or
 * stderr, one clean-up for both (`endRunNow`).
 */
import { ioError } from '../model/errors.js';
import { removeScratchNow } from '../fs/scratch.js';
import { cliMessage } from './common.js';

/** 128 + SIGPIPE (13): what a shell reports for a GNU tool killed by a write to a closed pipe. */
export const BROKEN_PIPE_EXIT = 141;

let ending = false;

/**
 * Ends the run now, as the signal handlers do: the run's scratch directories and registered partial
 * outputs removed (file operations under way in the thread pool given up to 200 ms), at most one
 * line on stderr, then `process.exit(code)`. Only the first call acts.
 */
export function endRunNow(code: number, line?: string): void {
  if (ending) return;
  ending = true;
  removeScratchNow(200);
  if (line !== undefined) {
    try {
      process.stderr.write(line);
    } catch { /* stderr closed */ }
  }
  process.exit(code);
}

/**
 * The reader of stdout or stderr went away (`repro-image audit --json … | head -c 100`): Node
 * ignores SIGPIPE, so the write fails with EPIPE, emitted as an 'error' event that, unhandled,
 * would end the process with a stack trace. Here it ends the run as SIGPIPE ends a GNU tool: the
 * work stops, nothing is printed, temporary files and partial outputs are removed, and the exit
 * code is 141. Any other error writing stdout (EIO, ENOSPC on a redirected file) is one line on
 * stderr and exit 3; one writing stderr ends the run the same way, silently (there is nowhere to
 * say it). Every later error of either stream is ignored, so that nothing loops.
 */
export function handleBrokenPipes(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      endRunNow(BROKEN_PIPE_EXIT);
      return;
    }
    const err = ioError(e, 'standard output');
    endRunNow(err.exitCode, `repro-image: ${cliMessage(err)}\n`);
  });
  process.stderr.on('error', (e: NodeJS.ErrnoException) => {
    endRunNow(e.code === 'EPIPE' ? BROKEN_PIPE_EXIT : ioError(e, 'standard error').exitCode);
  });
}
