/**
 * `attestations REF [--key PUBKEY.pem]`: every verification summary (VSA) attached to an image as
 * an OCI 1.1 referrer (the registry's referrers API or its sha256-HEX fallback tag, a layout's
 * index.json), each read, checked and counted: a signed one (DSSE) is verified with the key when
 * one is given; one whose signature does not verify, whose subject is another image, or that is
 * not a Statement at all is reported invalid and not counted; with a key, an unsigned one is
 * invalid too (nobody vouches for it). The summary counts independent verifiers: distinct signing
 * keys when keys are given (a key that signs for several verifier ids is one verifier), else
 * distinct verifier ids: "3 independent verifiers reproduced this image (digest level), 0 failed".
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { Descriptor } from '../model/descriptor.js';
import { ReproError, escapeControl } from '../model/errors.js';
import { parseManifest } from '../model/manifest.js';
import { listReferrers, referrerSubjects } from '../image/referrers.js';
import { readBlob, readDocument } from '../image/verified.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import { DSSE_MEDIA_TYPE, INTOTO_MEDIA_TYPE, envelopeVerifies, parseEnvelope, parseStatement, type Statement } from './intoto.js';
import { REBUILD_FIELD, VSA_PREDICATE_TYPE, type RebuildFields } from './vsa.js';

/** A public key trusted to sign summaries: for any verifier, or only for the one whose id it names. */
export interface TrustedKey {
  key: KeyObject;
  verifierId?: string;
}

export interface AttestationsOptions extends TransportOptions {
  /** Verify DSSE signatures with this public key; unsigned or unverifiable VSAs are then invalid. */
  key?: KeyObject;
  /**
   * Or several (each rebuilder has its own): a summary is valid when one of them verifies its
   * signature and that key is not bound to another verifier id.
   */
  keys?: TrustedKey[];
}

export interface ListedAttestation {
  /** The referrer (artifact manifest) digest. */
  referrer: string;
  /** The manifest it is attached to. */
  subject: string;
  signature: 'verified' | 'not-checked' | 'unsigned' | 'invalid';
  valid: boolean;
  /** Why it is not counted. */
  problem?: string;
  verifierId?: string;
  /** The key whose signature verified (`sha256:` of its SubjectPublicKeyInfo), when keys were given. */
  signer?: string;
  result?: 'PASSED' | 'FAILED';
  level?: 'digest' | 'content';
  timeVerified?: string;
  toolVersion?: string;
}

export interface AttestationsResult {
  reference: string;
  /** The manifests looked at (the one REF names; through an index, each of its). */
  subjects: Array<{ digest: string; via: string }>;
  attestations: ListedAttestation[];
  summary: {
    /** Independent verifiers with a valid PASSED VSA: distinct signing keys when keys were given, else distinct verifier ids. */
    reproduced: number;
    /** Likewise, with a valid FAILED VSA. */
    failed: number;
    invalid: number;
    /** The best level a valid PASSED VSA reached. */
    level?: 'digest' | 'content';
    text: string;
  };
}

const ARTIFACT_TYPES = new Set([INTOTO_MEDIA_TYPE, DSSE_MEDIA_TYPE]);

