/**
 * Who owns a lock ticket, a scratch directory or a temporary file, and whether that owner is gone.
 *
 * An owner is a process: pid, its start time (field 22 of /proc/PID/stat, so that a reused pid is
 * not mistaken for it), the boot id, the pid namespace and the host. A process of this host, boot
 * and pid namespace is judged from /proc; any other is never judged dead (we cannot see it), only
 * waited for or left alone. The same record, shortened, is written into temporary names
 * (`ownerTag`), so a later run can judge a file left by a killed process from its name alone.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Owner {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot), '' where there is no /proc. */
  start: string;
  boot: string;
  ns: string;
  host: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function startTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? '';
}

let self: Owner | undefined;
/** This process. */
export function currentOwner(): Owner {
  if (!self) {
    let ns = '';
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch { /* no /proc */ }
    self = {
      pid: process.pid,
      start: startTime(process.pid) ?? '',
      boot: readOr('/proc/sys/kernel/random/boot_id', ''),
      ns,
      host: hostname(),
    };
  }
  return self;
}

/** False only when `o` certainly names a process that no longer exists. */
export function ownerAlive(o: Owner): boolean {
  const m = currentOwner();
  if (o.host !== m.host || o.boot !== m.boot || o.ns !== m.ns) return true; // cannot tell from here
  if (m.start !== '') {
    const s = startTime(o.pid);
    return s !== undefined && s === o.start;
  }
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function parseOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (typeof o.pid === 'number' && typeof o.start === 'string' && typeof o.boot === 'string' && typeof o.ns === 'string' && typeof o.host === 'string') {
      return o as Owner;
    }
  } catch { /* below */ }
  return undefined;
}

const bootShort = (boot: string): string => boot.replace(/-/g, '').slice(0, 16);
const nsNumber = (ns: string): string => /\[([0-9]+)\]/.exec(ns)?.[1] ?? '';

/**
 * This process as a file-name fragment: `PID-START-BOOT-NS` (boot id: its first 16 hex digits; pid
 * namespace: its inode number). `OWNER_TAG` matches one.
 */
export function ownerTag(): string {
  const m = currentOwner();
  return `${m.pid}-${m.start}-${bootShort(m.boot)}-${nsNumber(m.ns)}`;
}

/** The source of a regular expression matching an owner tag, with 4 groups: pid, start, boot, ns. */
export const OWNER_TAG = '([0-9]+)-([0-9]*)-([0-9a-f]*)-([0-9]*)';

/**
 * False only when the owner named by a tag's parts certainly no longer exists: it is of this boot
 * and pid namespace (known from /proc) and its pid is gone or is another process now.
 */
export function tagAlive(pid: string, start: string, boot: string, ns: string): boolean {
  const m = currentOwner();
  if (m.boot === '' || m.start === '' || m.ns === '') return true; // no /proc: cannot judge a name
  if (boot !== bootShort(m.boot) || ns !== nsNumber(m.ns)) return true;
  return ownerAlive({ ...m, pid: Number(pid), start });
}
