/**
 * Partition types of the Discoverable Partitions Specification (uapi-group.org), with the names
 * systemd uses for them (gpt.c's table: the default partition label systemd-repart gives), and
 * the GPT attribute flags systemd-repart sets by default.
 */
import { ReproError } from '../model/errors.js';
import { parseUuid } from './uuid.js';

export type PartitionKind = 'esp' | 'xbootldr' | 'root' | 'usr' | 'root-verity' | 'usr-verity' | 'swap' | 'home' | 'srv' | 'var' | 'tmp' | 'linux-generic';

export const PARTITION_KINDS: readonly PartitionKind[] = ['esp', 'xbootldr', 'root', 'usr', 'root-verity', 'usr-verity', 'swap', 'home', 'srv', 'var', 'tmp', 'linux-generic'];

/** DPS architecture name (as in `root-x86-64`) → root, root-verity, usr, usr-verity type UUIDs. */
const ARCH_TYPES: Record<string, { root: string; rootVerity: string; usr: string; usrVerity: string }> = {
  'x86-64': {
    root: '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
    rootVerity: '2c7357ed-ebd2-46d9-aec1-23d437ec2bf5',
    usr: '8484680c-9521-48c6-9c11-b0720656f69e',
    usrVerity: '77ff5f63-e7b6-4633-acf4-1565b864c0e6',
  },
  arm64: {
    root: 'b921b045-1df0-41c3-af44-4c6f280d3fae',
    rootVerity: 'df3300ce-d69f-4c92-978c-9bfb0f38d820',
    usr: 'b0e01050-ee5f-4390-949a-9101b17104e9',
    usrVerity: '6e11a4e7-fbca-4ded-b9e9-e1a512bb664e',
  },
};

const FIXED_TYPES: Record<string, string> = {
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  swap: '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
  home: '933ac7e1-2eb4-4f13-b844-0e14e2aef915',
  srv: '3b8f8425-20e0-4f3b-907f-1a25a76f98e8',
  var: '4d21b016-b534-45c2-a9fb-5c16e091fd2d',
  tmp: '7ec6f557-3bc5-4aca-b293-16ef5df639d1',
  'linux-generic': '0fc63daf-8483-4772-8e79-3d69d8477de4',
};

/** Debian/OCI architecture names → the DPS's (systemd accepts amd64 and aarch64 as aliases). */
const ARCH_ALIASES: Record<string, string> = { amd64: 'x86-64', x86_64: 'x86-64', 'x86-64': 'x86-64', arm64: 'arm64', aarch64: 'arm64' };

export const GPT_FLAG_GROWFS = 1n << 59n;
export const GPT_FLAG_READ_ONLY = 1n << 60n;

export interface PartitionType {
  kind: PartitionKind;
  /** 16 bytes, text order. */
  uuid: Buffer;
  /** systemd's name: the default GPT label (`root-x86-64`, `esp`, …). */
  name: string;
}

export function dpsArchitecture(arch: string): string {
  const a = ARCH_ALIASES[arch];
  if (!a) throw new ReproError('E_SPEC', `architecture ${arch}: no Discoverable Partitions types known for it (x86-64 and arm64 are)`);
  return a;
}

export function partitionType(kind: PartitionKind, architecture: string): PartitionType {
  const fixed = FIXED_TYPES[kind];
  if (fixed) return { kind, uuid: parseUuid(fixed, kind), name: kind };
  const arch = dpsArchitecture(architecture);
  const t = ARCH_TYPES[arch]!;
  const uuid = kind === 'root' ? t.root : kind === 'root-verity' ? t.rootVerity : kind === 'usr' ? t.usr : t.usrVerity;
  const name = kind === 'root' ? `root-${arch}` : kind === 'root-verity' ? `root-${arch}-verity` : kind === 'usr' ? `usr-${arch}` : `usr-${arch}-verity`;
  return { kind, uuid: parseUuid(uuid, kind), name };
}

/** systemd's name of a type UUID, if it is one we know. */
export function typeName(uuid: Uint8Array): string | undefined {
  const hex = Buffer.from(uuid).toString('hex');
  for (const [kind, u] of Object.entries(FIXED_TYPES)) if (u.replace(/-/g, '') === hex) return kind;
  for (const [arch, t] of Object.entries(ARCH_TYPES)) {
    const names: Array<[string, string]> = [[t.root, `root-${arch}`], [t.rootVerity, `root-${arch}-verity`], [t.usr, `usr-${arch}`], [t.usrVerity, `usr-${arch}-verity`]];
    for (const [u, n] of names) if (u.replace(/-/g, '') === hex) return n;
  }
  return undefined;
}

/**
 * The GPT attribute bits systemd-repart sets unless told otherwise: read-only for verity hash
 * partitions and for data partitions a verity partition protects; grow-file-system for root,
 * usr, home, srv, var, tmp and xbootldr partitions that are not read-only.
 */
export function defaultFlags(kind: PartitionKind, isVerityData: boolean, overrides: { readOnly?: boolean; growFileSystem?: boolean }): bigint {
  const knowsReadOnly = ['root', 'usr', 'root-verity', 'usr-verity', 'home', 'srv', 'var', 'tmp', 'xbootldr'].includes(kind);
  const knowsGrowfs = ['root', 'usr', 'home', 'srv', 'var', 'tmp', 'xbootldr'].includes(kind);
  const readOnly = overrides.readOnly ?? ((kind === 'root-verity' || kind === 'usr-verity' || isVerityData) ? true : undefined);
  let flags = 0n;
  if (readOnly !== undefined && knowsReadOnly && readOnly) flags |= GPT_FLAG_READ_ONLY;
  const growfs = overrides.growFileSystem ?? (knowsGrowfs && readOnly !== true ? true : undefined);
  if (growfs !== undefined && knowsGrowfs && growfs) flags |= GPT_FLAG_GROWFS;
  return flags;
}
