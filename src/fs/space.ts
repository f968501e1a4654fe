/**
 * Free space on the file system that will hold some bytes, checked before they are written: a
 * declared size that cannot fit fails at once, naming the place and the numbers, instead of
 * filling the disk. (A write that still meets ENOSPC, because something else filled the disk
 * meanwhile, fails there and its temporary file is removed by the writer.)
 */
import { statfs } from 'node:fs/promises';
import { ReproError } from '../model/errors.js';

/** Bytes that an unprivileged writer may still use on the file system of `dir`, or undefined. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined; // not knowable here (an odd file system): the writes will tell
  }
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** Fails with E_IO when `bytes` more cannot fit on the file system of `dir`. */
export async function ensureFreeSpace(dir: string, bytes: number, what: string): Promise<void> {
  if (bytes <= 0) return;
  const free = await freeBytes(dir);
  if (free !== undefined && bytes > free) {
    throw new ReproError('E_IO', `${what} needs ${formatBytes(bytes)}, and only ${formatBytes(free)} are free there`);
  }
}
