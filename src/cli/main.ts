#!/usr/bin/env node
import { ReproError } from '../model/errors.js';
import { buildCommand } from './build.js';
import { diffCommand } from './diff.js';
import { inspectCommand } from './inspect.js';
import type { Io } from './common.js';

const HELP = `Usage: repro-image COMMAND [options]

Bit-for-bit reproducible OCI images.

Commands:
  build     build an image from a root filesystem (directory or tar archive)
  inspect   show an image and verify every digest and size
  diff      show where two images (or root filesystems) differ, and the likely causes

Run 'repro-image COMMAND --help' for a command's options.
Exit codes: 0 success, 1 difference or failed verification, 2 bad usage or input, 3 I/O failure.`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'build':
        return await buildCommand(rest, io);
      case 'inspect':
        return await inspectCommand(rest, io);
      case 'diff':
        return await diffCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new ReproError('E_USAGE', `unknown command ${JSON.stringify(command)} (see repro-image --help)`);
    }
  } catch (e) {
    if (e instanceof ReproError) {
      io.stderr(`repro-image: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`repro-image: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
}

const io: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
};

main(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
