/**
 * A Containerfile's RUN, executed in a stage's root filesystem under `runc` (Debian's; crun does
 * not work on these machines). We write the OCI runtime config ourselves, as buildah does for its
 * RUN, so that nothing of the host leaks in: no host mounts but the kernel file systems, a new
 * network namespace with only loopback unless the build asked for the host's network, no rlimits
 * (some hosts refuse setrlimit RLIMIT_NOFILE), a fixed hostname, the stage's environment only.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ReproError } from '../../model/errors.js';

export interface RunRequest {
  /** The stage's root filesystem, a directory the command may change. */
  rootfs: string;
  argv: readonly string[];
  env: readonly string[];
  /** Absolute path inside the root filesystem. */
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: readonly number[];
  /** `none` (default): a network namespace with loopback only; `host`: the host's network. */
  network?: 'none' | 'host';
  hostname?: string;
  /** Names the step in messages, e.g. `Containerfile:7: RUN`. */
  where: string;
}

export interface RunnerOptions {
  /** The OCI runtime (default `runc` on PATH). */
  runtime?: string;
  /** A scratch directory for the bundle and the runtime's state. */
  scratch: string;
  /** The command's output, as it comes (a build shows it on stderr). */
  onOutput?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

/** buildah's default capabilities for RUN (containers/common's DefaultCapabilities). */
export const RUN_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

/** The runtime config (OCI runtime spec 1.0) for one RUN. */
export function runtimeConfig(req: RunRequest): Record<string, unknown> {
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if ((req.network ?? 'none') === 'none') namespaces.push({ type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: req.uid, gid: req.gid, ...(req.additionalGids?.length ? { additionalGids: [...req.additionalGids] } : {}) },
      args: [...req.argv],
      env: [...req.env],
      cwd: req.cwd,
      capabilities: { bounding: RUN_CAPABILITIES, effective: RUN_CAPABILITIES, permitted: RUN_CAPABILITIES },
      noNewPrivileges: false,
    },
    root: { path: resolve(req.rootfs), readonly: false },
    hostname: req.hostname ?? 'buildkitsandbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces,
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

let runs = 0;

/** Runs the command; resolves when it exited 0, else a one-line error with its exit status. */
export async function runInRootfs(req: RunRequest, opts: RunnerOptions): Promise<void> {
  const id = `repro-image-${process.pid}-${runs++}`;
  const bundle = join(opts.scratch, id);
  const state = join(opts.scratch, 'runc-state');
  await mkdir(bundle, { recursive: true });
  await mkdir(state, { recursive: true });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(runtimeConfig(req)));
  const runtime = opts.runtime ?? 'runc';
  try {
    const code = await new Promise<number>((ok, fail) => {
      const child = spawn(runtime, ['--root', state, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal });
      child.stdout.on('data', (c: Buffer) => opts.onOutput?.(c));
      child.stderr.on('data', (c: Buffer) => opts.onOutput?.(c));
      child.on('error', (e: NodeJS.ErrnoException) => {
        fail(e.code === 'ENOENT'
          ? new ReproError('E_UNSUPPORTED', `${req.where}: RUN needs the OCI runtime ${runtime} (Debian package runc), which is not on PATH`)
          : new ReproError('E_IO', `${req.where}: cannot start ${runtime}: ${e.message}`));
      });
      child.on('close', (c, sig) => ok(c ?? (sig ? 128 : 1)));
    });
    if (code !== 0) {
      throw new ReproError('E_BAD_INPUT', `${req.where}: ${JSON.stringify(req.argv.join(' ').slice(0, 200))} exited with status ${code}`);
    }
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}
