/**
 * A small initrd for booting a Debian kernel from our disks: an uncompressed cpio (newc) archive
 * holding a static busybox, the kernel modules the root device and file system need (with their
 * dependencies, read from each module's .modinfo) and an /init script that loads them, finds the
 * root partition (by the PARTUUID on the kernel command line, mapped at build time to its
 * partition number) and switches to it. Every byte is fixed: inode numbers in order, owners 0,
 * times SOURCE_DATE_EPOCH.
 */
import { ReproError } from '../model/errors.js';

export interface CpioFile {
  path: string;
  mode: number; // with type bits
  data?: Buffer;
  rdevmajor?: number;
  rdevminor?: number;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** An uncompressed newc archive of `files` (in the order given), ending with the trailer. */
export function cpioNewc(files: CpioFile[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (f: CpioFile, i: number): void => {
    const name = Buffer.from(`${f.path}\0`, 'utf8');
    const size = f.data?.length ?? 0;
    const isDir = (f.mode & 0o170000) === 0o040000;
    const header = `070701${hex8(i)}${hex8(f.mode)}${hex8(0)}${hex8(0)}${hex8(isDir ? 2 : 1)}${hex8(mtime)}${hex8(size)}${hex8(0)}${hex8(0)}${hex8(f.rdevmajor ?? 0)}${hex8(f.rdevminor ?? 0)}${hex8(name.length)}${hex8(0)}`;
    parts.push(Buffer.from(header, 'latin1'), name, pad(110 + name.length));
    if (f.data) parts.push(f.data, pad(size));
  };
  for (const f of files) add(f, ino++);
  add({ path: 'TRAILER!!!', mode: 0 }, 0);
  const out = Buffer.concat(parts);
  return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
}

/** The .modinfo strings of an ELF64 little-endian kernel module. */
export function modinfo(ko: Buffer, where: string): Map<string, string> {
  const bad = (): never => {
    throw new ReproError('E_BAD_INPUT', `${where}: not an ELF64 kernel module`);
  };
  if (ko.length < 64 || ko.readUInt32BE(0) !== 0x7f454c46 || ko[4] !== 2 || ko[5] !== 1) bad();
  const shoff = Number(ko.readBigUInt64LE(0x28));
  const shentsize = ko.readUInt16LE(0x3a);
  const shnum = ko.readUInt16LE(0x3c);
  const shstrndx = ko.readUInt16LE(0x3e);
  if (shentsize < 64 || shoff + shnum * shentsize > ko.length || shstrndx >= shnum) bad();
  const sh = (i: number): { name: number; offset: number; size: number } => {
    const o = shoff + i * shentsize;
    return { name: ko.readUInt32LE(o), offset: Number(ko.readBigUInt64LE(o + 0x18)), size: Number(ko.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  if (strtab.offset + strtab.size > ko.length) bad();
  const out = new Map<string, string>();
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    const nameEnd = ko.indexOf(0, strtab.offset + s.name);
    if (ko.subarray(strtab.offset + s.name, nameEnd).toString('latin1') !== '.modinfo') continue;
    if (s.offset + s.size > ko.length) bad();
    for (const kv of ko.subarray(s.offset, s.offset + s.size).toString('utf8').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && !out.has(kv.slice(0, eq))) out.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  }
  return out;
}

export const normalizeModule = (name: string): string => name.replace(/-/g, '_');

/**
 * The modules to load, dependencies first: `wanted` and everything they depend on, among
 * `available` (normalized name → its bytes, read when asked). Wanted modules that are missing (built in, or not
 * shipped) are skipped.
 */
export function moduleOrder(wanted: string[], available: (name: string) => Buffer | undefined): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    const n = normalizeModule(name);
    if (state.get(n) === 'done' || state.get(n) === 'visiting') return;
    const ko = available(n);
    if (!ko) return;
    state.set(n, 'visiting');
    const deps = modinfo(ko, n).get('depends') ?? '';
    for (const d of deps.split(',').filter((x) => x !== '').sort()) visit(d);
    state.set(n, 'done');
    order.push(n);
  };
  for (const w of wanted) visit(w);
  return order;
}

export interface InitOptions {
  /** PARTUUID (lower case) → partition number and file system type, for every file system on the disk. */
  partitions: Array<{ partuuid: string; number: number; fstype: string }>;
  modules: string[];
}

/** The /init script. */
export function initScript(o: InitOptions): string {
  const cases = o.partitions.map((p) => `    PARTUUID=${p.partuuid}|PARTUUID=${p.partuuid.toUpperCase()}) num=${p.number}; fstype=${p.fstype} ;;`).join('\n');
  return `#!/bin/busybox sh
# Made by repro-image: load the modules the root device needs, find root=, switch to it.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${o.modules.join(' ')}; do
  insmod /lib/modules/$m.ko || echo "initrd: cannot load $m"
done
root=
rootflags=ro
for x in $(cat /proc/cmdline); do
  case $x in
    root=*) root=\${x#root=} ;;
    rw) rootflags=rw ;;
  esac
done
num=
fstype=
case $root in
${cases}
  *) echo "initrd: root=$root is not a partition of this disk"; exec sh ;;
esac
dev=
i=0
while [ -z "$dev" ] && [ $i -lt 300 ]; do
  for p in /sys/class/block/*; do
    if [ "$(cat $p/partition 2>/dev/null)" = "$num" ]; then dev=/dev/\${p##*/}; break; fi
  done
  [ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$dev" ] || { echo "initrd: no partition $num appeared"; exec sh; }
mkdir -p /newroot
mount -t $fstype -o $rootflags $dev /newroot || { echo "initrd: cannot mount $dev"; exec sh; }
umount /proc
umount /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
`;
}

/** True when an ELF executable has no program interpreter (is statically linked). */
export function isStaticElf(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + 4 > b.length) return false;
    if (b.readUInt32LE(o) === 3) return false; // PT_INTERP
  }
  return true;
}
