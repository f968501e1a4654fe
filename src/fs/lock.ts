/**
 * An advisory lock for writers of one shared place (an OCI layout's index.json), made of plain
 * files so that it works on any local file system and survives `kill -9` without an operator.
 *
 * The lock is a directory of numbered tickets. A writer takes the next number (a hard link of a
 * complete ticket file, which fails if the number is taken), withdraws and tries again if a higher
 * ticket already exists (its listing was stale), and holds the lock once every lower ticket is gone
 * or belongs to a process that no longer exists. Only the holder deletes dead tickets, and only
 * lower ones, whose numbers can never be taken again while its own ticket exists; so no live ticket
 * is ever deleted by someone else, which is where simple "break the stale lock file" schemes fail.
 * A ticket records pid, process start time, boot id, pid namespace and host: a ticket from another
 * host or namespace is never judged dead, only waited for (with a time limit and a message naming it).
 */
import { link, lstat, mkdir, readFile, readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReproError, ioError } from '../model/errors.js';
import { currentOwner as me, ownerAlive, parseOwner } from './owner.js';
import { registerEmptyDir, registerPartial, registerTicket, releaseEmptyDir, releasePartial, releaseTicket } from './scratch.js';

const TICKET = /^[0-9]{16}$/;
const TEMP = /^t-([0-9]+)-([0-9]*)-[0-9a-z]+$/;

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

export interface LockOptions {
  /** How long to wait for a live holder before giving up (default 120 s). */
  waitMs?: number;
  /** Names the locked place in messages. */
  what?: string;
}

async function ensureLockDir(lockDir: string, what: string): Promise<void> {
  for (;;) {
    await mkdir(lockDir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw ioError(e, `${what}: cannot create the lock ${lockDir}`);
    });
    let st;
    try {
      st = await lstat(lockDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // its last holder just removed it
      throw ioError(e, `${what}: cannot use the lock ${lockDir}`);
    }
    if (!st.isDirectory()) throw new ReproError('E_BAD_INPUT', `${what}: ${lockDir} is not a directory (a symlink or a file); refused`);
    return;
  }
}

async function tickets(lockDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(lockDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.filter((n) => TICKET.test(n)).map(Number).sort((a, b) => a - b);
}

const ticketName = (n: number): string => String(n).padStart(16, '0');

/** Takes a ticket: a number higher than every ticket present when it was taken. */
async function takeTicket(lockDir: string, what: string): Promise<number> {
  const owner = me();
  for (;;) {
    await ensureLockDir(lockDir, what);
    const temp = join(lockDir, `t-${owner.pid}-${owner.start}-${Math.random().toString(36).slice(2)}`);
    try {
      registerPartial(temp);
      await writeFile(temp, JSON.stringify(owner), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // the directory was just removed
      throw ioError(e, `${what}: cannot write the lock ${lockDir}`);
    }
    try {
      for (;;) {
        const have = await tickets(lockDir);
        const n = (have.at(-1) ?? 0) + 1;
        try {
          await link(temp, join(lockDir, ticketName(n)));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw ioError(e, `${what}: cannot take the lock ${lockDir}`);
        }
        // Ours now (registered only now: a signal must never remove a ticket of someone else).
        registerTicket(join(lockDir, ticketName(n)));
        // A listing taken before a higher ticket appeared gives a number out of order: withdraw.
        const after = await tickets(lockDir);
        if ((after.at(-1) ?? 0) > n) {
          await unlink(join(lockDir, ticketName(n))).catch(() => {});
          releaseTicket(join(lockDir, ticketName(n)));
          continue;
        }
        return n;
      }
    } finally {
      await unlink(temp).catch(() => {});
      releasePartial(temp);
    }
  }
}

/** Runs `fn` while holding the lock `lockDir` (created as needed; a symlink there is refused). */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const what = opts.what ?? lockDir;
  const waitMs = opts.waitMs ?? 120_000;
  const n = await takeTicket(lockDir, what);
  registerEmptyDir(lockDir);
  const mine = join(lockDir, ticketName(n));
  try {
    const started = Date.now();
    let delay = 2;
    for (;;) {
      let blocker: string | undefined;
      const dead: string[] = [];
      for (const t of await tickets(lockDir)) {
        if (t >= n) break;
        const path = join(lockDir, ticketName(t));
        let text: string;
        try {
          text = await readFile(path, 'utf8');
        } catch {
          continue; // released meanwhile
        }
        const owner = parseOwner(text);
        if (owner && !ownerAlive(owner)) dead.push(path);
        else {
          blocker = owner ? `${path} (pid ${owner.pid} on ${owner.host})` : path;
          break;
        }
      }
      if (blocker === undefined) {
        // Held. Dead lower tickets are ours to remove: their numbers cannot be taken again.
        for (const d of dead) await unlink(d).catch(() => {});
        await removeDeadTemps(lockDir);
        return await fn();
      }
      if (Date.now() - started > waitMs) {
        throw new ReproError('E_IO', `${what}: still locked after ${Math.round(waitMs / 1000)} s by ${blocker}; remove that file if its process is gone`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    await unlink(mine).catch(() => {});
    releaseTicket(mine);
    releaseEmptyDir(lockDir);
    await rmdir(lockDir).catch(() => { /* not empty, or gone: someone else's turn */ });
  }
}

/** Ticket drafts left by killed processes of this host. */
async function removeDeadTemps(lockDir: string): Promise<void> {
  const m = me();
  for (const name of await readdir(lockDir).catch(() => [] as string[])) {
    const t = TEMP.exec(name);
    if (!t) continue;
    if (!ownerAlive({ ...m, pid: Number(t[1]), start: t[2]! })) await unlink(join(lockDir, name)).catch(() => {});
  }
}
