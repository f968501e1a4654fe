/**
 * Debian's podman (4.3 on bookworm) with a private store for one test file: vfs driver, its own
 * root under a temporary directory and its own run root (in /run where it can be made there:
 * podman refuses a run root path of more than 50 characters, which a long TMPDIR gives), never
 * the host's store. Containers run with runc (crun does not work on this machine), cgroupfs, no
 * events, and rlimits the machine grants.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestStore {
  root: string;
  runRoot: string;
  /** `containers-storage:[vfs@ROOT+RUNROOT]NAME` */
  ref(name: string): string;
  /** Runs podman against this store; fails the test with podman's stderr on a non-zero exit. */
  podman(args: string[], opts?: { input?: Buffer; allowFail?: boolean }): { status: number; stdout: string; stderr: string };
  /** `podman run --rm` of an image, as this machine allows it. */
  run(image: string): { status: number; stdout: string; stderr: string };
  remove(): void;
}

export function requirePodman(): void {
  if (!existsSync('/usr/bin/podman')) throw new Error('/usr/bin/podman is missing: these tests need the Debian package podman (.ci/run installs it: apt-get install podman)');
}

export function testStore(): TestStore {
  requirePodman();
  const dir = mkdtempSync(join(tmpdir(), 'repro-podman-'));
  const root = join(dir, 'root');
  let runRoot: string;
  try {
    runRoot = mkdtempSync('/run/repro-podman-');
  } catch {
    runRoot = join(dir, 'run');
  }
  const base = ['--root', root, '--runroot', runRoot, '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', '--runtime', 'runc'];
  const podman: TestStore['podman'] = (args, opts = {}) => {
    const r = spawnSync('podman', [...base, ...args], { encoding: 'utf8', input: opts.input, timeout: 120_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
    const out = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (!opts.allowFail && out.status !== 0) throw new Error(`podman ${args.join(' ')} (exit ${out.status}): ${out.stderr}`);
    return out;
  };
  return {
    root,
    runRoot,
    ref: (name) => `containers-storage:[vfs@${root}+${runRoot}]${name}`,
    podman,
    // podman's default rlimits (nofile 1048576) are above what this machine lets a process raise.
    run: (image) => podman(['run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', image], { allowFail: true }),
    remove() {
      podman(['rm', '--all', '--force'], { allowFail: true });
      podman(['rmi', '--all', '--force'], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
      rmSync(runRoot, { recursive: true, force: true });
    },
  };
}
