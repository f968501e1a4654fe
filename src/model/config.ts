import { canonicalBytes } from './canonical-json.js';
import { parseDigest, type Digest } from './digest.js';
import { ReproError } from './errors.js';
import { asObject, getArray, getOptString, getString, parseJsonBytes, rawJson, type RawJson } from './json.js';

/** The runtime part of an image config (`config.config`), as the OCI image spec names it. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** `80`, `80/tcp`, `53/udp`, `9/sctp` (1 to 65535): a port as ExposedPorts takes it. */
export const PORT = /^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])(\/(tcp|udp|sctp))?$/;

/** A stop signal: a name (`SIGTERM`, `SIGRTMIN+3`) or a number. */
export const SIGNAL = /^(SIG[A-Z0-9]+([+-][0-9]+)?|[1-9][0-9]?)$/;

/** ExposedPorts for a list of ports: `80` → `80/tcp`, as Docker and buildah record a port without a protocol. */
export function exposedPorts(ports: readonly string[]): Record<string, Record<string, never>> {
  return Object.fromEntries(ports.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]));
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  created?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

/** Parses an image config; unknown fields are kept (the raw bytes are what count). */
export function parseConfig(bytes: Buffer, where: string): RawJson<ImageConfig> {
  const o = asObject(parseJsonBytes(bytes, where), where);
  const rootfs = asObject(o['rootfs'], `${where}.rootfs`);
  if (getString(rootfs, 'type', `${where}.rootfs`) !== 'layers') {
    throw new ReproError('E_BAD_JSON', `${where}.rootfs.type: expected "layers"`);
  }
  const diffIds = getArray(rootfs, 'diff_ids', `${where}.rootfs`).map((d, i) => parseDigest(d, `${where}.rootfs.diff_ids[${i}]`));
  const cfg: ImageConfig = {
    ...o,
    architecture: getString(o, 'architecture', where),
    os: getString(o, 'os', where),
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  getOptString(o, 'created', where);
  return rawJson(bytes, cfg);
}

export function encodeConfig(c: ImageConfig): RawJson<ImageConfig> {
  return rawJson(canonicalBytes(c), c);
}

/** RFC 3339 UTC without fractional seconds, e.g. `2024-03-20T12:42:29Z`. */
export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
