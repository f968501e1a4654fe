/**
 * Index-level `verify` and `diff` of a two-platform spec (issue 19), on the hermetic signed
 * repository of multiarch.test.ts: `verify SPEC --against oci:INDEX` without --platform rebuilds
 * the whole index and compares its digest and each platform's manifest digest; against an index
 * whose arm64 image was built with another SOURCE_DATE_EPOCH it is not reproduced and names
 * linux/arm64/v8 (exit 1); `diff` of the two indexes names that platform alone. --platform keeps
 * the one-platform verify; --attest and --attach make one summary of the index (PASSED or FAILED,
 * each platform's verdict in it, attached beside the index); --archive keeps an index-level proof
 * that --from-archive verifies again (a changed byte in any platform's manifest or config refused;
 * a spec of one architecture refused; an artifact or nested index in the published index not
 * kept); --from-archive repeats a one-platform proof of the spec's second platform.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../../helpers/cli.js';
import { schemaErrors } from '../../helpers/attestation-schema.js';
import { startRegistry } from '../../transports/registry/harness.js';
import { makeKey, makeRepo, type Repo } from '../../helpers/debian-repo.js';
import { MULTIARCH_PACKAGES } from '../../helpers/multiarch-packages.js';


let dir: string;
let repo: Repo;
let keyring: string;
let spec: string;
let cache: string;
let published: string;
let index: string;

interface Index { schemaVersion: number; mediaType: string; manifests: Array<{ mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } }> }
interface IndexVsa {
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicate: {
    verificationResult: string;
    verifiedLevels: string[];
    'urn:repro-image:rebuild:v1': { platform?: string; rebuilt: Record<string, string>; published: Record<string, string>; platforms: Array<{ platform: string; verdict: string; rebuilt?: string; published?: string }> };
  };
}
interface IndexJson { index?: { rebuilt: string; published: string; platforms: Array<{ platform: string; verdict: string; rebuilt: { manifest: string } | null; published: { manifest: string } | null }> }; verdict: string; findings: Array<{ path: string; message: string }>; inputs: { platform: string }; rebuilt: { manifest: string }; published: { manifest: string; index?: string } }

const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (layout: string, digest: string): Buffer => readFileSync(join(layout, 'blobs/sha256', digest.slice(7)));

/** An OCI layout (tag t) whose index is `doc`, with the blobs of every layout in `from`. */
function layoutOf(path: string, doc: Index, from: string[]): void {
  mkdirSync(path, { recursive: true });
  for (const f of from) cpSync(join(f, 'blobs'), join(path, 'blobs'), { recursive: true, force: false, errorOnExist: false });
  const bytes = Buffer.from(JSON.stringify(doc));
  writeFileSync(join(path, 'blobs/sha256', sha(bytes).slice(7)), bytes);
  writeFileSync(join(path, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(path, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: doc.mediaType, digest: sha(bytes), size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': 't' } }],
  }));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'multiarch-verify-'));
  const signer = makeKey(dir, 'archive');
  keyring = signer.keyring;
  repo = await makeRepo(dir, MULTIARCH_PACKAGES, signer, { architectures: ['amd64', 'arm64'] });
  cache = join(dir, 'cache');
  mkdirSync(join(dir, 'two'));
  spec = join(dir, 'two/image.yaml');
  writeFileSync(spec, `name: two\nsource:\n  distro: debian\n  suite: testing\n  architectures: [arm64, amd64]\n  mirrors: ["${repo.url}"]\n  keyring: ${keyring}\npackages: [hello]\nconfig:\n  cmd: [/usr/bin/hello]\n`);
  await ok(['lock', spec]);
  await ok(['fetch', spec]);
  published = join(dir, 'published');
  index = (await ok(['build', spec, '--offline', '--output', `oci:${published}:t`])).trim();
});
after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('verify SPEC --against an index without --platform: the whole index is rebuilt and compared, each platform named (reproduced)', async () => {
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  const text = await ok(['verify', spec, '--offline', '--against', `oci:${published}:t`]);
  assert.deepEqual(text.trim().split('\n'), [
    `reproduced ${index} (index of 2 platforms)`,
    `  linux/amd64: reproduced ${doc.manifests[0]!.digest}`,
    `  linux/arm64/v8: reproduced ${doc.manifests[1]!.digest}`,
  ]);
  const r = JSON.parse(await ok(['verify', spec, '--offline', '--against', `oci:${published}:t`, '--json'])) as IndexJson;
  assert.equal(r.verdict, 'reproduced');
  assert.deepEqual(r.index, {
    rebuilt: index, published: index,
    platforms: [
      { platform: 'linux/amd64', verdict: 'reproduced', rebuilt: { manifest: doc.manifests[0]!.digest, config: (JSON.parse(blob(published, doc.manifests[0]!.digest).toString('utf8')) as { config: { digest: string } }).config.digest }, published: { manifest: doc.manifests[0]!.digest } },
      { platform: 'linux/arm64/v8', verdict: 'reproduced', rebuilt: { manifest: doc.manifests[1]!.digest, config: (JSON.parse(blob(published, doc.manifests[1]!.digest).toString('utf8')) as { config: { digest: string } }).config.digest }, published: { manifest: doc.manifests[1]!.digest } },
    ],
  });
  // The one-image fields describe the spec's first platform (arm64), as the one-platform verify did.
  assert.equal(r.inputs.platform, 'linux/arm64/v8');
  assert.equal(r.rebuilt.manifest, doc.manifests[1]!.digest);
  assert.equal(r.published.manifest, doc.manifests[1]!.digest);
  assert.equal(r.published.index, index);
});

