import { readFileSync } from 'node:fs';
import { ReproError, ioError } from '../model/errors.js';
import { parseSourceDateEpoch } from '../pipeline/epoch.js';
import { checkVerifierId, type VerificationOutcome } from '../sbom/vsa.js';
import { signingKey } from '../sbom/intoto.js';
import type { VerifyResult } from '../verify/verify.js';
import { tmpdir } from 'node:os';
import { defaultCacheDir } from '../fetch/cache.js';
import { selectPasses } from '../pipeline/passes.js';
import { BUILD_FLAGS, IMAGE_OPTIONS_HELP, rootfsBuildOptions, sourceDateEpochOption, specBuildOptions } from './build.js';
import { CONTAINERFILE_HELP, containerfileOptions } from './containerfile.js';
import { parse, progressLine, type Io } from './common.js';
import { REGISTRY_HELP, registryOptions, rewriteTlsFlags } from './registry-flags.js';

export const VERIFY_HELP = `Usage: repro-image verify --rootfs PATH [build options] --against REF [--archive DIR] [--json]
       repro-image verify SPEC.yaml [--offline] --against REF [--archive DIR] [--json]
       repro-image verify --containerfile FILE [--compat repro-image|podman] [--context DIR]
                          [--build-arg K=V]... [--source-date-epoch N] --against REF [--json]
       repro-image verify SPEC.yaml [--offline] --against disk:PUBLISHED.raw [--json]
       repro-image verify --rootfs PATH --disk DISK.yaml --against disk:PUBLISHED.raw [--json]
       repro-image verify [SPEC.yaml] --from-archive DIR [--json]
       repro-image verify --list FILE [--jobs N] [--offline] [--attach --verifier-id URI] [--json]

Rebuilds an image from its inputs and checks it against a published one. REF is
docker://HOST/REPO[:TAG|@DIGEST] (or any other image reference, such as an --archive kept before:
see 'repro-image --help'); with an index, the image for --platform (default linux/amd64; for a
SPEC, its platform) is the one compared. A SPEC of several architectures (source.architectures)
without --platform is verified as its index: every platform is rebuilt, each platform's manifest
digest is compared with the published index's entry for it, and the verdict is whether the two
index digests are equal; a mismatch names the platforms that differ and explains each (--json adds
"index": both index digests and one element per platform); --attest and --attach then make a
summary of the index (its subject the published index, each platform's verdict in it), and
--archive keeps the index and every image manifest and config it lists (--from-archive verifies
the index again). --platform verifies that platform's image alone. Against
containers-storage:NAME or docker-archive:FILE, which keep no manifest digest, the content is
compared: the config digest, which covers every config field and the diff_ids of the uncompressed
layers.
Prints "reproduced sha256:..." when the rebuilt manifest digest is the published one (an index:
"reproduced sha256:... (index of N platforms)", then a line per platform); otherwise what
differs (manifest, config fields, layer digests, diff_ids, then the findings of
'repro-image diff': which files differ and the likely cause), and exits 1.
With --containerfile (--compat repro-image, the default) the image is rebuilt in our form,
compressed as the published layers are, and its manifest digest must be the published one.
With --containerfile --compat podman the published image is one podman built (podman compresses
at push with a gzip whose bytes are not reproducible from the image), proven in two steps: its
config and every layer's content are the rebuilt ones (each layer exactly one plain gzip member
decompressing to the rebuilt tar), then the rebuilt manifest around the published compressed
layers hashes to the published digest. Without --source-date-epoch the published config's
created time is used (and the record says so).

  --rootfs PATH              the root filesystem to rebuild from, with the same build options as
                             the published image (below)
  SPEC.yaml                  or rebuild from an image spec and its lock (SPEC.lock.json beside it),
                             fetching locked packages the cache lacks unless --offline
  --offline                  (spec) use only the cache; never open a network connection
  --against REF              the published image; disk:FILE.raw: a published disk image, rebuilt
                             from the spec's disk: section (or --disk) and compared byte for byte,
                             then partition by partition and file by file when they differ
  --disk DISK.yaml           (--rootfs with --against disk:) the disk definition, as for build
  --archive DIR              keep the published index, manifest and config, exactly as served, as
                             an OCI layout without layers (verify --against oci:DIR repeats the
                             proof); with a SPEC also the inputs archive (spec, lock, every locked
                             package) and any --attest/--attach summary, as referrers of the
                             published manifest (index, for a spec of several architectures without
                             --platform), named in annotations of its index.json entry
  --from-archive DIR         repeat a proof kept by 'verify SPEC --archive DIR' from DIR alone, with
                             no network: spec, lock and packages from its inputs archive (a SPEC
                             given instead supplies a spec's files:), rebuilt offline, compared
                             with the archived documents (a changed byte in them is refused, exit 1)
  --list FILE                verify every image FILE lists, one "SPEC REF" a line (spaces or tabs
                             between; a relative SPEC is relative to FILE's folder; blank lines and
                             lines starting with # skipped); the other flags apply to each. One
                             line per image in list order, then the total; exit 1 if any is not
                             reproduced or could not be verified, 2 for a bad list (line named)
  --jobs N                   (--list) how many images are verified at once (default 1, up to 64)
  --json                     a record: tool version, inputs (rootfs digest, SOURCE_DATE_EPOCH),
                             both digests, the verdict and the findings
  --attest FILE              write the result as an SLSA verification summary (an in-toto
                             Statement, VSA v1: PASSED or FAILED, the level reached, spec and lock
                             digests, the tool's version) to FILE; needs --verifier-id
  --attach                   push that summary beside the published image (--against, an oci:
                             layout or docker://) as an OCI 1.1 referrer; 'repro-image
                             attestations REF' lists them (see docs/attestations.md)
  --verifier-id URI          who verified (predicate.verifier.id), e.g. https://rebuild.example.org
  --sign-key FILE            sign the summary (a DSSE envelope) with this PEM private key, Ed25519
                             or ECDSA P-256
  --time-verified N|now      predicate.timeVerified, in seconds (default: the rebuild's
                             SOURCE_DATE_EPOCH, so a summary's bytes depend only on its inputs);
                             now: the clock
${REGISTRY_HELP}
                             (for --against)
${IMAGE_OPTIONS_HELP}
${CONTAINERFILE_HELP}
  -h, --help                 this help

Exit codes: 0 reproduced, 1 not reproduced, 2 bad usage or input, 3 I/O or network failure.`;

