/**
 * `verify … --attest FILE | --attach`: an independent rebuild as an in-toto Statement with an SLSA
 * Verification Summary predicate (https://slsa.dev/verification_summary/v1): the subject is the
 * image verified (its manifest digest; at content level, its config digest; for a spec of several
 * architectures verified as an index, the index digest, with each platform's verdict and manifest
 * digests in the predicate), the verifier is who ran `verify` (`--verifier-id`), the result
 * PASSED or FAILED, and our own fields (under a URI key, as the in-toto parsing rules ask of
 * extensions) say what was rebuilt from what: the level reached
 * (digest or content), the spec and lock digests (or the rootfs'), SOURCE_DATE_EPOCH, the rebuilt
 * and published digests and the tool's version. Optionally signed as a DSSE envelope. Written to a
 * file and/or pushed beside the image as an OCI 1.1 referrer (see transports' attachReferrers).
 *
 * `timeVerified` is required by VSA v1.0. It is an input (`timeVerified`, seconds), by default the
 * SOURCE_DATE_EPOCH of the rebuild, so the same verifier verifying the same image from the same
 * inputs makes the same bytes (and `--attach` run twice adds nothing); `--time-verified now` puts
 * the wall clock there instead. See docs/attestations.md.
 */
import { readFileSync } from 'node:fs';
import type { Attachment } from '../image/referrer.js';
import type { Digest } from '../model/digest.js';
import { ReproError, ioError, option } from '../model/errors.js';
import { attachReferrers } from '../transports/index.js';
import { formatImageRef, parseImageRef, type ImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { rfc3339 } from './document.js';
import { DSSE_MEDIA_TYPE, INTOTO_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION, STATEMENT_TYPE, checkUri, digestSet, sha256Hex, encodeEnvelope, encodeStatement, signEnvelope, type DigestSet, type Statement } from './intoto.js';
import type { KeyObject } from 'node:crypto';
import type { ToolVersion } from './provenance.js';

export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
/** The policy a repro-image VSA records: rebuild from the recorded inputs, compare digests. */
export const REBUILD_POLICY_URI = 'urn:repro-image:policy:rebuild:v1';
/** The key of our extension fields in the predicate (a URI, as the in-toto parsing rules ask). */
export const REBUILD_FIELD = 'urn:repro-image:rebuild:v1';
/** verifiedLevels values (custom SlsaResults; VSA v1 forbids custom values starting SLSA_). */
export const VERIFIED_LEVEL = { digest: 'REPRO_IMAGE_REBUILT_DIGEST', content: 'REPRO_IMAGE_REBUILT_CONTENT' } as const;

/** What `verify` (or `verifyContainerfile`) returns, as far as a VSA needs it (a VerifyResult is one). */
export interface VerificationOutcome {
  verdict: 'reproduced' | 'not-reproduced';
  /** manifest (digest level), content, or none reached (a failed two-step proof). */
  level: 'manifest' | 'content' | 'none';
  inputs: {
    spec?: string;
    /** The spec file's digest (read from `spec` when absent). */
    specDigest?: string | null;
    lock?: { path: string; digest: string };
    rootfs?: string;
    rootfsDigest?: string | null;
    sourceDateEpoch: number;
    platform?: string;
    compression?: string;
  };
  rebuilt: { manifest?: string; config: string };
  /** `archive`: a `verify --archive` layout, which keeps the VSA too (a referrer of the published manifest). */
  published: { reference: string; manifest: string; config: string; index?: string; archive?: string };
  /**
   * An index-level verification (a spec of several architectures, no platform): the VSA is then
   * about the published index, and lists each platform's verdict.
   */
  index?: {
    rebuilt: string;
    published: string;
    platforms: Array<{ platform: string; verdict: 'reproduced' | 'not-reproduced'; rebuilt: { manifest: string } | null; published: { manifest: string } | null }>;
  };
}

export interface VsaOptions {
  /** predicate.verifier.id: a URI naming the verifier (required: who vouches). */
  verifierId: string;
  /** predicate.timeVerified in seconds (default: the rebuild's SOURCE_DATE_EPOCH, see above). */
  timeVerified?: number;
  tool: ToolVersion;
  /** Digests of the spec file (the lock's is in the outcome). */
  specDigest?: string;
}

export interface RebuildFields {
  /** digest: the rebuilt manifest digest is the published one; content: config and layers' content (the transport keeps no manifest). */
  level: 'digest' | 'content';
  sourceDateEpoch: number;
  platform?: string;
  spec?: { name: string; digest?: DigestSet };
  lock?: { name: string; digest: DigestSet };
  rootfs?: { name: string; digest?: DigestSet };
  /** One image's digests; for an index, the index digests alone (each platform's are in `platforms`). */
  rebuilt: { manifest?: string; config?: string; index?: string };
  published: { manifest?: string; config?: string; index?: string };
  /** An index: every platform of either index, its verdict, and its manifest digest on each side that has it. */
  platforms?: Array<{ platform: string; verdict: 'reproduced' | 'not-reproduced'; rebuilt?: string; published?: string }>;
  tool: Record<string, string>;
}

export interface VsaPredicate {
  verifier: { id: string; version: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string };
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  slsaVersion: '1.0';
  [REBUILD_FIELD]: RebuildFields;
}

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** A verifier id must be a URI (VSA v1: verifier.id is a TypeURI). */
export function checkVerifierId(id: string, name = option('verifierId')): void {
  checkUri(id, name);
}

export function vsaStatement(outcome: VerificationOutcome, opts: VsaOptions): Statement<VsaPredicate> {
  checkVerifierId(opts.verifierId);
  const level = outcome.level === 'content' ? 'content' : 'digest';
  const index = outcome.index;
  const subjectDigest = index ? index.published : level === 'digest' ? outcome.published.manifest : outcome.published.config;
  const passed = outcome.verdict === 'reproduced';
  const inputs = outcome.inputs;
  const rebuild: RebuildFields = {
    level,
    sourceDateEpoch: inputs.sourceDateEpoch,
    ...(inputs.platform && !index ? { platform: inputs.platform } : {}),
    ...(inputs.spec !== undefined ? { spec: { name: baseName(inputs.spec), ...(opts.specDigest ? { digest: digestSet(opts.specDigest) } : {}) } } : {}),
    ...(inputs.lock ? { lock: { name: baseName(inputs.lock.path), digest: digestSet(inputs.lock.digest) } } : {}),
    ...(inputs.rootfs !== undefined ? { rootfs: { name: baseName(inputs.rootfs.replace(/\/+$/, '')), ...(inputs.rootfsDigest ? { digest: digestSet(inputs.rootfsDigest) } : {}) } } : {}),
    ...(index
      ? {
        rebuilt: { index: index.rebuilt },
        published: { index: index.published },
        platforms: index.platforms.map((p) => ({
          platform: p.platform, verdict: p.verdict,
          ...(p.rebuilt ? { rebuilt: p.rebuilt.manifest } : {}),
          ...(p.published ? { published: p.published.manifest } : {}),
        })),
      }
      : {
        rebuilt: { ...(outcome.rebuilt.manifest ? { manifest: outcome.rebuilt.manifest } : {}), config: outcome.rebuilt.config },
        published: { manifest: outcome.published.manifest, config: outcome.published.config, ...(outcome.published.index ? { index: outcome.published.index } : {}) },
      }),
    tool: { [opts.tool.name]: opts.tool.version },
  };
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: outcome.published.reference, digest: digestSet(subjectDigest) }],
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: opts.verifierId, version: { [opts.tool.name]: opts.tool.version } },
      timeVerified: rfc3339(opts.timeVerified ?? inputs.sourceDateEpoch),
      resourceUri: outcome.published.reference,
      policy: { uri: REBUILD_POLICY_URI },
      verificationResult: passed ? 'PASSED' : 'FAILED',
      verifiedLevels: passed ? [VERIFIED_LEVEL[level]] : ['FAILED'],
      slsaVersion: '1.0',
      [REBUILD_FIELD]: rebuild,
    },
  };
}