test('verify against an index whose arm64 image differs: not reproduced (exit 1), naming linux/arm64/v8 and explaining it; diff of the two indexes names that platform alone', async () => {
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  // arm64 built with another SOURCE_DATE_EPOCH; amd64 as published.
  const other = join(dir, 'arm64-other');
  const arm = (await ok(['build', spec, '--offline', '--platform', 'linux/arm64', '--source-date-epoch', '1600000000', '--output', `oci:${other}:t`])).trim();
  assert.notEqual(arm, doc.manifests[1]!.digest);
  const mixed = join(dir, 'mixed');
  layoutOf(mixed, { ...doc, manifests: [doc.manifests[0]!, { ...doc.manifests[1]!, digest: arm, size: blob(other, arm).length }] }, [published, other]);

  const r = await run(['verify', spec, '--offline', '--against', `oci:${mixed}:t`]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`^not reproduced: rebuilt index ${index}, published sha256:[0-9a-f]{64} \\(oci:${mixed}:t\\); platforms that differ: linux/arm64/v8$`));
  assert.equal(lines[1], `  linux/amd64: reproduced ${doc.manifests[0]!.digest}`);
  assert.equal(lines[2], `  linux/arm64/v8: not reproduced: rebuilt ${doc.manifests[1]!.digest}, published ${arm}`);
  assert.ok(lines.slice(3).every((l) => l.startsWith('  linux/arm64/v8: ')), r.stdout);
  assert.equal(lines.filter((l) => l.startsWith('  linux/arm64/v8: not reproduced')).length, 1, r.stdout);
  assert.ok(lines.some((l) => /linux\/arm64\/v8: config\.created: rebuilt/.test(l)), r.stdout);

  const j = JSON.parse((await run(['verify', spec, '--offline', '--against', `oci:${mixed}:t`, '--json'])).stdout) as IndexJson;
  assert.equal(j.verdict, 'not-reproduced');
  assert.equal(j.index!.rebuilt, index);
  assert.notEqual(j.index!.published, index);
  assert.deepEqual(j.index!.platforms.map((p) => [p.platform, p.verdict]), [['linux/amd64', 'reproduced'], ['linux/arm64/v8', 'not-reproduced']]);
  assert.ok(j.findings.length > 1 && j.findings.every((f) => f.path.startsWith('platforms[linux/arm64/v8]')), JSON.stringify(j.findings));

  // Its summary: FAILED, about the published (mixed) index, each platform's verdict in it.
  const vsa = join(dir, 'vsa-mixed.json');
  const f = await run(['verify', spec, '--offline', '--against', `oci:${mixed}:t`, '--attest', vsa, '--verifier-id', 'https://rebuild.example.org']);
  assert.equal(f.status, 1, f.stdout + f.stderr);
  const st = JSON.parse(readFileSync(vsa, 'utf8')) as IndexVsa;
  assert.deepEqual(schemaErrors(st), []);
  assert.equal(st.subject[0]!.digest.sha256, j.index!.published.slice(7));
  assert.equal(st.predicate.verificationResult, 'FAILED');
  assert.deepEqual(st.predicate.verifiedLevels, ['FAILED']);
  assert.deepEqual(st.predicate['urn:repro-image:rebuild:v1'].platforms, [
    { platform: 'linux/amd64', verdict: 'reproduced', rebuilt: doc.manifests[0]!.digest, published: doc.manifests[0]!.digest },
    { platform: 'linux/arm64/v8', verdict: 'not-reproduced', rebuilt: doc.manifests[1]!.digest, published: arm },
  ]);

  // --platform keeps the one-platform verify and its output.
  assert.equal((await ok(['verify', spec, '--offline', '--platform', 'linux/amd64', '--against', `oci:${mixed}:t`])).trim(), `reproduced ${doc.manifests[0]!.digest}`);
  const one = await run(['verify', spec, '--offline', '--platform', 'linux/arm64', '--against', `oci:${mixed}:t`]);
  assert.equal(one.status, 1);
  assert.match(one.stdout, new RegExp(`^not reproduced: rebuilt ${doc.manifests[1]!.digest}, published ${arm} \\(oci:${mixed}:t\\)\n`));

  // diff without --platform compares every platform; only arm64 differs.
  const d = await run(['diff', `oci:${published}:t`, `oci:${mixed}:t`, '--format', 'json']);
  assert.equal(d.status, 1, d.stderr);
  const diff = JSON.parse(d.stdout) as { differences: Array<{ location: { platform?: string; level: string }; field: string }> };
  assert.ok(diff.differences.length > 0);
  assert.deepEqual([...new Set(diff.differences.map((x) => x.location.platform))], ['linux/arm64/v8'], d.stdout);
  const t = await run(['diff', `oci:${published}:t`, `oci:${mixed}:t`]);
  assert.equal(t.status, 1);
  assert.match(t.stdout, /platform linux\/arm64\/v8/);
  assert.doesNotMatch(t.stdout, /linux\/amd64/);
});

