#!/usr/bin/env node
import { ReproError } from '../model/errors.js';
import { proxySettingsFromEnv, useProxies } from '../fetch/proxy.js';
import { cliMessage, type Io } from './common.js';

const HELP = `Usage: repro-image COMMAND [options]

Bit-for-bit reproducible OCI images.

Commands:
  build     build an image from a root filesystem, or from an image spec and its lock
  lock      resolve an image spec into SPEC.lock.json (every input pinned by SHA-256)
  fetch     download every locked input into the verified cache
  inspect   show an image and verify every digest and size
  diff      show where two images (or root filesystems) differ, and the likely causes
  copy      copy an image or index between transports, digests unchanged
  verify    rebuild an image and check it against a published digest
  status    check an image's packages against rebuilderd instances (GOOD / BAD / UNKWN)
  audit     account for every file of an image: package, named build step, modified, unexplained
  sbom      write an SPDX 2.3 or CycloneDX 1.6 SBOM of an image or of a spec's lock
  schema    print the JSON Schema of image specs

Run 'repro-image COMMAND --help' for a command's options.
Network access (package mirrors, registries, rebuilderd) honours HTTP_PROXY, HTTPS_PROXY and
NO_PROXY; localhost and loopback addresses are always reached directly.
Exit codes: 0 success, 1 difference or failed verification, 2 bad usage or input, 3 I/O failure.`;

// Commands are loaded when they run: a registry command need not load the compressors.
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    // HTTP_PROXY, HTTPS_PROXY and NO_PROXY, as Go programs (skopeo, podman) read them.
    useProxies(proxySettingsFromEnv(io.env));
    switch (command) {
      case 'build':
        return await (await import('./build.js')).buildCommand(rest, io);
      case 'inspect':
        return await (await import('./inspect.js')).inspectCommand(rest, io);
      case 'lock':
        return await (await import('./lock.js')).lockCommand(rest, io);
      case 'fetch':
        return await (await import('./fetch.js')).fetchCommand(rest, io);
      case 'copy':
        return await (await import('./copy.js')).copyCommand(rest, io);
      case 'verify':
        return await (await import('./verify.js')).verifyCommand(rest, io);
      case 'schema':
        return (await import('./schema.js')).schemaCommand(rest, io);
      case 'diff':
        return await (await import('./diff.js')).diffCommand(rest, io);
      case 'status':
        return await (await import('./status.js')).statusCommand(rest, io);
      case 'audit':
        return await (await import('./audit.js')).auditCommand(rest, io);
      case 'sbom':
        return await (await import('./sbom.js')).sbomCommand(rest, io);
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
      io.stderr(`repro-image: ${cliMessage(e)}\n`);
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
