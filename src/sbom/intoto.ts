/**
 * in-toto attestations (https://github.com/in-toto/attestation, spec v1): the Statement that binds
 * a predicate to subjects by digest, and its DSSE envelope (https://github.com/secure-systems-lab/dsse,
 * protocol 1.0.0): the payload signed over the Pre-Authentication Encoding
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, with Ed25519 or ECDSA P-256 (SHA-256) keys
 * read from PEM files by node:crypto. Statements are canonical JSON (RFC 8785), so the same facts
 * give the same bytes. Pure but for the key handling.
 */
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { canonicalBytes } from '../model/canonical-json.js';
import { ReproError } from '../model/errors.js';
import { parseJsonBytes as parseJson } from '../model/json.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** The media type of an in-toto Statement (and the DSSE payloadType of one). */
export const INTOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
/** The media type of a DSSE envelope (a signed Statement). */
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The manifest annotation that names a referrer's predicate type without reading it (as BuildKit writes it). */
export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';

/** A DigestSet: algorithm → lowercase hex. */
export type DigestSet = Record<string, string>;

/** An in-toto ResourceDescriptor (spec/v1/resource_descriptor.md): at least one of uri, digest, content. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = Record<string, unknown>> {
  _type: typeof STATEMENT_TYPE;
  subject: Array<ResourceDescriptor & { digest: DigestSet }>;
  predicateType: string;
  predicate: P;
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;

/** A TypeURI field (a verifier's or a builder's id): `value` must be a URI, else E_USAGE naming `name`. */
export function checkUri(value: string, name: string): void {
  if (!URI.test(value)) throw new ReproError('E_USAGE', `${name}: expected a URI (https://…, urn:…, mailto:…), got ${JSON.stringify(value)}`);
}

/** `sha256:HEX` as a DigestSet. */
export function digestSet(digest: string): DigestSet {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new ReproError('E_BAD_DIGEST', `expected sha256:<64 hex digits>, got ${JSON.stringify(digest)}`);
  return { sha256: m[1]! };
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A Statement's bytes: canonical JSON. */
export function encodeStatement(s: Statement<unknown>): Buffer {
  return canonicalBytes(s);
}

// --- DSSE --------------------------------------------------------------------------------------

export interface DsseEnvelope {
  payload: string;
  payloadType: string;
  signatures: Array<{ keyid?: string; sig: string }>;
}

/** PAE(type, body) of DSSE 1.0.0: lengths are byte lengths in ASCII decimal, no leading zeros. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/** A private key from PEM (PKCS#8 or SEC1 for EC): Ed25519 or ECDSA P-256 only. */
export function signingKey(pem: Buffer | string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ReproError('E_BAD_INPUT', `${where}: not a PEM private key`);
  }
  checkKeyType(key, where);
  return key;
}

/** A public key from PEM (SPKI), or the public half of a private key: Ed25519 or ECDSA P-256 only. */
export function verificationKey(pem: Buffer | string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new ReproError('E_BAD_INPUT', `${where}: not a PEM public key`);
  }
  checkKeyType(key, where);
  return key;
}

function checkKeyType(key: KeyObject, where: string): void {
  if (key.asymmetricKeyType === 'ed25519') return;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return;
  const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'symmetric'} key`;
  throw new ReproError('E_UNSUPPORTED', `${where}: ${what}; expected Ed25519 or ECDSA P-256`);
}

/**
 * The key's id as the envelope records it (a hint only, DSSE says never to trust it): `sha256:` of
 * the DER SubjectPublicKeyInfo of the public key.
 */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${sha256Hex(pub.export({ type: 'spki', format: 'der' }))}`;
}

/**
 * Signs a payload into a DSSE envelope. Ed25519 signatures are deterministic (the same envelope
 * bytes every time); ECDSA's are not (a fresh nonce each time), and are DER-encoded as sigstore's
 * and in-toto's tools write them.
 */
export function signEnvelope(payload: Buffer, payloadType: string, key: KeyObject): DsseEnvelope {
  const data = pae(payloadType, payload);
  const sig = key.asymmetricKeyType === 'ed25519' ? cryptoSign(null, data, key) : cryptoSign('sha256', data, { key, dsaEncoding: 'der' });
  return { payload: payload.toString('base64'), payloadType, signatures: [{ keyid: keyId(key), sig: sig.toString('base64') }] };
}

export function encodeEnvelope(e: DsseEnvelope): Buffer {
  return canonicalBytes(e);
}

/** Standard or URL-safe base64 (DSSE: verifiers must accept either); undefined when it is neither. */
function base64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The most signatures an envelope may carry. */
export const MAX_SIGNATURES = 64;

