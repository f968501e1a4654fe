/**
 * repro-image as a library: every command is a function taking an options object and returning
 * data; the CLI only parses flags, calls these and renders what they return.
 *
 * Conventions shared by every function:
 * - References are strings in containers-transports(5) form (`oci:DIR[:TAG]`, `docker://…`) or
 *   parsed `ImageRef`s.
 * - Registry settings are one shape everywhere: `registry` (both sides), and where a call reads two
 *   references, `sourceRegistry`/`destinationRegistry` (copy) or `registryA`/`registryB` (diff).
 * - SOURCE_DATE_EPOCH: the `sourceDateEpoch` option; the library never reads the environment. Pass
 *   `sourceDateEpoch: sourceDateEpochFromEnv(process.env)` to honour the variable as the CLI does.
 * - Errors are `ReproError`s with a stable `code`, an `exitCode` and a message that names the
 *   option at fault (the CLI prints the flag instead, see `ReproError.render`).
 */

import { renderHtml, type HtmlOptions } from './diff/render-html.js';
import type { DiffResult } from './diff/types.js';
import { toolInfo } from './verify/tool.js';
import { toolPackageDigest } from './verify/tool-digest.js';
import { archive as archiveWith, type ArchiveOptions, type ArchiveResult, type ToolRecord } from './pipeline/inputs-archive.js';
import { encodeStatement } from './sbom/intoto.js';
import { provenanceAttachment as makeProvenanceAttachment, provenanceMaker, type ProvenanceOptions, type ProvenanceSubject } from './sbom/provenance.js';
import { attestVerification as attestVerificationWith, type AttestVerificationOptions, type AttestVerificationResult, type VerificationOutcome } from './sbom/vsa.js';

type ProvenanceAttachmentOptions = Parameters<typeof makeProvenanceAttachment>[0];
/** Options whose `tool` this package fills in (distributed over a union of option shapes). */
type ToolOptional<T> = T extends unknown ? Omit<T, 'tool'> & { tool?: { name: string; version: string } } : never;

// Commands
export { build, type BuildOptions } from './pipeline/build.js';
export { buildRootfs, type RootfsBuildOptions } from './pipeline/rootfs.js';
export { buildSpec, fetchLocked, specPlatform, type SpecBuildOptions } from './pipeline/spec.js';
export { buildDisk, type DiskBuildOptions, type DiskBuildResult } from './pipeline/disk.js';
export { lock, lockSpec, describeLock, type LockOptions, type LockResult } from './pipeline/lock.js';
export { fetch, type FetchOptions, type FetchResult } from './pipeline/fetch.js';
export {
  INPUTS_ARTIFACT_TYPE, INPUTS_CONFIG_TYPE, SPEC_MEDIA_TYPE, LOCK_MEDIA_TYPE, INPUT_FILE_MEDIA_TYPE, ANNOTATION as INPUTS_ANNOTATIONS,
  type ArchiveResult, type ToolRecord,
  inputsArtifact, type InputsArtifactOptions,
} from './pipeline/inputs-archive.js';
export { toolPackageDigest } from './verify/tool-digest.js';

/**
 * `repro-image archive`: every input of a spec build (the spec, the lock, each locked file, this
 * tool's version and package digest) as one OCI artifact, optionally a referrer of the image it
 * built (`attach`). `tool` defaults to this package.
 */
export function archive(opts: Omit<ArchiveOptions, 'tool'> & { tool?: ToolRecord }): Promise<ArchiveResult> {
  const digest = toolPackageDigest();
  const tool = opts.tool ?? { name: toolInfo().name, version: toolInfo().version, ...(digest ? { packageDigest: digest } : {}) };
  return archiveWith({ ...opts, tool });
}
export type { ArchiveOptions };
export { copy, type CopyOptions, type CopyResult } from './transports/copy.js';
export { inspect, inspectRaw, type InspectResult } from './verify/inspect.js';
export { renderInspect } from './verify/render-inspect.js';
export { diff, type DiffOptions } from './diff/image-diff.js';
export { renderText as renderDiffText, renderJson as renderDiffJson, FINDINGS } from './diff/index.js';
export { hostInfo, type HostInfo } from './verify/host.js';
export type { HtmlOptions } from './diff/render-html.js';

