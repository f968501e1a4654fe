/**
 * Disk test helpers: the fixture disk definition (every partition format), running a tool and
 * failing with its output, and copying one partition out of a disk image for tools that want a
 * file system on its own.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { Entry } from '../../src/archive/entry.js';

export const FIXTURE_SEED = '0e9a6fe0-68f6-408c-bbeb-136054d20445';

/** The fixture disk: an ESP (FAT) with /srv, the whole tree as ext4 root, /usr as erofs with verity, a swap area. */
export const FIXTURE_DISK_YAML = `seed: ${FIXTURE_SEED}
partitions:
  - type: esp
    format: vfat
    contents: /srv
  - type: root
    format: ext4
    contents: /
  - type: usr
    format: erofs
    contents: /usr
  - type: usr-verity
    verity: usr-x86-64
  - type: swap
    size: 1M
`;

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', tool]).status === 0;
}

/** Runs a tool; returns stdout (and stderr) and the status. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env }, input: opts.input, maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Copies `size` bytes at `offset` of `from` into a new file `to`. */
export function extract(from: string, offset: number, size: number, to: string): void {
  const a = openSync(from, 'r');
  const b = openSync(to, 'w');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let done = 0; done < size;) {
      const n = readSync(a, buf, 0, Math.min(buf.length, size - done), offset + done);
      if (n === 0) throw new Error('short read');
      writeSync(b, buf, 0, n, done);
      done += n;
    }
  } finally {
    closeSync(a);
    closeSync(b);
  }
}

export const fileEntry = (path: string, data: Buffer | string, extra: Partial<Entry> = {}): Entry => {
  const d = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: d.length, content: { kind: 'bytes', data: d }, ...extra };
};

export const dirEntry = (path: string, extra: Partial<Entry> = {}): Entry => ({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1700000000, size: 0, ...extra });