const { output: _output, ...REBUILD_FLAGS } = BUILD_FLAGS;
export const VERIFY_FLAGS = {
  ...REBUILD_FLAGS,
  against: { type: 'string' },
  archive: { type: 'string' },
  attest: { type: 'string' },
  attach: { type: 'boolean' },
  'verifier-id': { type: 'string' },
  'sign-key': { type: 'string' },
  'time-verified': { type: 'string' },
  'from-archive': { type: 'string' },
  list: { type: 'string' },
  jobs: { type: 'string' },
} as const;

export async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values: v, positionals } = parse(rewriteTlsFlags(args), VERIFY_FLAGS, 'verify');
  if (v.help) {
    io.stdout(`${VERIFY_HELP}\n`);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && v.rootfs)) {
    throw new ReproError('E_USAGE', `verify: unexpected argument ${JSON.stringify(positionals.at(-1))} (see repro-image verify --help)`);
  }
  if (v.jobs !== undefined && v.list === undefined) throw new ReproError('E_USAGE', 'verify: --jobs N applies to --list FILE');
  if (v.list !== undefined) return verifyListCommand(v, positionals, io);
  if (v['from-archive'] !== undefined) return verifyFromArchiveCommand(v, positionals[0], io);
  if (!v.against) throw new ReproError('E_USAGE', 'verify: --against REF is required (see repro-image verify --help)');
  if (v.containerfile !== undefined) {
    if (positionals.length > 0 || v.rootfs) throw new ReproError('E_USAGE', 'verify: --containerfile, --rootfs and a SPEC are three different inputs; give one');
    return verifyContainerfileCommand(v, io, attestFlags(v));
  }
  if (!v.rootfs && positionals.length === 0) throw new ReproError('E_USAGE', 'verify: a SPEC, --rootfs PATH or --containerfile FILE is required (see repro-image verify --help)');
  const cf = (['context', 'build-arg', 'target', 'compat', 'network', 'from-image', 'buildah', 'no-unpacked-cache', 'scratch'] as const).find((k) => v[k] !== undefined);
  if (cf) throw new ReproError('E_USAGE', `verify: --${cf} applies to --containerfile only`);
  if (v.rootfs && v.offline) throw new ReproError('E_USAGE', 'verify: --offline applies to a spec only');
  if (v.against.startsWith('disk:')) {
    const flag = (['attest', 'attach', 'verifier-id', 'sign-key', 'time-verified'] as const).find((k) => v[k] !== undefined);
    if (flag) throw new ReproError('E_USAGE', `verify: --${flag} applies to an image (--against REF), not to a disk`);
    return verifyDiskCommand(positionals[0], v, io);
  }
  const attest = attestFlags(v);
  if (v.disk !== undefined) throw new ReproError('E_USAGE', 'verify: --disk applies to --against disk:FILE');
  const progress = progressLine(io, 'rebuilding layer');
  const rebuild = v.rootfs
    ? { build: { ...rootfsBuildOptions(v.rootfs, v, io), onProgress: progress.update } }
    : { spec: { ...specBuildOptions(positionals[0]!, v, io), onProgress: progress.update } };
  const registry = registryOptions(v, io);
  const { verify } = await import('../verify/verify.js');
  const r = await verify({
    ...rebuild,
    against: v.against,
    ...(v.archive !== undefined ? { archive: v.archive } : {}),
    registry,
  }).finally(progress.end);
  report(r, io, v.json === true);
  await attest?.(r, io);
  return r.verdict === 'reproduced' ? 0 : 1;
}