/** The SLSA v1 provenance of a spec build as a `build` attachment (`attach: [provenanceAttachment({ spec })]`), with this package's version as the builder's. */
export function provenanceAttachment(opts: ToolOptional<ProvenanceAttachmentOptions>): ReturnType<typeof makeProvenanceAttachment> {
  return makeProvenanceAttachment({ tool: toolInfo(), ...opts } as ProvenanceAttachmentOptions);
}

/** The provenance Statement of a spec build's image, with this package's version as the builder's. */
export function provenanceStatement(opts: ToolOptional<ProvenanceOptions>, image: ProvenanceSubject): Buffer {
  return encodeStatement(provenanceMaker({ tool: toolInfo(), ...opts } as ProvenanceOptions)(image));
}

/** A verification's VSA (made, signed, attached: see sbom/vsa.ts), with this package's version as the verifier's. */
export function attestVerification(outcome: VerificationOutcome, opts: Omit<AttestVerificationOptions, 'tool'> & { tool?: AttestVerificationOptions['tool'] }): Promise<AttestVerificationResult> {
  return attestVerificationWith(outcome, { tool: toolInfo(), ...opts });
}

/** The self-contained HTML report of a diff, headed by this package's name and version (as the CLI writes it) unless `tool` is given. */
export function renderDiffHtml(result: DiffResult, opts: HtmlOptions = {}): string {
  return renderHtml(result, { tool: toolInfo(), ...opts });
}
export type { DiffResult, Difference, Finding as DiffFinding } from './diff/index.js';
export { verify, type VerifyOptions, type VerifyResult, type IndexVerification, type PlatformVerification } from './verify/verify.js';
export { verifyFromArchive, type VerifyFromArchiveOptions, type VerifyFromArchiveResult } from './verify/from-archive.js';
export { verifyList, parseVerifyList, readVerifyList, renderListEntry, type VerifyListEntry, type VerifyListOptions, type VerifyListOutcome, type VerifyListResult } from './verify/list.js';
export { ARCHIVE_ANNOTATION } from './verify/published.js';
export { verifyDisk, type VerifyDiskOptions, type VerifyDiskResult } from './verify/verify-disk.js';
export { verifyContainerfile, type ContainerfileVerifyOptions, type ContainerfileVerifyResult } from './verify/containerfile.js';
export { proveContent, type ContentProof } from './verify/content-proof.js';
export { buildContainerfile, type ContainerfileBuildOptions, type ContainerfileBuildResult } from './pipeline/containerfile/build.js';
export { UnpackedStore } from './pipeline/containerfile/unpacked-store.js';
export { parseContainerfile, resolveContainerfile } from './pipeline/containerfile/index.js';
export { compareImages, type VerifyFinding } from './verify/compare.js';
export { status, type StatusOptions } from './status/status.js';
export { renderText as renderStatusText, type StatusReport } from './status/report.js';
export { jsonSchema, type ImageSpec } from './spec/schema.js';
export { audit, type AuditOptions } from './audit/audit.js';
export { renderText as renderAuditText, summaryLines as auditSummaryLines, strictPasses as auditStrictPasses, type AuditReport } from './audit/report.js';
export { renderHtml as renderAuditHtml } from './audit/html.js';
export { sbom, encodeSbom, type SbomOptions, type SbomResult } from './sbom/sbom.js';
export { SBOM_FORMATS, SBOM_MEDIA_TYPE, type SbomFormat } from './sbom/document.js';
export { sbomAttachment } from './sbom/attach.js';
export { inspectReferrers, renderReferrers, type ReferrersResult } from './verify/referrers.js';
export { attestations, renderAttestations, checkAttestation, type AttestationsOptions, type AttestationsResult, type ListedAttestation } from './sbom/attestations.js';
export { STATEMENT_TYPE, INTOTO_MEDIA_TYPE, DSSE_MEDIA_TYPE, pae, signEnvelope, encodeEnvelope, parseEnvelope, envelopeVerifies, parseStatement, encodeStatement, signingKey, verificationKey, keyId, type Statement, type DsseEnvelope, type ResourceDescriptor } from './sbom/intoto.js';
export { PROVENANCE_PREDICATE_TYPE, SPEC_BUILD_TYPE, DEFAULT_BUILDER_ID, type SlsaProvenance } from './sbom/provenance.js';
export { VSA_PREDICATE_TYPE, REBUILD_POLICY_URI, REBUILD_FIELD, VERIFIED_LEVEL, vsaStatement, encodeAttestation, type VerificationOutcome, type VsaPredicate } from './sbom/vsa.js';
export { attachReferrers } from './transports/index.js';

