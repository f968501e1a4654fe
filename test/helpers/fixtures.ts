/**
 * Test fixtures made by code: a root filesystem that holds every entry type and every header
 * corner case, created in a chosen order so that tests can perturb creation order.
 */
import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as xattr from 'fs-xattr';
import { probeInput } from '../../src/archive/gzip.js';

export const FIXTURE_EPOCH = 1700000000;
const OLD = 1000000000; // below FIXTURE_EPOCH: kept as is
const PRE_1970 = -86400 * 365; // a time before the epoch

/** cap_net_bind_service=+ep as a VFS_CAP_REVISION_2 security.capability value. */
export const CAP_NET_BIND_SERVICE = Buffer.from('0000000202040000000000000000000000000000', 'hex');

const LONG_DIR = 'd'.repeat(60);
const LONG_120 = `${LONG_DIR}/${'n'.repeat(59)}`; // 120 bytes: needs the ustar prefix
const LONG_300 = `${LONG_DIR}/${'x'.repeat(239)}`; // 300 bytes: needs a pax path

type Step = () => void;

export interface FixtureOptions {
  reverse?: boolean;
  /** Add a unix socket (skipped by build with a warning). */
  socket?: boolean;
}

/** Creates the fixture tree under `dir` (removed first). Needs root for devices, owners, xattrs. */
export async function makeFixture(dir: string, opts: FixtureOptions = {}): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const p = (s: string): string => join(dir, s);
  const dirs = ['etc', 'usr', 'usr/bin', 'usr/lib', 'empty', 'var', 'var/lib', 'var/lib/systemd', 'var/cache',
    'var/cache/ldconfig', 'tmp', 'srv', 'srv/ünïcödé', 'srv/日本語', LONG_DIR, 'owners'];
  const files: Array<[string, string | Buffer, number]> = [
    ['etc/hostname', 'fixture\n', 0o644],
    ['etc/empty-file', '', 0o600],
    ['etc/machine-id', '0123456789abcdef0123456789abcdef\n', 0o444],
    ['usr/bin/tool', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 255, 254]), 0o755],
    ['usr/bin/suid', 'setuid\n', 0o4755],
    ['usr/bin/sgid', 'setgid\n', 0o2755],
    ['usr/bin/capable', 'has a capability\n', 0o755],
    ['usr/lib/big.bin', Buffer.alloc(3 << 20, 'repro-image fixture block '), 0o644],
    // Text, repeats at many distances and noise, like a shared library: content on which deflate
    // implementations differ (Node's zlib on s390x gives other bytes than the reference here).
    ['usr/lib/libmixed.so.1', probeInput(160 << 10), 0o644],
    ['var/lib/systemd/random-seed', 'random seed bytes', 0o600],
    ['var/cache/ldconfig/aux-cache', 'aux cache', 0o600],
    [`${LONG_120}`, 'name over 100 bytes\n', 0o644],
    [`${LONG_300}`, 'name over 255 bytes\n', 0o644],
    ['srv/ünïcödé/fïlé.txt', 'non-ASCII name\n', 0o644],
    ['srv/日本語/ファイル', 'non-ASCII name\n', 0o644],
    ['srv/emoji-😀', 'astral plane name\n', 0o644],
    ['owners/big-ids', 'uid and gid above 2097151\n', 0o640],
    ['owners/nobody', 'owned by 65534\n', 0o644],
    ['old-file', 'older than SOURCE_DATE_EPOCH\n', 0o644],
    ['pre-1970', 'dated before 1970\n', 0o644],
  ];
  const steps: Step[] = [];
  for (const d of dirs) steps.push(() => mkdirSync(p(d), { recursive: true }));
  for (const [f, data, mode] of files) steps.push(() => { writeFileSync(p(f), data); chmodSync(p(f), mode); });
  const creates: Step[] = [
    () => linkSync(p('usr/bin/tool'), p('usr/bin/tool-hardlink')),
    () => linkSync(p('usr/bin/tool'), p('etc/a-hardlink-sorted-first')),
    () => symlinkSync('usr/lib', p('lib')),
    () => symlinkSync('/usr/bin/tool', p('etc/absolute-link')),
    () => symlinkSync(`../${LONG_300}`, p('etc/long-link-target')),
    () => execFileSync('mknod', [p('etc/null'), 'c', '1', '3']),
    () => execFileSync('mknod', [p('etc/loop0'), 'b', '7', '0']),
    () => execFileSync('mkfifo', [p('etc/fifo')]),
  ];
  const attributes: Step[] = [
    () => chmodSync(p('etc/null'), 0o666),
    () => chmodSync(p('etc/loop0'), 0o660),
    () => chmodSync(p('etc/fifo'), 0o644),
    () => chmodSync(p('tmp'), 0o1777),
    () => chmodSync(p('empty'), 0o700),
    () => chownSync(p('owners/big-ids'), 3000000, 4000000),
    () => chownSync(p('owners/nobody'), 65534, 65534),
    () => xattr.setAttributeSync(p('usr/bin/capable'), 'security.capability', CAP_NET_BIND_SERVICE),
    () => xattr.setAttributeSync(p('etc/hostname'), 'user.origin', 'fixture'),
  ];
  // Directories come first and attributes last; within each group the order is the test's choice.
  const mkdirs = steps.slice(0, dirs.length);
  const writes = [...steps.slice(dirs.length), ...creates];
  const ordered = opts.reverse
    ? [...mkdirs, ...steps.slice(dirs.length).reverse(), ...creates.reverse(), ...attributes.reverse()]
    : [...mkdirs, ...writes, ...attributes];
  for (const s of ordered) s();
  if (opts.socket) {
    // bind() leaves a socket file behind when the process exits.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p('srv/socket')]);
  }
  utimesSync(p('old-file'), OLD, OLD);
  // Node's utimes treats negative times as 'now': use touch for a time before 1970.
  execFileSync('touch', ['-h', '-d', `@${PRE_1970}`, p('pre-1970')]);
  utimesSync(p('srv/日本語'), OLD, OLD);
}