/** Reads an envelope's shape (not its signatures): payload bytes, type, signatures. */
export function parseEnvelope(bytes: Buffer, where: string): { payload: Buffer; payloadType: string; signatures: Array<{ keyid?: string; sig: Buffer }> } {
  const e = parseJson(bytes, where) as Partial<DsseEnvelope> | null;
  if (!e || typeof e !== 'object' || typeof e.payload !== 'string' || typeof e.payloadType !== 'string' || !Array.isArray(e.signatures)) {
    throw new ReproError('E_BAD_INPUT', `${where}: not a DSSE envelope (payload, payloadType and signatures are required)`);
  }
  const payload = base64(e.payload);
  if (!payload) throw new ReproError('E_BAD_INPUT', `${where}: the envelope's payload is not base64`);
  // Each signature is tried with each key: 100,000 of them (9 MB) took 10 s per key, and a 64 MiB
  // envelope could hold 700,000. A signer adds one; nobody needs more than a few.
  if (e.signatures.length > MAX_SIGNATURES) throw new ReproError('E_BAD_INPUT', `${where}: the envelope has ${e.signatures.length} signatures, more than the ${MAX_SIGNATURES} checked`);
  const signatures = e.signatures.map((s, i) => {
    const sig = s && typeof s === 'object' && typeof s.sig === 'string' ? base64(s.sig) : undefined;
    if (!sig) throw new ReproError('E_BAD_INPUT', `${where}: signatures[${i}].sig is not base64`);
    return { ...(typeof s.keyid === 'string' ? { keyid: s.keyid } : {}), sig };
  });
  return { payload, payloadType: e.payloadType, signatures };
}

/**
 * Whether any signature of the envelope verifies with the key over PAE(payloadType, payload).
 * ECDSA signatures are accepted DER-encoded and as raw r||s (IEEE P1363, as the DSSE test vector).
 */
export function envelopeVerifies(env: ReturnType<typeof parseEnvelope>, key: KeyObject): boolean {
  const data = pae(env.payloadType, env.payload);
  for (const s of env.signatures) {
    try {
      if (key.asymmetricKeyType === 'ed25519') {
        if (cryptoVerify(null, data, key, s.sig)) return true;
      } else {
        for (const dsaEncoding of ['der', 'ieee-p1363'] as const) if (cryptoVerify('sha256', data, { key, dsaEncoding }, s.sig)) return true;
      }
    } catch {
      // a malformed signature does not verify
    }
  }
  return false;
}

/** A Statement read back: the fields every Statement has, checked for their types. */
export function parseStatement(bytes: Buffer, where: string): Statement {
  const s = parseJson(bytes, where) as Partial<Statement> | null;
  if (!s || typeof s !== 'object' || s._type !== STATEMENT_TYPE) {
    // A string _type is quoted (cut short); anything else only named by its kind: JSON.stringify
    // of an array nested 100,000 deep overflowed the stack (an internal error, a stack trace).
    const t: unknown = s && typeof s === 'object' ? s._type : undefined;
    const shown = typeof t === 'string' ? JSON.stringify(t.length > 100 ? `${t.slice(0, 100)}…` : t) : t === null ? 'null' : Array.isArray(t) ? 'an array' : t === undefined ? 'missing' : `a ${typeof t}`;
    throw new ReproError('E_BAD_INPUT', `${where}: not an in-toto Statement v1 (_type ${shown})`);
  }
  // A DigestSet maps algorithms to hex strings: anything else in it (an array nested deep enough
  // overflowed the stack when the subject was shown) is not a Statement.
  const isDigestSet = (d: unknown): boolean => !!d && typeof d === 'object' && !Array.isArray(d) && Object.values(d).every((h) => typeof h === 'string');
  if (!Array.isArray(s.subject) || s.subject.length === 0 || !s.subject.every((x) => x && typeof x === 'object' && isDigestSet(x.digest))) {
    throw new ReproError('E_BAD_INPUT', `${where}: the Statement's subject must be a non-empty list of descriptors with a digest (algorithm: hex string)`);
  }
  if (typeof s.predicateType !== 'string') throw new ReproError('E_BAD_INPUT', `${where}: the Statement has no predicateType`);
  if (s.predicate !== undefined && (typeof s.predicate !== 'object' || s.predicate === null || Array.isArray(s.predicate))) throw new ReproError('E_BAD_INPUT', `${where}: the Statement's predicate is not an object`);
  return { _type: STATEMENT_TYPE, subject: s.subject, predicateType: s.predicateType, predicate: s.predicate ?? {} };
}