// Build results and options
export type { BuildResult, BuiltImage, ImageOptions } from './pipeline/tree-steps.js';
export { DEFAULT_PLATFORM } from './pipeline/tree-steps.js';
export { PASSES, PASS_NAMES, selectPasses, type PassReport } from './pipeline/passes.js';
export { planLayers, popularity, byPopularity, type PlannedLayer, type LayerInputs } from './pipeline/layers.js';
export { lockBase, fetchBase, readBase, mergeContainerConfig, parseBaseRef, type BaseImage, type BaseLock, type BaseSpec } from './pipeline/base.js';
export type { LayersSpec } from './spec/schema.js';
export { parseSourceDateEpoch, sourceDateEpochFromEnv } from './pipeline/epoch.js';

// References, platforms, the image model, transports
export { parseImageRef, formatImageRef, type ImageRef, type StorageSpecifier } from './transports/reference.js';
export type { PodmanOptions } from './transports/storage/podman.js';
export { parsePlatform, formatPlatform, type Platform } from './model/platform.js';
export { openImage, writeImage, writeGraph, type TransportOptions, type WriteResult } from './transports/index.js';
export type { RegistryOptions } from './transports/registry/client.js';
export { readImage, viewImage, resolveImage, manifestOf, type ImageView, type ResolvedImage } from './image/read.js';
export type { LayerReader } from './image/layer.js';
export { loadGraph, imageGraph, type ImageGraph } from './image/graph.js';
export { selectPlatform } from './image/select.js';
export { flattenLayers, type FlatEntry, type FlatImage } from './image/flatten.js';
export type { KeptFiles } from './image/kept-files.js';
export { referrerGraph, artifactManifest, withReferrers, fallbackTag, type Attachment } from './image/referrer.js';
export { listReferrers } from './image/referrers.js';

// Specs, locks, distributions
export { loadSpec, parseSpec } from './spec/load.js';
export { readLock, writeLock, type LockFile } from './spec/lockfile.js';
export { DISTRIBUTIONS, distributionFor } from './sources/index.js';
export type { Distribution, InstalledPackage, PackageRecord, RecordedFile, GeneratedEntry } from './sources/distribution.js';
export { Cache, defaultCacheDir } from './fetch/cache.js';
export { useProxies, proxySettingsFromEnv, type ProxySettings } from './fetch/proxy.js';

// Codecs
export { ReproError, MismatchError, type ErrorCode } from './model/errors.js';
export { canonicalize } from './model/canonical-json.js';
export { gzipStream, nativeMatchesReference, GZIP_BLOCK_SIZE } from './archive/gzip.js';
export { zstdStream, zstdVersion } from './archive/zstd.js';
export { readTar } from './archive/tar-reader.js';
export { tarBlocks, tarChunks, orderEntries } from './archive/tar-writer.js';
export type { Entry, EntryType, ContentRef } from './archive/entry.js';
export { writeDisk, resolvePartitions, type DiskInput, type DiskResult, type PartitionInput, type PartitionResult } from './disk/assemble.js';
export { openDisk, type OpenedDisk, type DiskPartition } from './disk/open.js';
export type { FsReader, FsEntry, FsInfo } from './disk/fs-reader.js';