type VerifyValues = ReturnType<typeof parse<typeof VERIFY_FLAGS>>['values'];

/**
 * --attest FILE, --attach, --verifier-id, --sign-key, --time-verified: checked before the rebuild
 * (a bad key fails before a long build), applied to its result.
 */
function attestFlags(v: VerifyValues): ((r: VerificationOutcome, io: Io, against?: string) => Promise<void>) | undefined {
  if (v.attest === undefined && !v.attach) {
    const stray = (['verifier-id', 'sign-key', 'time-verified'] as const).find((k) => v[k] !== undefined);
    if (stray) throw new ReproError('E_USAGE', `verify: --${stray} applies with --attest FILE or --attach`);
    return undefined;
  }
  if (v['verifier-id'] === undefined) throw new ReproError('E_USAGE', `verify: --${v.attest !== undefined ? 'attest' : 'attach'} needs --verifier-id URI (who vouches for the result)`);
  checkVerifierId(v['verifier-id'], '--verifier-id');
  if (v.attach && v.list === undefined && !/^(oci|docker):/.test(v.against ?? '')) {
    throw new ReproError('E_USAGE', `verify: --attach writes beside an image in an oci: layout or a registry (docker://), not ${JSON.stringify(v.against)}; use --attest FILE`);
  }
  const tv = v['time-verified'];
  let timeVerified: number | undefined;
  if (tv === 'now') timeVerified = Math.floor(Date.now() / 1000);
  else if (tv !== undefined) timeVerified = parseSourceDateEpoch(tv, '--time-verified');
  const keyPem = v['sign-key'] !== undefined ? readKeyFile(v['sign-key']) : undefined;
  if (keyPem) signingKey(keyPem, v['sign-key']!);
  return async (r, io, against = v.against) => {
    const { attestVerification } = await import('../sbom/vsa.js');
    const { toolInfo } = await import('../verify/tool.js');
    const out = await attestVerification(r, {
      verifierId: v['verifier-id']!, tool: toolInfo(),
      ...(timeVerified !== undefined ? { timeVerified } : {}),
      ...(keyPem ? { key: signingKey(keyPem, v['sign-key']!) } : {}),
      ...(v.attach ? { attachTo: against!, registry: registryOptions(v, io) } : {}),
    });
    if (v.attest !== undefined) {
      const { writeFileAtomic } = await import('../fs/atomic.js');
      await writeFileAtomic(v.attest, out.bytes);
    }
    if (io.verbosity !== 'quiet') {
      if (v.attest !== undefined) io.stderr(`verification summary (${out.statement.predicate.verificationResult}${keyPem ? ', signed' : ''}) written to ${v.attest}\n`);
      if (out.attached) io.stderr(`verification summary ${out.attached.digest} attached beside ${r.index ? `index ${r.index.published}` : r.published.manifest} (${out.attached.via})\n`);
      if (out.archived) io.stderr(`verification summary ${out.archived.digest} kept in ${r.published.archive}\n`);
    }
  };
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw ioError(e, `--sign-key: cannot read ${path}`);
  }
}

