import { createHash } from 'node:crypto';
import { ReproError } from './errors.js';

/** An OCI digest string, `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return SHA256_RE.test(s);
}

export function parseDigest(s: unknown, where: string): Digest {
  if (typeof s !== 'string' || !SHA256_RE.test(s)) {
    const shown = typeof s === 'string' ? JSON.stringify(s.slice(0, 80)) : typeof s;
    throw new ReproError('E_BAD_DIGEST', `${where}: not a sha256 digest: ${shown}`);
  }
  return s as Digest;
}

export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}
