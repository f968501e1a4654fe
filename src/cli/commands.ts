/**
 * The commands of the CLI, in the order `repro-image --help` lists them: a name, a one-line
 * summary, and the module that runs it, loaded only when it runs (a registry command need not load
 * the compressors). The help text each module exports is the one documentation of its flags:
 * `--help`, `repro-image help CMD`, the man page (man.ts) and shell completion (completion.ts) are
 * all made from it, and a test checks that every flag a command accepts is in its help.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Io } from './common.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandModule {
  /** `Usage: …` lines, a description, the flags (two-space indent), the exit codes. */
  help: string;
  /** The flags the parser accepts (hidden ones included); absent for commands without flags. */
  options?: Options;
  /** Flags accepted but not documented (kept for tests and diagnosis). */
  hidden?: readonly string[];
  run(args: string[], io: Io): Promise<number> | number;
}

export interface Command {
  name: string;
  summary: string;
  load(): Promise<CommandModule>;
  /** The command reads whole layers: the hashing thread is started while its modules load (image/spare-thread.ts). */
  readsLayers?: boolean;
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'build',
    summary: 'build an image from a root filesystem, or from an image spec and its lock',
    load: async () => {
      const m = await import('./build.js');
      return { help: m.BUILD_HELP, options: { ...m.BUILD_FLAGS, ...m.BUILD_ONLY }, hidden: ['deflate'], run: m.buildCommand };
    },
  },
  {
    name: 'lock',
    summary: 'resolve an image spec into SPEC.lock.json (every input pinned by SHA-256)',
    load: async () => {
      const m = await import('./lock.js');
      return { help: m.LOCK_HELP, options: m.LOCK_FLAGS, run: m.lockCommand };
    },
  },
  {
    name: 'fetch',
    summary: 'download every locked input into the verified cache',
    load: async () => {
      const m = await import('./fetch.js');
      return { help: m.FETCH_HELP, options: m.FETCH_FLAGS, run: m.fetchCommand };
    },
  },
  {
    name: 'archive',
    summary: 'write every input of a spec build (spec, lock, packages) as one OCI artifact',
    load: async () => {
      const m = await import('./archive.js');
      return { help: m.ARCHIVE_HELP, options: m.ARCHIVE_FLAGS, run: m.archiveCommand };
    },
  },
  {
    name: 'inspect',
    summary: 'show an image and verify every digest and size',
    load: async () => {
      const m = await import('./inspect.js');
      return { help: m.INSPECT_HELP, options: m.INSPECT_FLAGS, run: m.inspectCommand };
    },
  },
  {
    name: 'diff',
    summary: 'show where two images (or root filesystems) differ, and the likely causes',
    load: async () => {
      const m = await import('./diff.js');
      return { help: m.DIFF_HELP, options: m.DIFF_FLAGS, run: m.diffCommand };
    },
  },
  {
    name: 'copy',
    summary: 'copy an image or index between transports, digests unchanged',
    load: async () => {
      const m = await import('./copy.js');
      return { help: m.COPY_HELP, options: m.COPY_FLAGS, run: m.copyCommand };
    },
  },
  {
    name: 'verify',
    summary: 'rebuild an image and check it against a published digest',
    load: async () => {
      const m = await import('./verify.js');
      return { help: m.VERIFY_HELP, options: m.VERIFY_FLAGS, hidden: ['deflate'], run: m.verifyCommand };
    },
  },
  {
    name: 'status',
    readsLayers: true,
    summary: "check an image's packages against rebuilderd instances (GOOD / BAD / UNKWN)",
    load: async () => {
      const m = await import('./status.js');
      return { help: m.STATUS_HELP, options: m.STATUS_FLAGS, run: m.statusCommand };
    },
  },
  {
    name: 'audit',
    readsLayers: true,
    summary: 'account for every file of an image: package, named build step, modified, unexplained',
    load: async () => {
      const m = await import('./audit.js');
      return { help: m.AUDIT_HELP, options: m.AUDIT_FLAGS, run: m.auditCommand };
    },
  },
  {
    name: 'sbom',
    readsLayers: true,
    summary: "write an SPDX 2.3 or CycloneDX 1.6 SBOM of an image or of a spec's lock",
    load: async () => {
      const m = await import('./sbom.js');
      return { help: m.SBOM_HELP, options: m.SBOM_FLAGS, run: m.sbomCommand };
    },
  },
  {
    name: 'attestations',
    summary: 'list and check the verification summaries (SLSA VSAs) attached to an image',
    load: async () => {
      const m = await import('./attestations.js');
      return { help: m.ATTESTATIONS_HELP, options: m.ATTESTATIONS_FLAGS, run: m.attestationsCommand };
    },
  },
  {
    name: 'schema',
    summary: 'print the JSON Schema of image specs',
    load: async () => {
      const m = await import('./schema.js');
      return { help: m.SCHEMA_HELP, options: m.SCHEMA_FLAGS, run: m.schemaCommand };
    },
  },
  {
    name: 'completion',
    summary: 'print a bash or zsh completion script',
    load: async () => {
      const m = await import('./completion.js');
      return { help: m.COMPLETION_HELP, options: m.COMPLETION_FLAGS, run: m.completionCommand };
    },
  },
  {
    name: 'version',
    summary: 'print the version',
    load: async () => {
      const m = await import('./version.js');
      return { help: m.VERSION_HELP, options: m.VERSION_FLAGS, run: m.versionCommand };
    },
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Flags every command takes (main.ts reads them before the command sees its arguments). */
export const GLOBAL_HELP = `Global options (before or after the command):
  -q, --quiet                only results, warnings and errors on stderr: no progress, no reports
  -v, --verbose              reports list every path they changed
  -h, --help                 help (also: repro-image help COMMAND)
  --version                  print the version (also: repro-image version)`;

export const GLOBAL_SPELLINGS = ['-q', '--quiet', '-v', '--verbose', '-h', '--help', '--version'] as const;

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: repro-image COMMAND [options]

Bit-for-bit reproducible OCI container and OS images: build one twice, on two machines, on two
days, from the same inputs, and get the same SHA-256 digest; check a published image by
rebuilding it; see where two images differ and why.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

${GLOBAL_HELP}

Run 'repro-image COMMAND --help' (or 'repro-image help COMMAND') for a command's options.

Image references (containers-transports(5), as skopeo spells them):
  oci:DIR[:TAG]              an OCI image layout; :@sha256:HEX names an image by its digest and
                             :@N by its place in index.json (from 0): how to reach untagged ones
  oci-archive:FILE[:TAG]     an OCI image layout in a tar file; :@sha256:HEX and :@N likewise
  docker-archive:FILE[:NAME:TAG]
                             the docker save / docker load format; it stores no manifest, so no
                             manifest digest and no annotations survive in it
  dir:DIR                    skopeo's directory format (manifest.json, version, one file a blob)
  containers-storage:NAME    the host's container store, through podman's own CLI (podman load
                             and podman save); [DRIVER@ROOT+RUNROOT]NAME names another store. The
                             store keeps layers uncompressed: an image read back keeps its config
                             digest and diff_ids, not its manifest digest
  docker://HOST/REPO[:TAG|@DIGEST]
                             a registry (a name without a host is on docker.io)

Environment:
  SOURCE_DATE_EPOCH          the build time in seconds, when --source-date-epoch is not given
  REGISTRY_AUTH_FILE         the first auth file searched for registry credentials (then
                             $XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json
                             or ~/.docker/config.json)
  HTTP_PROXY, HTTPS_PROXY, NO_PROXY
                             proxies for package mirrors, registries and rebuilderd, as skopeo
                             and podman read them; loopback addresses are always reached directly
  XDG_CACHE_HOME             the cache of verified downloads is $XDG_CACHE_HOME/repro-image,
                             else ~/.cache/repro-image
  TMPDIR                     where each run keeps its scratch files, in one directory
                             repro-image-run-PID-…; a later run removes those of killed runs

Exit codes: 0 success, 1 difference or failed verification, 2 bad usage or input, 3 I/O failure,
130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP) interrupted: temporary files and partial outputs are
removed first; after SIGKILL, the next run writing the same place removes them. 141: the reader
of stdout or stderr went away (| head): the run stops as SIGPIPE would stop it, silently, after
the same clean-up.`;
}