async function verifyContainerfileCommand(v: VerifyValues, io: Io, attest?: (r: VerificationOutcome, io: Io) => Promise<void>): Promise<number> {
  const { verifyContainerfile } = await import('../verify/containerfile.js');
  const sde = sourceDateEpochOption(v, io);
  const r = await verifyContainerfile({
    build: { ...containerfileOptions(v, io), ...(sde !== undefined ? { sourceDateEpoch: sde } : {}) },
    against: v.against!,
    ...(v.archive !== undefined ? { archive: v.archive } : {}),
    registry: registryOptions(v, io),
  });
  if (v.json === true) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  } else if (r.verdict === 'reproduced') {
    if (r.inputs.sourceDateEpochFrom === 'published-created' && io.verbosity !== 'quiet') io.stderr(`SOURCE_DATE_EPOCH ${r.inputs.sourceDateEpoch}: the published config's created time (none was given)\n`);
    if (r.inputs.compat === 'repro-image') {
      io.stdout(r.level === 'manifest' ? `reproduced ${r.published.manifest}\n`
        : `reproduced ${r.published.config} (content: config ${r.published.config} and its diff_ids; ${r.published.reference.split(':')[0]} keeps no manifest digest)\n`);
    } else io.stdout(r.level === 'manifest'
      ? `reproduced ${r.published.manifest} (config and every layer's content rebuilt bit for bit; compressed layers as published, proven to decompress to them)\n`
      : `reproduced ${r.published.config} (content: config and every layer's content rebuilt bit for bit; ${r.published.reference.split(':')[0]} keeps no manifest digest)\n`);
  } else {
    const reached = r.level === 'content' ? ' (the content is proven: config and every layer; the manifest is not)' : '';
    const lines = [`not reproduced${reached}: published ${r.published.manifest} (${r.published.reference}), rebuilt config ${r.rebuilt.config}`];
    for (const f of r.findings) lines.push(`  ${f.message}`);
    io.stdout(`${lines.join('\n')}\n`);
  }
  await attest?.(r, io);
  return r.verdict === 'reproduced' ? 0 : 1;
}

function report(r: VerifyResult, io: Io, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  if (r.index) {
    const rows = r.index.platforms.map((p) => `  ${p.platform}: ${p.verdict === 'reproduced' ? `reproduced ${p.rebuilt!.manifest}`
      : p.rebuilt === null ? `only in the published index (${p.published!.manifest})`
        : p.published === null ? `not in the published index (rebuilt ${p.rebuilt.manifest})`
          : `not reproduced: rebuilt ${p.rebuilt.manifest}, published ${p.published.manifest}`}`);
    if (r.verdict === 'reproduced') {
      io.stdout(`${[`reproduced ${r.index.rebuilt} (index of ${r.index.platforms.length} platforms)`, ...rows].join('\n')}\n`);
      return;
    }
    const differ = r.index.platforms.filter((p) => p.verdict !== 'reproduced').map((p) => p.platform);
    const lines = [
      `not reproduced: rebuilt index ${r.index.rebuilt}, published ${r.index.published} (${r.published.reference}); ${differ.length > 0 ? `platforms that differ: ${differ.join(', ')}` : 'every platform reproduced, the index differs'}`,
      ...rows,
    ];
    // A platform's own verdict is its row above; the findings explain it.
    for (const f of r.findings) if (!/^platforms\[[^\]]*\](\.manifest)?$/.test(f.path)) lines.push(`  ${f.message}`);
    io.stdout(`${lines.join('\n')}\n`);
    return;
  }
  if (r.verdict === 'reproduced') {
    io.stdout(r.level === 'content'
      ? `reproduced ${r.rebuilt.manifest} (content: config ${r.rebuilt.config} and its diff_ids; ${r.published.reference.split(':')[0]} keeps no manifest digest)\n`
      : `reproduced ${r.rebuilt.manifest}\n`);
    return;
  }
  const lines = [`not reproduced: rebuilt ${r.rebuilt.manifest}, published ${r.published.manifest} (${r.published.reference})`];
  for (const f of r.findings) lines.push(`  ${f.message}`);
  io.stdout(`${lines.join('\n')}\n`);
}

