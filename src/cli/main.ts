#!/usr/bin/env node
import { ReproError, systemError } from '../model/errors.js';
import { removeScratchNow } from '../fs/scratch.js';
import { startSpareHashThread } from '../image/spare-thread.js';
import { proxySettingsFromEnv, useProxies } from '../fetch/proxy.js';
import { closest, cliMessage, type Io, type Verbosity } from './common.js';
import { COMMANDS, findCommand, GLOBAL_HELP, mainHelp } from './commands.js';

/**
 * Takes the global flags out of the arguments (anywhere before `--`): -q/--quiet, -v/--verbose,
 * and notes -h/--help, which every command answers with its help text.
 */
export function globalFlags(argv: readonly string[]): { args: string[]; verbosity?: Verbosity; help: boolean } {
  const args: string[] = [];
  let verbosity: Verbosity | undefined;
  let help = false;
  let rest = false;
  for (const a of argv) {
    if (rest) args.push(a);
    else if (a === '--') {
      rest = true;
      args.push(a);
    } else if (a === '-q' || a === '--quiet') {
      if (verbosity === 'verbose') throw new ReproError('E_USAGE', '--quiet and --verbose contradict each other');
      verbosity = 'quiet';
    } else if (a === '-v' || a === '--verbose') {
      if (verbosity === 'quiet') throw new ReproError('E_USAGE', '--quiet and --verbose contradict each other');
      verbosity = 'verbose';
    } else {
      if (a === '-h' || a === '--help') help = true;
      args.push(a);
    }
  }
  return verbosity ? { args, verbosity, help } : { args, help };
}

/** A command's help as printed: its own text, then the global options. */
export function commandHelp(help: string): string {
  return `${help}\n\n${GLOBAL_HELP}\n`;
}

function unknownCommand(name: string): ReproError {
  const guess = closest(name, [...COMMANDS.map((c) => c.name), 'help']);
  return new ReproError('E_USAGE', `unknown command ${JSON.stringify(name)}${guess ? `; did you mean ${guess}?` : ''} (see repro-image --help)`);
}

// Commands are loaded when they run: a registry command need not load the compressors.
export async function main(argv: string[], io: Io): Promise<number> {
  try {
    const { args, verbosity, help } = globalFlags(argv);
    if (verbosity) io = { ...io, verbosity };
    const [command, ...rest] = args;
    if (command === undefined) {
      // No command at all: usage on stderr (stdout stays for results), exit 2.
      io.stderr(`${mainHelp()}\n`);
      return 2;
    }
    if (command === '-h' || command === '--help') {
      io.stdout(`${mainHelp()}\n`);
      return 0;
    }
    if (command === '--version') {
      const { toolInfo } = await import('../verify/tool.js');
      io.stdout(`${toolInfo().name} ${toolInfo().version}\n`);
      return 0;
    }
    if (command === 'help') {
      if (rest.length === 0) {
        io.stdout(`${mainHelp()}\n`);
        return 0;
      }
      if (rest.length > 1) throw new ReproError('E_USAGE', 'help: expected one COMMAND (see repro-image --help)');
      const c = findCommand(rest[0]!);
      if (!c) throw unknownCommand(rest[0]!);
      io.stdout(commandHelp((await c.load()).help));
      return 0;
    }
    const c = findCommand(command);
    if (!c) {
      if (command.startsWith('-')) throw new ReproError('E_USAGE', `unknown option ${command.replace(/=.*$/, '')} before the command (see repro-image --help)`);
      throw unknownCommand(command);
    }
    if (c.readsLayers && !help) startSpareHashThread();
    const mod = await c.load();
    if (help) {
      io.stdout(commandHelp(mod.help));
      return 0;
    }
    // HTTP_PROXY, HTTPS_PROXY and NO_PROXY, as Go programs (skopeo, podman) read them.
    useProxies(proxySettingsFromEnv(io.env));
    return await mod.run(rest, io);
  } catch (e) {
    if (e instanceof ReproError) {
      io.stderr(`repro-image: ${cliMessage(e)}\n`);
      return e.exitCode;
    }
    // A file system error that escaped unwrapped is still one line (ENOSPC, ENOTDIR, ...).
    const sys = systemError(e);
    if (sys) {
      io.stderr(`repro-image: ${cliMessage(sys)}\n`);
      return sys.exitCode;
    }
    io.stderr(`repro-image: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
}

const io: Io = {
  stdout: (s) => process.stdout.write(s),
  drained: () => new Promise<void>((resolve) => {
    const out = process.stdout;
    if (!out.writableNeedDrain) {
      resolve();
      return;
    }
    // A closed stdout (the reader gone) drains nothing more: that ends the wait too.
    const done = (): void => {
      out.off('drain', done).off('close', done);
      resolve();
    };
    out.on('drain', done).on('close', done);
  }),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  isTTY: process.stderr.isTTY === true,
};

/**
 * Ctrl-C, a CI time-out, `kill`: the run's scratch directory and the partial outputs it registered
 * are removed (fs/scratch.ts), then the process exits with the shell's code for the signal:
 * 129 (SIGHUP), 130 (SIGINT), 143 (SIGTERM). SIGKILL cannot be caught: a later run removes what
 * such a run left (its owner is dead).
 */
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
for (const [name, number] of Object.entries(SIGNALS)) {
  process.on(name, () => {
    removeScratchNow(200);
    try {
      process.stderr.write(`repro-image: interrupted by ${name}; temporary files removed\n`);
    } catch { /* stderr closed */ }
    process.exit(128 + number);
  });
}

main(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