test('a platform present in one index only: verify says which, diff lists it', async () => {
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  const amd = join(dir, 'amd64-only');
  layoutOf(amd, { ...doc, manifests: [doc.manifests[0]!] }, [published]);
  const r = await run(['verify', spec, '--offline', '--against', `oci:${amd}:t`]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /platforms that differ: linux\/arm64\/v8\n/);
  assert.match(r.stdout, new RegExp(`  linux/arm64/v8: not in the published index \\(rebuilt ${doc.manifests[1]!.digest}\\)`));
  assert.match(r.stdout, new RegExp(`  linux/amd64: reproduced ${doc.manifests[0]!.digest}`));
  const d = await run(['diff', `oci:${published}:t`, `oci:${amd}:t`, '--format', 'json']);
  assert.equal(d.status, 1, d.stderr);
  const diff = JSON.parse(d.stdout) as { differences: Array<{ field: string; a?: unknown; b?: unknown }> };
  assert.deepEqual(diff.differences.filter((x) => x.field === 'platforms'), [{ location: { level: 'index' }, field: 'platforms', a: 'linux/arm64/v8', finding: 'platforms' }]);
});

test('index-level verify refuses a reference to one image (exit 2); --attest and --attach make one summary of the index, each platform in it', async () => {
  const against = `oci:${published}:t`;
  const single = join(dir, 'amd64-image');
  await ok(['build', spec, '--offline', '--platform', 'linux/amd64', '--output', `oci:${single}:t`]);
  const s = await run(['verify', spec, '--offline', '--against', `oci:${single}:t`]);
  assert.equal(s.status, 2, s.stderr);
  assert.match(s.stderr, /names one image \(sha256:[0-9a-f]{64}\), not an index, and the spec builds linux\/arm64\/v8, linux\/amd64: verify one platform with --platform/);
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;

  // --attest: the summary's subject is the published index, every platform's verdict in it.
  const file = join(dir, 'vsa-index.json');
  await ok(['verify', spec, '--offline', '--against', against, '--attest', file, '--verifier-id', 'https://rebuild.example.org']);
  const st = JSON.parse(readFileSync(file, 'utf8')) as IndexVsa;
  assert.deepEqual(schemaErrors(st), []);
  assert.deepEqual(st.subject, [{ name: against, digest: { sha256: index.slice(7) } }]);
  assert.equal(st.predicate.verificationResult, 'PASSED');
  assert.deepEqual(st.predicate.verifiedLevels, ['REPRO_IMAGE_REBUILT_DIGEST']);
  const fields = st.predicate['urn:repro-image:rebuild:v1'];
  assert.equal(fields.platform, undefined);
  assert.deepEqual(fields.rebuilt, { index });
  assert.deepEqual(fields.published, { index });
  assert.deepEqual(fields.platforms, [
    { platform: 'linux/amd64', verdict: 'reproduced', rebuilt: doc.manifests[0]!.digest, published: doc.manifests[0]!.digest },
    { platform: 'linux/arm64/v8', verdict: 'reproduced', rebuilt: doc.manifests[1]!.digest, published: doc.manifests[1]!.digest },
  ]);

  // --attach: a referrer of the index, beside it (the index digest unchanged); attestations lists it.
  const copy = join(dir, 'attach-index');
  cpSync(published, copy, { recursive: true });
  const a = await run(['verify', spec, '--offline', '--against', `oci:${copy}:t`, '--attach', '--verifier-id', 'https://rebuild.example.org']);
  assert.equal(a.status, 0, a.stdout + a.stderr);
  assert.match(a.stderr, new RegExp(`verification summary sha256:[0-9a-f]{64} attached beside index ${index} \\(index.json\\)`));
  assert.equal(sha(blob(copy, index)), index);
  const listed = JSON.parse(await ok(['attestations', `oci:${copy}:t`, '--json'])) as { attestations: Array<{ subject: string; valid: boolean; result?: string; verifierId?: string }> };
  assert.deepEqual(listed.attestations.map((x) => ({ subject: x.subject, valid: x.valid, result: x.result, verifierId: x.verifierId })), [
    { subject: index, valid: true, result: 'PASSED', verifierId: 'https://rebuild.example.org' },
  ]);
  // Again: the same bytes, nothing new beside the index.
  await ok(['verify', spec, '--offline', '--against', `oci:${copy}:t`, '--attach', '--verifier-id', 'https://rebuild.example.org']);
  assert.equal((JSON.parse(await ok(['attestations', `oci:${copy}:t`, '--json'])) as { attestations: unknown[] }).attestations.length, 1);

  // In a list, a line of such a spec is verified as an index and its summary attached beside it.
  const copy2 = join(dir, 'attach-list');
  cpSync(published, copy2, { recursive: true });
  const list = join(dir, 'images.list');
  writeFileSync(list, `# SPEC REF\n${spec} oci:${copy2}:t\n`);
  const l = await run(['verify', '--list', list, '--offline', '--attach', '--verifier-id', 'https://rebuild.example.org']);
  assert.equal(l.status, 0, l.stdout + l.stderr);
  assert.match(l.stdout, new RegExp(`^reproduced index ${index} oci:${copy2}:t \\(${spec}, line 2\\)\n`));
  const fromList = JSON.parse(await ok(['attestations', `oci:${copy2}:t`, '--json'])) as { attestations: Array<{ subject: string; valid: boolean }> };
  assert.deepEqual(fromList.attestations.map((x) => [x.subject, x.valid]), [[index, true]]);
  // With --platform, a summary of that platform's image, as before.
  await ok(['verify', spec, '--offline', '--platform', 'linux/amd64', '--against', against, '--attest', join(dir, 'vsa.json'), '--verifier-id', 'https://rebuild.example.org']);
  const one = JSON.parse(readFileSync(join(dir, 'vsa.json'), 'utf8')) as IndexVsa;
  assert.equal(one.predicate.verificationResult, 'PASSED');
  assert.equal(one.predicate['urn:repro-image:rebuild:v1'].platform, 'linux/amd64');
  assert.notEqual(one.subject[0]!.digest.sha256, index.slice(7));
});