/** Checks one attestation's bytes; `undefined` when it is not a VSA (a provenance, say). */
export function checkAttestation(bytes: Buffer, mediaType: string, subject: string, where: string, trusted?: KeyObject | TrustedKey[]): Omit<ListedAttestation, 'referrer' | 'subject'> | undefined {
  const keys: TrustedKey[] = trusted === undefined ? [] : Array.isArray(trusted) ? trusted : [{ key: trusted }];
  const key = keys.length > 0;
  /** The keys whose signature verifies (checked once the verifier id is known). */
  let signers: TrustedKey[] = [];
  let statement: Statement;
  let signature: ListedAttestation['signature'] = 'unsigned';
  try {
    if (mediaType === DSSE_MEDIA_TYPE) {
      const env = parseEnvelope(bytes, where);
      if (env.payloadType !== INTOTO_MEDIA_TYPE) return { signature: 'invalid', valid: false, problem: `payloadType ${JSON.stringify(env.payloadType)} is not ${INTOTO_MEDIA_TYPE}` };
      statement = parseStatement(env.payload, where);
      if (statement.predicateType !== VSA_PREDICATE_TYPE) return undefined;
      signers = keys.filter((k) => envelopeVerifies(env, k.key));
      signature = key ? (signers.length > 0 ? 'verified' : 'invalid') : 'not-checked';
    } else {
      statement = parseStatement(bytes, where);
      if (statement.predicateType !== VSA_PREDICATE_TYPE) return undefined;
    }
  } catch (e) {
    if (e instanceof ReproError) return { signature, valid: false, problem: e.message };
    throw e;
  }
  const p = statement.predicate as { verifier?: { id?: unknown }; verificationResult?: unknown; timeVerified?: unknown; [REBUILD_FIELD]?: Partial<RebuildFields> };
  const rebuild = p[REBUILD_FIELD];
  const toolVersion = rebuild?.tool ? Object.entries(rebuild.tool).map(([k, v]) => `${k} ${v}`).join(', ') : undefined;
  const facts = {
    ...(typeof p.verifier?.id === 'string' ? { verifierId: p.verifier.id } : {}),
    ...(p.verificationResult === 'PASSED' || p.verificationResult === 'FAILED' ? { result: p.verificationResult as 'PASSED' | 'FAILED' } : {}),
    ...(rebuild?.level === 'digest' || rebuild?.level === 'content' ? { level: rebuild.level } : {}),
    ...(typeof p.timeVerified === 'string' ? { timeVerified: p.timeVerified } : {}),
    ...(toolVersion ? { toolVersion } : {}),
  };
  const hex = subject.replace(/^sha256:/, '');
  const bound = signature === 'verified' && !signers.some((k) => k.verifierId === undefined || k.verifierId === facts.verifierId);
  if (bound) signature = 'invalid';
  const problem = bound ? `signed with the key of ${signers.map((k) => k.verifierId).join(', ')}, not of ${facts.verifierId ?? 'its verifier'}`
    : signature === 'invalid' ? `the signature does not verify with ${keys.length === 1 ? 'the key' : 'any of the keys'}`
    : key && signature === 'unsigned' ? 'not signed (a key was given)'
      : !statement.subject.some((s) => s.digest['sha256'] === hex) ? `its subject is another image (${subjectList(statement.subject)}), not ${subject}`
        : facts.verifierId === undefined ? 'no predicate.verifier.id'
          : facts.result === undefined ? 'predicate.verificationResult is neither PASSED nor FAILED'
            : undefined;
  // The key that vouches for this verifier: one bound to its id before an unbound one (a key bound
  // to another verifier that signed too is no signer of this summary's). Of several (an envelope
  // signed twice), the least fingerprint: the same whatever order the keys were given in.
  const boundOwn = signers.filter((k) => k.verifierId !== undefined && k.verifierId === facts.verifierId);
  const own = (boundOwn.length > 0 ? boundOwn : signers.filter((k) => k.verifierId === undefined)).map((k) => keyFingerprint(k.key)).sort()[0];
  const signer = signature === 'verified' && own !== undefined ? { signer: own } : {};
  return { signature, valid: problem === undefined, ...(problem ? { problem } : {}), ...facts, ...signer };
}

/** A public key's name in a listing: the sha256 of its SubjectPublicKeyInfo (DER). */
export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** A Statement's subjects for a message: the first three, each digest cut short (200,000 subjects made a 2 MB line). */
function subjectList(subjects: Statement['subject']): string {
  const shown = subjects.slice(0, 3).map((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h.length > 80 ? `${h.slice(0, 80)}…` : h}`).join(' '));
  return `${shown.join(', ')}${subjects.length > 3 ? ` and ${subjects.length - 3} more` : ''}`;
}

export async function attestations(reference: ImageRef | string, opts: AttestationsOptions = {}): Promise<AttestationsResult> {
  const ref = typeof reference === 'string' ? parseImageRef(reference) : reference;
  const opened = await openImage(ref, opts);
  const subjects: AttestationsResult['subjects'] = [];
  const listed: ListedAttestation[] = [];
  for (const s of await referrerSubjects(opened)) {
    const r = await listReferrers(opened, s.digest);
    subjects.push({ digest: s.digest, via: r.via });
    for (const d of r.descriptors) {
      if (d.artifactType !== undefined && !ARTIFACT_TYPES.has(d.artifactType)) continue;
      const where = `${opened.store.where}: referrer ${d.digest}`;
      try {
        const manifest = parseManifest(await readDocument(opened.store, d), where, d.mediaType);
        const layer: Descriptor | undefined = manifest.value.layers[0];
        const type = manifest.value.artifactType ?? d.artifactType;
        if (!layer || !ARTIFACT_TYPES.has(layer.mediaType) || (type !== undefined && !ARTIFACT_TYPES.has(type))) continue;
        if (manifest.value.subject?.digest !== s.digest) {
          listed.push({ referrer: d.digest, subject: s.digest, signature: 'unsigned', valid: false, problem: `its manifest's subject is ${manifest.value.subject?.digest ?? 'missing'}` });
          continue;
        }
        const keys = [...(opts.key ? [{ key: opts.key }] : []), ...(opts.keys ?? [])];
        const checked = checkAttestation(await readBlob(opened.store, layer), layer.mediaType, s.digest, where, keys.length > 0 ? keys : undefined);
        if (checked) listed.push({ referrer: d.digest, subject: s.digest, ...checked });
      } catch (e) {
        // A referrer that cannot be read as what it claims (bad JSON, wrong digest) is invalid, not fatal; I/O failures are.
        if (!(e instanceof ReproError) || e.exitCode === 3) throw e;
        listed.push({ referrer: d.digest, subject: s.digest, signature: 'unsigned', valid: false, problem: e.message });
      }
    }
  }
  return { reference: typeof reference === 'string' ? reference : formatImageRef(ref), subjects, attestations: listed, summary: summarise(listed) };
}

