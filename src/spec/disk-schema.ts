/**
 * The `disk:` section of an image spec (and of a `--disk` file for root filesystem builds): the
 * seed every identifier on the disk comes from, the sector size, the partitions in table order,
 * and optionally a boot loader. docs/disk.md explains each field.
 */
import { z } from 'zod';

const SIZE = /^[1-9][0-9]*([KMGT]i?B?|)$/;

export const partitionSpec = z.strictObject({
  type: z.enum(['esp', 'xbootldr', 'root', 'usr', 'root-verity', 'usr-verity', 'swap', 'home', 'srv', 'var', 'tmp', 'linux-generic'])
    .describe('A Discoverable Partitions Specification type; root and usr types follow the architecture'),
  label: z.string().min(1).max(36).optional().describe("GPT label (default: systemd's name of the type, as systemd-repart gives it)"),
  size: z.union([z.literal('minimize'), z.string().regex(SIZE, 'a size such as 512M, 1G or 1048576'), z.number().int().positive()]).default('minimize')
    .describe('Bytes (K, M, G, T suffixes are powers of 1024), or minimize: just big enough for the content'),
  format: z.enum(['ext4', 'erofs', 'vfat', 'none']).optional().describe('The file system (default: none; verity partitions hold their hash tree)'),
  contents: z.string().startsWith('/').optional().describe('The directory of the image tree this file system holds ("/" for all of it); absent: an empty file system'),
  exclude: z.array(z.string().startsWith('/')).default([]).describe('Directories of the contents left empty (they are mount points of other partitions automatically)'),
  verity: z.string().min(1).optional().describe('For root-verity and usr-verity: the label of the data partition it protects'),
  readOnly: z.boolean().optional().describe('GPT read-only flag (default as systemd-repart: on for verity data and hash partitions)'),
  growFileSystem: z.boolean().optional().describe('GPT grow-file-system flag (default as systemd-repart: on for writable root, usr, home, srv, var, tmp, xbootldr)'),
});

export const diskSpec = z.strictObject({
  seed: z.string().regex(/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/, 'a UUID')
    .describe('The UUID every GUID, UUID, salt and hash seed on the disk is derived from (as systemd-repart --seed)'),
  sectorSize: z.union([z.literal(512), z.literal(4096)]).default(512),
  architecture: z.string().regex(/^[a-z0-9_-]+$/).optional().describe('For root/usr partition types (default: the spec source\'s architecture, else x86-64)'),
  partitions: z.array(partitionSpec).min(1).max(128),
  bootloader: z.enum(['systemd-boot']).optional()
    .describe('Install systemd-boot from the image (usr/lib/systemd/boot/efi) into the ESP with a loader entry and an initrd for the image\'s kernel'),
  kernelCommandLine: z.string().optional().describe('Added to the loader entry\'s options after root=PARTUUID=… ro'),
});

export type DiskSpec = z.output<typeof diskSpec>;
export type PartitionSpec = z.output<typeof partitionSpec>;
