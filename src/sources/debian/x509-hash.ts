/**
 * OpenSSL's certificate subject hash (`openssl x509 -subject_hash`, the name of the `HASH.0` links
 * in /etc/ssl/certs): the first four bytes, little-endian, of the SHA-1 of the subject's canonical
 * encoding (x509_name_canon): every string value re-encoded as UTF8String, leading and trailing
 * white space dropped, inner runs collapsed to one space, ASCII lower-cased; the RDN SETs
 * concatenated without the outer SEQUENCE. Pure.
 */
import { ReproError } from '../../model/errors.js';
import { createHash } from 'node:crypto';

interface Tlv {
  tag: number;
  /** Start of the whole TLV and of its value, end of the value. */
  start: number;
  body: number;
  end: number;
}

function readTlv(der: Buffer, pos: number): Tlv {
  const tag = der[pos];
  let len = der[pos + 1];
  if (tag === undefined || len === undefined) throw new ReproError('E_BAD_INPUT', `DER: truncated at ${pos}`);
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new ReproError('E_BAD_INPUT', `DER: bad length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > der.length) throw new ReproError('E_BAD_INPUT', `DER: value past the end at ${pos}`);
  return { tag, start: pos, body, end };
}

function children(der: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.body; p < t.end;) {
    const c = readTlv(der, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);

// UTF8String, PrintableString, T61String, IA5String, VisibleString, UniversalString, BMPString.
const CANON_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e]);
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function toUtf8(tag: number, v: Buffer): Buffer {
  if (tag === 0x0c) return v;
  if (tag === 0x1e) { // BMPString: UCS-2 big-endian
    let s = '';
    for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode(v.readUInt16BE(i));
    return Buffer.from(s, 'utf8');
  }
  if (tag === 0x1c) { // UniversalString: UCS-4 big-endian
    let s = '';
    for (let i = 0; i + 3 < v.length; i += 4) s += String.fromCodePoint(v.readUInt32BE(i));
    return Buffer.from(s, 'utf8');
  }
  return Buffer.from(v.toString('latin1'), 'utf8'); // one byte per character
}

function canonValue(tag: number, v: Buffer): Buffer {
  const u = toUtf8(tag, v);
  let a = 0;
  let b = u.length;
  while (a < b && isSpace(u[a]!)) a++;
  while (b > a && isSpace(u[b - 1]!)) b--;
  const out: number[] = [];
  for (let i = a; i < b;) {
    const c = u[i]!;
    if (c >= 0x80) {
      out.push(c);
      i++;
    } else if (isSpace(c)) {
      out.push(0x20);
      while (i < b && isSpace(u[i]!)) i++;
    } else {
      out.push(c >= 0x41 && c <= 0x5a ? c + 32 : c);
      i++;
    }
  }
  return Buffer.from(out);
}

/** The subject Name TLV of a DER certificate. */
function subjectOf(der: Buffer): Tlv {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  if (!tbs) throw new ReproError('E_BAD_INPUT', 'DER: no tbsCertificate');
  const f = children(der, tbs);
  const i = f[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  const subject = f[i + 4];
  if (!subject || subject.tag !== 0x30) throw new ReproError('E_BAD_INPUT', 'DER: no subject');
  return subject;
}

export function subjectHash(der: Buffer): string {
  const subject = subjectOf(der);
  const parts: Buffer[] = [];
  for (const rdn of children(der, subject)) {
    const avas = children(der, rdn).map((ava) => {
      const [oid, value] = children(der, ava);
      if (!oid || !value) throw new ReproError('E_BAD_INPUT', 'DER: bad AttributeTypeAndValue');
      const v = CANON_TAGS.has(value.tag)
        ? tlv(0x0c, canonValue(value.tag, der.subarray(value.body, value.end)))
        : der.subarray(value.start, value.end);
      return tlv(0x30, Buffer.concat([der.subarray(oid.start, oid.end), v]));
    });
    avas.sort(Buffer.compare); // DER SET OF order
    parts.push(tlv(0x31, Buffer.concat(avas)));
  }
  const md = createHash('sha1').update(Buffer.concat(parts)).digest();
  return (md.readUInt32LE(0) >>> 0).toString(16).padStart(8, '0');
}

/** The DER bytes of the first certificate in a PEM text, or undefined. */
export function pemToDer(pem: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : undefined;
}
