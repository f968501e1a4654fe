/**
 * UUIDs as 16 bytes in the order their text is written (RFC 4122, systemd's sd_id128_t), and the
 * mixed-endian form GPT stores them in (the first three fields little-endian).
 */
import { ReproError } from '../model/errors.js';

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (or the 32 hex digits without dashes). */
export function parseUuid(text: string, where: string): Buffer {
  if (!UUID_RE.test(text)) throw new ReproError('E_BAD_INPUT', `${where}: ${JSON.stringify(text)} is not a UUID (32 hex digits, dashes optional)`);
  return Buffer.from(text.replace(/-/g, ''), 'hex');
}

export function formatUuid(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Marks 16 bytes as a random (version 4, variant 1) UUID, as systemd's id128_make_v4_uuid does. */
export function makeV4(b: Uint8Array): Buffer {
  const out = Buffer.from(b.subarray(0, 16));
  out[6] = (out[6]! & 0x0f) | 0x40;
  out[8] = (out[8]! & 0x3f) | 0x80;
  return out;
}

/** The GPT on-disk form of a UUID: time_low, time_mid, time_hi little-endian, the rest as is. */
export function uuidToGuid(u: Uint8Array): Buffer {
  const g = Buffer.from(u.subarray(0, 16));
  g.writeUInt32LE(Buffer.from(u).readUInt32BE(0), 0);
  g.writeUInt16LE(Buffer.from(u).readUInt16BE(4), 4);
  g.writeUInt16LE(Buffer.from(u).readUInt16BE(6), 6);
  return g;
}

export function guidToUuid(g: Uint8Array): Buffer {
  const b = Buffer.from(g.subarray(0, 16));
  const u = Buffer.from(b);
  u.writeUInt32BE(b.readUInt32LE(0), 0);
  u.writeUInt16BE(b.readUInt16LE(4), 4);
  u.writeUInt16BE(b.readUInt16LE(6), 6);
  return u;
}
