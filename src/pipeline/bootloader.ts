/**
 * The `bootloader: systemd-boot` step of a disk build: systemd-boot from the image
 * (usr/lib/systemd/boot/efi/systemd-boot<arch>.efi) copied into the ESP as EFI/systemd/… and the
 * default EFI/BOOT/BOOT<ARCH>.EFI, a loader.conf, one Boot Loader Specification entry for the
 * image's kernel (boot/vmlinuz-VERSION) with root=PARTUUID of the root partition, the kernel and an
 * initrd of ours (src/disk/initrd.ts) beside it. No random seed is written.
 */
import { readEntryBytes } from '../archive/content.js';
import { parentOf, type Entry } from '../archive/entry.js';
import { ReproError } from '../model/errors.js';
import { cpioNewc, initScript, isStaticElf, moduleOrder, normalizeModule, type CpioFile } from '../disk/initrd.js';
import type { ResolvedPartition } from '../disk/assemble.js';
import { formatUuid } from '../disk/uuid.js';
import type { StepReport } from './steps.js';

/** Modules the initrd loads (with their dependencies): disk controllers and the root file systems. */
const INITRD_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_scsi', 'ahci', 'ata_piix', 'sd_mod', 'nvme', 'crc32c_generic', 'ext4', 'erofs'];

export interface BootloaderResult {
  kernel: string;
  entry: string;
  initrdBytes: number;
  report: StepReport;
}

function find(entries: Map<string, Entry>, paths: string[]): Entry | undefined {
  for (const p of paths) {
    const e = entries.get(p);
    if (e && e.type === 'file') return e;
  }
  return undefined;
}