/** A VSA's bytes: the canonical Statement, or, with a key, its DSSE envelope. */
export function encodeAttestation(statement: Statement<unknown>, key?: KeyObject): { mediaType: string; bytes: Buffer } {
  const bytes = encodeStatement(statement);
  if (!key) return { mediaType: INTOTO_MEDIA_TYPE, bytes };
  return { mediaType: DSSE_MEDIA_TYPE, bytes: encodeEnvelope(signEnvelope(bytes, INTOTO_MEDIA_TYPE, key)) };
}

/** An attestation as an OCI 1.1 referrer of the image verified. */
export function attestationAttachment(encoded: { mediaType: string; bytes: Buffer }, predicateType: string, created?: string): Attachment {
  return { artifactType: encoded.mediaType, mediaType: encoded.mediaType, data: encoded.bytes, annotations: { [PREDICATE_TYPE_ANNOTATION]: predicateType, ...(created ? { 'org.opencontainers.image.created': created } : {}) } };
}

export interface AttestVerificationOptions extends Omit<VsaOptions, 'specDigest'> {
  /** Sign as a DSSE envelope with this private key (Ed25519 or ECDSA P-256). */
  key?: KeyObject;
  /** Push the VSA beside the verified image at this reference (an oci: layout or a registry). */
  attachTo?: ImageRef | string;
  registry?: RegistryOptions;
}