/**
 * How many independent verifiers `summaries` (valid, one result) come from. Without keys, their
 * distinct verifier ids. With keys, a verifier needs an id and a key of its own: the most pairs
 * (id, key) of summaries that share neither (a maximum matching, Kuhn's; a matching never grows
 * past the number of keys given). One key signing for three ids is one verifier; so is one id
 * signing with two keys (a rebuilder that changed its key), which counting keys alone made two.
 */
function independent(summaries: ListedAttestation[]): { verifiers: number; ids: number; keys: number } {
  const keysOf = new Map<string | undefined, Set<string>>();
  const keys = new Set<string>();
  for (const a of summaries) {
    let k = keysOf.get(a.verifierId);
    if (!k) keysOf.set(a.verifierId, (k = new Set()));
    if (a.signer !== undefined) {
      k.add(a.signer);
      keys.add(a.signer);
    }
  }
  if (keys.size === 0) return { verifiers: keysOf.size, ids: keysOf.size, keys: 0 };
  const idOf = new Map<string, string | undefined>();
  const augment = (id: string | undefined, seen: Set<string>): boolean => {
    for (const k of keysOf.get(id)!) {
      if (seen.has(k)) continue;
      seen.add(k);
      if (!idOf.has(k) || augment(idOf.get(k), seen)) {
        idOf.set(k, id);
        return true;
      }
    }
    return false;
  };
  for (const id of keysOf.keys()) {
    if (idOf.size === keys.size) break;
    augment(id, new Set());
  }
  return { verifiers: idOf.size, ids: keysOf.size, keys: keys.size };
}

function summarise(listed: ListedAttestation[]): AttestationsResult['summary'] {
  const valid = listed.filter((a) => a.valid);
  const passed = independent(valid.filter((a) => a.result === 'PASSED'));
  const failed = independent(valid.filter((a) => a.result === 'FAILED')).verifiers;
  const invalid = listed.length - valid.length;
  const levels = valid.filter((a) => a.result === 'PASSED').map((a) => a.level);
  const level = levels.includes('digest') ? 'digest' : levels.includes('content') ? 'content' : undefined;
  const n = passed.verifiers;
  const k = passed.keys;
  const byKey = passed.ids <= n ? ''
    : k === n ? ` (${passed.ids} verifier ids signed with ${k} key${k === 1 ? '' : 's'}: counted by key)`
      : ` (${passed.ids} verifier ids signed with ${k} keys: counted with an id and a key each)`;
  const text = `${n} independent verifier${n === 1 ? '' : 's'} reproduced this image${level ? ` (${level} level)` : ''}, ${failed} failed${invalid > 0 ? `, ${invalid} invalid` : ''}${byKey}`;
  return { reproduced: n, failed, invalid, ...(level ? { level } : {}), text };
}

/**
 * The listing as text, one line per summary. Every field but the digests comes from whoever pushed
 * the summary: control characters and line separators are shown escaped, so that none of them can
 * start a line of its own (a forged "PASSED, signature verified" below an INVALID one).
 */
export function renderAttestations(r: AttestationsResult): string {
  const lines: string[] = [];
  for (const a of r.attestations) {
    const who = a.verifierId ?? '(no verifier id)';
    const what = a.valid ? `${a.result}${a.level ? ` (${a.level} level)` : ''}` : `INVALID: ${a.problem}`;
    const sig = a.signature === 'verified' ? ', signature verified' : a.signature === 'not-checked' ? ', signed (not checked: no --key)' : a.signature === 'unsigned' ? ', unsigned' : '';
    lines.push(escapeControl(`${a.referrer} ${who}: ${what}${a.timeVerified ? `, verified ${a.timeVerified}` : ''}${a.toolVersion ? `, ${a.toolVersion}` : ''}${sig}`));
  }
  lines.push(r.summary.text);
  return `${lines.join('\n')}\n`;
}