/** Adds systemd-boot, the loader entry, the kernel and the initrd under the ESP's contents directory. */
export function installSystemdBoot(entries: Map<string, Entry>, partitions: ResolvedPartition[], opts: { sourceDateEpoch: number; architecture: string; kernelCommandLine?: string; where: string }): BootloaderResult {
  const where = `${opts.where}: bootloader`;
  const esp = partitions.find((p) => p.input.kind === 'esp');
  if (!esp || esp.input.format !== 'vfat' || esp.input.contents === undefined) {
    throw new ReproError('E_SPEC', `${where}: systemd-boot needs an esp partition with format vfat and contents (e.g. /efi)`);
  }
  const root = partitions.find((p) => p.input.kind === 'root');
  if (!root || (root.input.format !== 'ext4' && root.input.format !== 'erofs')) throw new ReproError('E_SPEC', `${where}: systemd-boot needs a root partition with an ext4 or erofs file system`);
  if (root.protectedBy !== undefined) throw new ReproError('E_UNSUPPORTED', `${where}: a verity-protected root is not booted by our initrd (it does not set up dm-verity)`);
  const efiArch = opts.architecture === 'arm64' || opts.architecture === 'aarch64' ? 'aa64' : 'x64';
  const boot = find(entries, [`usr/lib/systemd/boot/efi/systemd-boot${efiArch}.efi`, `lib/systemd/boot/efi/systemd-boot${efiArch}.efi`]);
  if (!boot) throw new ReproError('E_SPEC', `${where}: the image has no usr/lib/systemd/boot/efi/systemd-boot${efiArch}.efi (add the package systemd-boot-efi)`);
  const kernels = [...entries.values()].filter((e) => e.type === 'file' && /^boot\/vmlinuz-[^/]+$/.test(e.path)).map((e) => e.path).sort();
  if (kernels.length !== 1) throw new ReproError('E_SPEC', `${where}: expected one kernel boot/vmlinuz-VERSION in the image, found ${kernels.length === 0 ? 'none' : kernels.join(', ')}`);
  const kernel = entries.get(kernels[0]!)!;
  const version = kernels[0]!.slice('boot/vmlinuz-'.length);
  const busybox = find(entries, ['usr/bin/busybox', 'bin/busybox']);
  const busyboxBytes = busybox ? readEntryBytes(busybox) : undefined;
  if (!busyboxBytes || !isStaticElf(busyboxBytes)) throw new ReproError('E_SPEC', `${where}: the initrd needs a statically linked busybox in the image (add the package busybox-static)`);

  // Kernel modules of this version, by normalized name.
  const available = new Map<string, Buffer>();
  const lookup = new Map<string, Entry>();
  for (const prefix of [`usr/lib/modules/${version}/`, `lib/modules/${version}/`]) {
    for (const e of entries.values()) {
      if (e.type === 'file' && e.path.startsWith(prefix) && e.path.endsWith('.ko')) {
        const name = normalizeModule(e.path.slice(e.path.lastIndexOf('/') + 1, -3));
        if (!lookup.has(name)) lookup.set(name, e);
      }
    }
  }
  const modules = moduleOrder(INITRD_MODULES, (name) => {
    if (!available.has(name)) {
      const e = lookup.get(name);
      if (!e) return undefined;
      available.set(name, readEntryBytes(e));
    }
    return available.get(name);
  });
  const fsModule = root.input.format === 'ext4' ? 'ext4' : 'erofs';
  if (!modules.includes(fsModule) && lookup.size > 0) throw new ReproError('E_SPEC', `${where}: no ${fsModule} module for kernel ${version}`);

  const fsParts = partitions.filter((p) => p.input.format === 'ext4' || p.input.format === 'erofs' || p.input.format === 'vfat');
  const init = initScript({
    partitions: fsParts.map((p) => ({ partuuid: formatUuid(p.seedUuid), number: p.number, fstype: p.input.format })),
    modules,
  });
  const files: CpioFile[] = [
    { path: 'bin', mode: 0o040755 },
    { path: 'bin/busybox', mode: 0o100755, data: busyboxBytes },
    { path: 'dev', mode: 0o040755 },
    { path: 'dev/console', mode: 0o020600, rdevmajor: 5, rdevminor: 1 },
    { path: 'init', mode: 0o100755, data: Buffer.from(init, 'utf8') },
    { path: 'lib', mode: 0o040755 },
    { path: 'lib/modules', mode: 0o040755 },
    ...modules.map((m) => ({ path: `lib/modules/${m}.ko`, mode: 0o100644, data: available.get(m)! })),
    { path: 'newroot', mode: 0o040755 },
    { path: 'proc', mode: 0o040755 },
    { path: 'sys', mode: 0o040755 },
  ];
  const initrd = cpioNewc(files, Math.max(0, opts.sourceDateEpoch));

  const osRelease = find(entries, ['etc/os-release', 'usr/lib/os-release']);
  const pretty = osRelease ? /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readEntryBytes(osRelease).toString('utf8'))?.[1] : undefined;
  const espDir = esp.input.contents;
  const at = (p: string): string => (espDir === '' ? p : `${espDir}/${p}`);
  const sde = opts.sourceDateEpoch;
  const added: string[] = [];
  const dir = (p: string): void => {
    for (let d = p; d !== '' && !entries.has(d); d = parentOf(d)) {
      entries.set(d, { path: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: sde, size: 0 });
    }
  };
  const file = (p: string, content: Entry['content'] & object, size: number): void => {
    const path = at(p);
    const existing = entries.get(path);
    if (existing && existing.type !== 'file') throw new ReproError('E_SPEC', `${where}: /${path} exists and is a ${existing.type}`);
    dir(parentOf(path));
    entries.set(path, { path, type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: sde, size, content });
    added.push(path);
  };
  const bytes = (p: string, text: string): void => {
    const data = Buffer.from(text, 'utf8');
    file(p, { kind: 'bytes', data }, data.length);
  };
  const ref = (e: Entry): Entry['content'] & object => {
    if (!e.content) throw new ReproError('E_IO', `${where}: /${e.path} has no content`);
    return e.content;
  };
  const bootName = efiArch === 'x64' ? 'BOOTX64.EFI' : 'BOOTAA64.EFI';
  file(`EFI/BOOT/${bootName}`, ref(boot), boot.size);
  file(`EFI/systemd/systemd-boot${efiArch}.efi`, ref(boot), boot.size);
  const id = `repro-${version}`;
  bytes('loader/loader.conf', `default ${id}.conf\ntimeout 0\n`);
  const options = `root=PARTUUID=${formatUuid(root.seedUuid)} ro${opts.kernelCommandLine ? ` ${opts.kernelCommandLine}` : ''}`;
  const entry = `title ${pretty ?? 'Linux'}\nversion ${version}\nlinux /${id}/linux\ninitrd /${id}/initrd\noptions ${options}\n`;
  bytes(`loader/entries/${id}.conf`, entry);
  file(`${id}/linux`, ref(kernel), kernel.size);
  file(`${id}/initrd`, { kind: 'bytes', data: initrd }, initrd.length);
  return {
    kernel: version, entry, initrdBytes: initrd.length,
    report: { name: 'systemd-boot', changed: added.length, examples: added.slice(0, 10) },
  };
}
