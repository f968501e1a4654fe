/**
 * Canonical JSON (RFC 8785, the bytes `canonicalBytes` gives) written piece by piece into UTF-8
 * blocks, for documents too big to hold as one object tree and one string (an SBOM of 300,000
 * packages is 150 MB; built whole it was an object per package and relation, then the string,
 * then its bytes, twice over: 1.4 GB). An array may be given as `JsonItems`: its items are made,
 * written and dropped one at a time, in the order given (the caller sorts what has to be sorted).
 *
 * A document whose identity is a hash of its own bytes without that member (SPDX
 * `documentNamespace`, CycloneDX `serialNumber`) is written once, without it, hashed, and the
 * member put in its sorted place as the blocks are assembled (`canonicalWithDigestMember`). Pure.
 */
import { createHash } from 'node:crypto';
import { canonicalize } from './canonical-json.js';

/** An array whose items are produced one at a time, already in their final order. */
export class JsonItems {
  constructor(readonly items: Iterable<unknown>) {}
}

/** Pieces of text gathered into UTF-8 blocks of about `BLOCK` characters. */
const BLOCK = 1 << 16;

class Blocks {
  private parts: string[] = [];
  private chars = 0;
  readonly blocks: Buffer[] = [];
  /** Bytes in `blocks`. */
  bytes = 0;

  write(s: string): void {
    this.parts.push(s);
    this.chars += s.length;
    if (this.chars >= BLOCK) this.flush();
  }

  /** Ends the current block: what was written so far is `bytes` long. Pieces are whole JSON tokens, so no character is split. */
  flush(): void {
    if (this.parts.length === 0) return;
    const b = Buffer.from(this.parts.length === 1 ? this.parts[0]! : this.parts.join(''), 'utf8');
    this.parts = [];
    this.chars = 0;
    this.blocks.push(b);
    this.bytes += b.length;
  }
}

/** Whether a value holds a `JsonItems` anywhere (else it is written by `canonicalize`, as one piece). */
function holdsItems(value: unknown): boolean {
  if (value instanceof JsonItems) return true;
  if (value === null || typeof value !== 'object') return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (holdsItems(v)) return true;
  return false;
}

function write(value: unknown, out: Blocks): void {
  if (!holdsItems(value)) out.write(canonicalize(value));
  else if (value instanceof JsonItems) {
    out.write('[');
    let first = true;
    for (const item of value.items) {
      if (!first) out.write(',');
      first = false;
      write(item, out);
    }
    out.write(']');
  } else if (Array.isArray(value)) {
    out.write('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.write(',');
      write(value[i], out);
    }
    out.write(']');
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // As canonicalize: undefined members left out, keys in UTF-16 code unit order.
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    out.write('{');
    for (let i = 0; i < keys.length; i++) {
      out.write(i > 0 ? `,${JSON.stringify(keys[i])}:` : `${JSON.stringify(keys[i])}:`);
      write(obj[keys[i]!], out);
    }
    out.write('}');
  }
}

/**
 * The canonical bytes of `body` plus one member, `key`, whose value `derive` makes from the
 * SHA-256 of the canonical bytes of `body` alone: the same bytes as
 * `body[key] = derive(sha256(canonicalBytes(body))); canonicalBytes(body)`, with the document
 * written once. Peak memory: about twice the document's bytes (its blocks, then the result).
 */
export function canonicalWithDigestMember(body: Readonly<Record<string, unknown>>, key: string, derive: (sha256: Buffer) => string): Buffer {
  const keys = Object.keys(body).filter((k) => body[k] !== undefined && k !== key);
  keys.push(key);
  keys.sort();
  const out = new Blocks();
  out.write('{');
  let at = -1;
  let before = 0;
  let n = 0;
  for (const k of keys) {
    if (k === key) {
      out.flush();
      at = out.bytes;
      before = n;
      continue;
    }
    out.write(n > 0 ? `,${JSON.stringify(k)}:` : `${JSON.stringify(k)}:`);
    write(body[k], out);
    n++;
  }
  out.write('}');
  out.flush();
  const hash = createHash('sha256');
  for (const b of out.blocks) hash.update(b);
  // Between two members: `,"key":value` after the one before; first of several: `"key":value,`.
  const member = `${before > 0 ? ',' : ''}${JSON.stringify(key)}:${canonicalize(derive(hash.digest()))}${before === 0 && n > 0 ? ',' : ''}`;
  const inserted = Buffer.from(member, 'utf8');
  const result = Buffer.allocUnsafe(out.bytes + inserted.length);
  let pos = 0;
  let read = 0;
  for (let i = 0; i < out.blocks.length; i++) {
    if (read === at) pos += inserted.copy(result, pos);
    const b = out.blocks[i]!;
    pos += b.copy(result, pos);
    read += b.length;
    // Each block is let go once copied (a document of 150 MB need not be held twice over to the end).
    (out.blocks as Array<Buffer | undefined>)[i] = undefined;
  }
  if (read === at) pos += inserted.copy(result, pos);
  return result;
}