async function verifyDiskCommand(spec: string | undefined, v: ReturnType<typeof parse<typeof VERIFY_FLAGS>>["values"], io: Io): Promise<number> {
  if (spec === undefined && v.disk === undefined) throw new ReproError('E_USAGE', 'verify: --rootfs with --against disk:FILE needs --disk DISK.yaml');
  if (spec !== undefined && v.disk !== undefined) throw new ReproError('E_USAGE', `${spec}: the disk is the spec's disk: section; --disk is for --rootfs`);
  const sde = sourceDateEpochOption(v, io);
  const { verifyDisk } = await import('../verify/verify-disk.js');
  const r = await verifyDisk({
    build: {
      ...(spec !== undefined ? { spec, cacheDir: defaultCacheDir(io.env) } : { rootfs: v.rootfs!, disk: v.disk! }),
      ...(sde !== undefined ? { sourceDateEpoch: sde } : {}),
      ...(v.offline ? { offline: true } : {}),
      ...(v.normalize !== undefined ? { normalize: selectPasses(v.normalize) } : {}),
      ...(v.exclude ? { exclude: v.exclude } : {}),
      ...(v['no-xattrs'] ? { xattrs: false } : {}),
      tmpDir: tmpdir(),
      onWarning: (m) => io.stderr(`warning: ${m}\n`),
    },
    against: v.against!,
  });
  if (v.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.verdict === 'reproduced') io.stdout(`reproduced ${r.rebuilt.sha256}\n`);
  else io.stdout(`${[`not reproduced: rebuilt ${r.rebuilt.sha256}, published ${r.published.sha256} (${r.published.reference})`, ...r.findings.map((f) => `  ${f.message}`)].join('\n')}\n`);
  return r.verdict === 'reproduced' ? 0 : 1;
}

/** Flags that name one image's inputs or outputs, which a list (or an archive) supplies instead. */
function refuse(v: VerifyValues, flags: ReadonlyArray<keyof VerifyValues>, what: string): void {
  const f = flags.find((k) => v[k] !== undefined && v[k] !== false);
  if (f !== undefined) throw new ReproError('E_USAGE', `verify: --${String(f)} does not apply with ${what}`);
}

async function verifyFromArchiveCommand(v: VerifyValues, spec: string | undefined, io: Io): Promise<number> {
  refuse(v, ['against', 'rootfs', 'containerfile', 'archive', 'attach', 'disk', 'source-date-epoch', 'annotation'], '--from-archive (the archive says what to compare and how it was rebuilt)');
  const attest = attestFlags(v);
  const { verifyFromArchive } = await import('../verify/from-archive.js');
  const progress = progressLine(io, 'rebuilding layer');
  const r = await verifyFromArchive({
    archive: v['from-archive']!,
    ...(spec !== undefined ? { spec } : {}),
    cacheDir: defaultCacheDir(io.env),
    tmpDir: tmpdir(),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
    onProgress: progress.update,
  }).finally(progress.end);
  report(r, io, v.json === true);
  await attest?.(r, io);
  return r.verdict === 'reproduced' ? 0 : 1;
}

async function verifyListCommand(v: VerifyValues, positionals: string[], io: Io): Promise<number> {
  if (positionals.length > 0) throw new ReproError('E_USAGE', `verify: unexpected argument ${JSON.stringify(positionals[0])}: with --list the specs are in the list`);
  refuse(v, ['against', 'rootfs', 'containerfile', 'archive', 'from-archive', 'attest', 'disk'], '--list (each line names its spec and image; --attest FILE would be one file for all: use --attach)');
  const jobs = v.jobs === undefined ? 1 : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ReproError('E_USAGE', `--jobs: expected 1 to 64, got ${JSON.stringify(v.jobs)}`);
  const { readVerifyList, verifyList, renderListEntry } = await import('../verify/list.js');
  const entries = readVerifyList(v.list!);
  if (v.attach) {
    const bad = entries.find((e) => !/^(oci|docker):/.test(e.against));
    if (bad) throw new ReproError('E_USAGE', `${v.list}:${bad.line}: --attach writes beside an image in an oci: layout or a registry (docker://), not ${JSON.stringify(bad.against)}`);
  }
  const attest = attestFlags(v);
  const { spec: _spec, onWarning, ...common } = specBuildOptions(v.list!, v, io);
  const json = v.json === true;
  const r = await verifyList({
    entries, jobs,
    spec: { ...common, ...(onWarning ? { onWarning } : {}) },
    registry: registryOptions(v, io),
    ...(attest ? { after: (e, result) => attest(result, io, e.against) } : {}),
    onEntry: (o) => { if (!json) io.stdout(`${renderListEntry(o)}\n`); },
  });
  if (json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else io.stdout(`${r.summary.text}\n`);
  return r.summary.reproduced === r.summary.total ? 0 : 1;
}