export interface AttestVerificationResult {
  statement: Statement<VsaPredicate>;
  /** application/vnd.in-toto+json, or application/vnd.dsse.envelope.v1+json when signed. */
  mediaType: string;
  bytes: Buffer;
  /** The referrer written, when attached. */
  attached?: { digest: string; artifactType: string; via: string };
  /** The referrer written into the outcome's `verify --archive` layout. */
  archived?: { digest: string; artifactType: string; via: string };
}

/**
 * A verification's VSA: made, signed when a key is given, attached when asked (the library side of
 * `verify --attest/--attach`), and kept in the outcome's `--archive` layout when it has one.
 */
export async function attestVerification(outcome: VerificationOutcome, opts: AttestVerificationOptions): Promise<AttestVerificationResult> {
  let specDigest: string | undefined = outcome.inputs.specDigest ?? undefined;
  if (specDigest === undefined && outcome.inputs.spec !== undefined) {
    try {
      specDigest = `sha256:${sha256Hex(readFileSync(outcome.inputs.spec))}`;
    } catch (e) {
      throw ioError(e, `cannot read the spec ${outcome.inputs.spec}`);
    }
  }
  const statement = vsaStatement(outcome, { ...opts, ...(specDigest ? { specDigest } : {}) });
  const encoded = encodeAttestation(statement, opts.key);
  const result: AttestVerificationResult = { statement, ...encoded };
  if (opts.attachTo !== undefined) {
    const ref = typeof opts.attachTo === 'string' ? parseImageRef(opts.attachTo, option('attachTo')) : opts.attachTo;
    if (outcome.level === 'content') throw new ReproError('E_UNSUPPORTED', `${formatImageRef(ref)} keeps no manifest digest to attach a verification summary to; write it to a file instead`);
    const subject = (outcome.index?.published ?? outcome.published.manifest) as Digest;
    const [attached] = await attachReferrers(ref, subject, [attestationAttachment(encoded, VSA_PREDICATE_TYPE, statement.predicate.timeVerified)], opts.registry ? { registry: opts.registry } : {});
    result.attached = attached!;
  }
  const archive = outcome.published.archive;
  if (archive !== undefined && outcome.level !== 'content') {
    // The archive's root is the index the reference named, or the manifest; the summary is beside
    // what it is about (the index, for an index-level verify).
    const root = (outcome.published.index ?? outcome.published.manifest) as Digest;
    const subject = (outcome.index?.published ?? outcome.published.manifest) as Digest;
    const [archived] = await attachReferrers({ transport: 'oci', path: archive, digest: root }, subject, [attestationAttachment(encoded, VSA_PREDICATE_TYPE, statement.predicate.timeVerified)]);
    result.archived = archived!;
  }
  return result;
}