test('index-level --archive keeps the index and each image, the inputs and the summary beside the index; --from-archive verifies the index again; a changed byte is refused', async () => {
  const proof = join(dir, 'proof-index');
  const r = await run(['verify', spec, '--offline', '--against', `oci:${published}:t`, '--archive', proof, '--attest', join(dir, 'vsa-archived.json'), '--verifier-id', 'https://rebuild.example.org']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  // The index, each image manifest and config as published (digests checked as they are read), no layer.
  assert.equal(sha(blob(proof, index)), index);
  for (const m of doc.manifests) {
    assert.equal(sha(blob(proof, m.digest)), m.digest);
    const manifest = JSON.parse(blob(proof, m.digest).toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    assert.equal(sha(blob(proof, manifest.config.digest)), manifest.config.digest);
    for (const l of manifest.layers) assert.throws(() => blob(proof, l.digest), /ENOENT/);
  }
  const entries = (JSON.parse(readFileSync(join(proof, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> }).manifests;
  const root = entries.find((e) => e.annotations?.['dev.repro-image.verify.rebuild'] === 'spec')!;
  assert.equal(root.digest, index);
  assert.equal(root.annotations!['dev.repro-image.verify.platform'], undefined);
  assert.match(root.annotations!['dev.repro-image.verify.inputs']!, /^sha256:[0-9a-f]{64}$/);
  // The summary is kept beside the index it is about.
  const listed = JSON.parse(await ok(['attestations', `oci:${proof}:t`, '--json'])) as { attestations: Array<{ subject: string; valid: boolean; result?: string }> };
  assert.deepEqual(listed.attestations.map((x) => [x.subject, x.valid, x.result]), [[index, true, 'PASSED']]);

  const again = JSON.parse(await ok(['verify', '--from-archive', proof, '--json'])) as IndexJson & { fromArchive: { spec: string } };
  assert.equal(again.verdict, 'reproduced');
  assert.equal(again.index!.rebuilt, index);
  assert.equal(again.index!.published, index);
  assert.deepEqual(again.index!.platforms.map((p) => [p.platform, p.verdict]), [['linux/amd64', 'reproduced'], ['linux/arm64/v8', 'reproduced']]);
  assert.equal(again.fromArchive.spec, 'archived');

  // A changed byte in an archived manifest: its digest no longer holds, the proof is refused.
  const tampered = join(dir, 'proof-index-tampered');
  cpSync(proof, tampered, { recursive: true });
  const arm = doc.manifests[1]!.digest;
  const bytes = blob(tampered, arm);
  bytes[bytes.indexOf('"')] = 0x20;
  writeFileSync(join(tampered, 'blobs/sha256', arm.slice(7)), bytes);
  const t = await run(['verify', '--from-archive', tampered]);
  assert.equal(t.status, 1, t.stdout + t.stderr);
  assert.match(t.stderr, new RegExp(`blob ${arm} has the wrong content`));
});

test('--archive of the second platform, then --from-archive: the proof is repeated for the platform it names', async () => {
  const proof = join(dir, 'proof-amd64');
  await ok(['verify', spec, '--offline', '--platform', 'linux/amd64', '--against', `oci:${published}:t`, '--archive', proof]);
  const r = JSON.parse(await ok(['verify', '--from-archive', proof, '--json'])) as IndexJson;
  assert.equal(r.verdict, 'reproduced');
  assert.equal(r.inputs.platform, 'linux/amd64');
  assert.equal(r.index, undefined);
});

test('index-level verify --attach against a registry (the tag fallback): the summary is a referrer of the index, whose digest is unchanged', async () => {
  const registry = await startRegistry({ kind: 'none' });
  try {
    const ref = `docker://${registry.host}/multi/two:1`;
    assert.equal((await ok(['copy', `oci:${published}:t`, ref, '--tls-verify=false'])).trim(), index);
    const a = await run(['verify', spec, '--offline', '--against', ref, '--tls-verify=false', '--attach', '--verifier-id', 'https://rebuild.example.org']);
    assert.equal(a.status, 0, a.stdout + a.stderr);
    assert.match(a.stderr, new RegExp(`attached beside index ${index} \\(`));
    const listed = JSON.parse(await ok(['attestations', ref, '--tls-verify=false', '--json'])) as { attestations: Array<{ subject: string; valid: boolean; result?: string }> };
    assert.deepEqual(listed.attestations.map((x) => [x.subject, x.valid, x.result]), [[index, true, 'PASSED']]);
    // The tag still names the index it named, and a copy out of the registry is the published index.
    assert.equal((await ok(['copy', ref, `oci:${join(dir, 'back')}:t`, '--tls-verify=false'])).trim(), index);
  } finally {
    await registry.stop();
  }
});

/** An index-level proof of the published index, made once for the tests below. */
let indexProof: string | undefined;
async function indexLevelProof(): Promise<string> {
  if (indexProof === undefined) {
    indexProof = join(dir, 'proof-index-2');
    await ok(['verify', spec, '--offline', '--against', `oci:${published}:t`, '--archive', indexProof]);
  }
  return indexProof;
}

test('an index-level proof: a changed byte in any platform\'s archived manifest or config is refused, not only the first platform\'s', async () => {
  const proof = await indexLevelProof();
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  // amd64 is the spec's second platform (architectures: [arm64, amd64]).
  const amd = doc.manifests[0]!.digest;
  const amdConfig = (JSON.parse(blob(published, amd).toString('utf8')) as { config: { digest: string } }).config.digest;
  for (const [name, digest] of [['manifest', amd], ['config', amdConfig]] as const) {
    const tampered = join(dir, `proof-index-tampered-amd64-${name}`);
    cpSync(proof, tampered, { recursive: true });
    const bytes = blob(tampered, digest);
    bytes[bytes.indexOf('"')] = 0x20;
    writeFileSync(join(tampered, 'blobs/sha256', digest.slice(7)), bytes);
    const t = await run(['verify', '--from-archive', tampered]);
    assert.equal(t.status, 1, `${name}: ${t.stdout}${t.stderr}`);
    assert.match(t.stderr, new RegExp(`blob ${digest} has the wrong content`));
  }
});

test('an index-level proof given a spec of one architecture: refused (exit 2), not a verdict about one of its images', async () => {
  const proof = await indexLevelProof();
  mkdirSync(join(dir, 'one'));
  const one = join(dir, 'one/image.yaml');
  writeFileSync(one, `name: two\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${keyring}\npackages: [hello]\nconfig:\n  cmd: [/usr/bin/hello]\n`);
  await ok(['lock', one]);
  const r = await run(['verify', one, '--from-archive', proof]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /about the index .*names no platform/);
});

test('index-level --archive of an index that also lists an artifact and a nested index: the images are kept, the rest is not', async () => {
  const doc = JSON.parse(blob(published, index).toString('utf8')) as Index;
  const extra = join(dir, 'with-artifact');
  mkdirSync(join(extra, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer | string): { digest: string; size: number } => {
    const bytes = Buffer.from(b);
    writeFileSync(join(extra, 'blobs/sha256', sha(bytes).slice(7)), bytes);
    return { digest: sha(bytes), size: bytes.length };
  };
  const empty = put('{}');
  const note = put('note');
  const artifact = put(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.note',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', ...empty }, layers: [{ mediaType: 'text/plain', ...note }],
  }));
  const nested = put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [doc.manifests[0]!] }));
  layoutOf(extra, {
    ...doc,
    manifests: [...doc.manifests, { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...artifact }, { mediaType: 'application/vnd.oci.image.index.v1+json', ...nested }],
  }, [published]);
  const proof = join(dir, 'proof-with-artifact');
  const r = await run(['verify', spec, '--offline', '--against', `oci:${extra}:t`, '--archive', proof]);
  // Not the published index (it lists more), but a proof is kept.
  assert.equal(r.status, 1, r.stdout + r.stderr);
  for (const m of doc.manifests) assert.equal(sha(blob(proof, m.digest)), m.digest);
  assert.throws(() => blob(proof, artifact.digest), /ENOENT/);
  assert.throws(() => blob(proof, nested.digest), /ENOENT/);
  const again = await run(['verify', '--from-archive', proof]);
  assert.equal(again.status, 1, again.stdout + again.stderr);
  assert.match(again.stdout, /^not reproduced: rebuilt index /);
});
