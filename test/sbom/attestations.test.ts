/**
 * Provenance and independent rebuild attestations (issue 17 parts 3 and 4), with real parts: the
 * hermetic signed Debian repository, Debian's docker-registry on 127.0.0.1 (no referrers API, so
 * the sha256-HEX fallback tag), oci: layouts, keys made by openssl. `build --provenance` gives
 * the same bytes twice and leaves the image digest as it was; `verify --attach` by three verifiers
 * (Ed25519-signed, ECDSA-signed, unsigned) is summarised by `attestations`; a tampered signature
 * and a VSA whose subject is another image are refused; every statement passes
 * docs/attestation-schema.json; the DSSE PAE and the DSSE spec's own test vector check out.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { ATTESTATION_SCHEMA, schemaErrors } from '../helpers/attestation-schema.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';
import {
  attachReferrers, attestations, encodeAttestation, envelopeVerifies, pae, parseEnvelope, parseImageRef, signEnvelope, signingKey, verificationKey,
  vsaStatement, VSA_PREDICATE_TYPE, PROVENANCE_PREDICATE_TYPE, INTOTO_MEDIA_TYPE, DSSE_MEDIA_TYPE,
} from '../../src/index.js';

const SCHEMA = ATTESTATION_SCHEMA;

const PACKAGES: TestPackage[] = [
  { name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'from hello-base\n' } },
  { name: 'app', version: '1:1.0-2', fields: { Depends: 'hello-base' }, files: { '/usr/bin/app': { data: '#!/bin/sh\n', mode: 0o755 } } },
];

let dir: string;
let repo: Repo;
let spec: string;
let cache: string;
let registry: StartedRegistry;
let root: string;
const EPOCH = '1700000000';
const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const keys: Record<string, string> = {};

interface Listed { attestations: Array<{ referrer: string; verifierId?: string; valid: boolean; problem?: string; signature: string; signer?: string; result?: string; level?: string }>; summary: { reproduced: number; failed: number; invalid: number; level?: string; text: string }; subjects: Array<{ via: string }> }

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attestations-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec/image.yaml');
  cache = join(dir, 'cache');
  writeFileSync(join(dir, 'spec/motd'), 'welcome\n');
  mkdirSync(join(dir, 'spec/conf/b'), { recursive: true });
  writeFileSync(join(dir, 'spec/conf/b/z.conf'), 'z\n');
  writeFileSync(join(dir, 'spec/conf/a.conf'), 'a\n');
  writeFileSync(spec, `name: attested\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\npackages: [app]\nfiles:\n  - {src: motd, dest: /etc/motd}\n  - {src: conf, dest: /etc/app/}\n`);
  await ok(['lock', spec]);
  await ok(['fetch', spec]);
  registry = await startRegistry({ kind: 'none' });
  root = join(dir, 'root');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/hello'), 'hi\n');
  for (const [name, args] of [['ed', ['-algorithm', 'ed25519']], ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['other', ['-algorithm', 'ed25519']]] as const) {
    keys[name] = join(dir, `${name}.pem`);
    execFileSync('openssl', ['genpkey', ...args, '-out', keys[name]!]);
    execFileSync('openssl', ['pkey', '-in', keys[name]!, '-pubout', '-out', join(dir, `${name}.pub`)]);
  }
});
after(async () => {
  await registry?.stop();
  await repo?.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('DSSE: PAE as the spec writes it, and the spec\'s ECDSA P-256 test vector verifies (raw r||s); a changed payload does not', () => {
  assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  assert.equal(pae('t', Buffer.alloc(0)).toString(), 'DSSEv1 1 t 0 ');
  const b64url = (dec: string): string => Buffer.from(BigInt(dec).toString(16).padStart(64, '0'), 'hex').toString('base64url');
  const key = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC', crv: 'P-256',
      x: b64url('46950820868899156662930047687818585632848591499744589407958293238635476079160'),
      y: b64url('5640078356564379163099075877009565129882514886557779369047442380624545832820'),
      d: b64url('97358161215184420915383655311931858321456579547487070936769975997791359926199'),
    },
  });
  const pub = verificationKey(key.export({ type: 'pkcs8', format: 'pem' }), 'vector');
  const envelope = Buffer.from(JSON.stringify({ payload: 'aGVsbG8gd29ybGQ=', payloadType: 'http://example.com/HelloWorld', signatures: [{ sig: 'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==' }] }));
  assert.equal(envelopeVerifies(parseEnvelope(envelope, 'vector'), pub), true);
  const changed = Buffer.from(envelope.toString().replace('aGVsbG8gd29ybGQ=', 'aGVsbG8gd29ybGE='));
  assert.equal(envelopeVerifies(parseEnvelope(changed, 'vector'), pub), false);
  // Our own signatures round-trip, Ed25519 deterministically.
  const ed = signingKey(readFileSync(keys['ed']!), 'ed');
  const a = signEnvelope(Buffer.from('{}'), INTOTO_MEDIA_TYPE, ed);
  assert.deepEqual(a, signEnvelope(Buffer.from('{}'), INTOTO_MEDIA_TYPE, ed));
  assert.equal(envelopeVerifies(parseEnvelope(Buffer.from(JSON.stringify(a)), 'a'), verificationKey(readFileSync(join(dir, 'ed.pub')), 'ed.pub')), true);
  assert.equal(envelopeVerifies(parseEnvelope(Buffer.from(JSON.stringify(a)), 'a'), verificationKey(readFileSync(join(dir, 'other.pub')), 'other.pub')), false);
  // An RSA key is refused by name.
  execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', join(dir, 'rsa.pem')]);
  assert.throws(() => signingKey(readFileSync(join(dir, 'rsa.pem')), 'rsa.pem'), /rsa.pem: a rsa key; expected Ed25519 or ECDSA P-256/);
});

test('build --provenance: the same bytes from two builds to two outputs, the image digest unchanged, every locked file a resolved dependency, schema-valid', async () => {
  const plain = (await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'plain')}:t`])).trim();
  const a = join(dir, 'a.intoto.json');
  const b = join(dir, 'b.intoto.json');
  const da = (await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'prov-a')}:t`, '--provenance', '--provenance-file', a])).trim();
  const db = (await ok(['build', spec, '--offline', '--output', `oci-archive:${join(dir, 'prov-b.tar')}:x`, '--provenance', '--provenance-file', b])).trim();
  assert.equal(da, plain);
  assert.equal(db, plain);
  assert.deepEqual(readFileSync(a), readFileSync(b));
  // Only the file (a docker-archive cannot hold the referrer): still the same bytes.
  const c = join(dir, 'c.intoto.json');
  await ok(['build', spec, '--offline', '--output', `docker-archive:${join(dir, 'd.tar')}`, '--provenance-file', c]);
  assert.deepEqual(readFileSync(c), readFileSync(a));
  const s = JSON.parse(readFileSync(a, 'utf8')) as { subject: Array<{ digest: { sha256: string } }>; predicateType: string; predicate: { buildDefinition: { externalParameters: { sourceDateEpoch: number; lock: { digest: { sha256: string } } }; resolvedDependencies: Array<{ name: string; uri: string; digest: { sha256: string } }> }; runDetails: { builder: { id: string; version: Record<string, string> } } } };
  assert.deepEqual(schemaErrors(s), []);
  assert.equal(s.predicateType, PROVENANCE_PREDICATE_TYPE);
  assert.equal(`sha256:${s.subject[0]!.digest.sha256}`, plain);
  const lock = JSON.parse(readFileSync(join(dir, 'spec/image.lock.json'), 'utf8')) as { packages: Array<{ filename: string; sha256: string }> };
  const deps = s.predicate.buildDefinition.resolvedDependencies;
  const locked = deps.filter((d) => !d.name.startsWith('files:'));
  assert.deepEqual(locked.map((d) => [d.name, d.digest.sha256]), lock.packages.map((p) => [p.filename, p.sha256]).sort());
  assert.ok(locked.every((d) => d.uri.startsWith('pkg:deb/debian/')));
  // The spec's files: each regular file with its digest, a directory walked in byte order.
  const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
  assert.deepEqual(deps.filter((d) => d.name.startsWith('files:')).map((d) => [d.name, d.digest.sha256]), [
    ['files:/etc/motd', sha('welcome\n')], ['files:/etc/app/a.conf', sha('a\n')], ['files:/etc/app/b/z.conf', sha('z\n')],
  ]);
  // An independent validator of the same schema: python3-jsonschema, where it is installed.
  if (spawnSync('python3', ['-c', 'import jsonschema'], { stdio: 'ignore' }).status === 0) {
    const py = spawnSync('python3', ['-c', 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))', SCHEMA, a], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
  }
  assert.equal(s.predicate.buildDefinition.externalParameters.sourceDateEpoch, 1700000000);
  assert.equal(s.predicate.runDetails.builder.id, 'urn:repro-image:builder:local');
  assert.doesNotMatch(readFileSync(a, 'utf8'), new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no path of this host');
  // Beside the image: an in-toto artifact whose blob is the file's bytes.
  for (const ref of [`oci:${join(dir, 'prov-a')}:t`, `oci-archive:${join(dir, 'prov-b.tar')}:x`]) {
    const listing = JSON.parse(await ok(['inspect', '--referrers', '--json', ref])) as { subjects: Array<{ referrers: Array<{ artifactType: string; annotations: Record<string, string> }> }> };
    assert.deepEqual(listing.subjects[0]!.referrers.map((r) => [r.artifactType, r.annotations['in-toto.io/predicate-type']]), [[INTOTO_MEDIA_TYPE, PROVENANCE_PREDICATE_TYPE]]);
  }
  // --builder-id lands in the statement; --provenance is refused where it cannot apply.
  const d = join(dir, 'd.intoto.json');
  await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'prov-d')}:t`, '--provenance-file', d, '--builder-id', 'https://ci.example.org/runner']);
  assert.equal((JSON.parse(readFileSync(d, 'utf8')) as typeof s).predicate.runDetails.builder.id, 'https://ci.example.org/runner');
  const r = await run(['build', '--rootfs', root, '--output', `oci:${join(dir, 'x')}:t`, '--source-date-epoch', EPOCH, '--provenance']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /is a directory, which has no digest of its own; build from an archive of it/);
  const da2 = await run(['build', spec, '--offline', '--output', `docker-archive:${join(dir, 'e.tar')}`, '--provenance']);
  assert.equal(da2.status, 2);
  assert.match(da2.stderr, /--provenance needs an output that holds OCI artifacts/);
});

test('build --rootfs ARCHIVE --provenance: the archive\'s digest and the build options, the same bytes twice, schema-valid', async () => {
  const tar = join(dir, 'root.tar');
  execFileSync('tar', ['-C', root, '--sort=name', '--mtime=@1700000000', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '.']);
  const a = join(dir, 'r1.intoto.json');
  const b = join(dir, 'r2.intoto.json');
  const common = ['--rootfs', tar, '--source-date-epoch', EPOCH, '--entrypoint', '["/usr/bin/hello"]', '--exclude', 'tmp', '--compression', 'zstd'];
  const plain = (await ok(['build', ...common, '--output', `oci:${join(dir, 'r-plain')}:t`])).trim();
  assert.equal((await ok(['build', ...common, '--output', `oci:${join(dir, 'r1')}:t`, '--provenance', '--provenance-file', a])).trim(), plain);
  await ok(['build', ...common, '--output', `docker-archive:${join(dir, 'r2.tar')}`, '--provenance-file', b]);
  assert.deepEqual(readFileSync(a), readFileSync(b));
  const s = JSON.parse(readFileSync(a, 'utf8')) as { predicate: { buildDefinition: { buildType: string; externalParameters: { rootfs: { digest: { sha256: string } }; output: { compression: string; exclude: string[]; config: { Entrypoint: string[] } } }; resolvedDependencies: unknown[] } } };
  assert.deepEqual(schemaErrors(s), []);
  const bd = s.predicate.buildDefinition;
  assert.equal(bd.buildType, 'urn:repro-image:build-type:rootfs:v1');
  assert.equal(bd.externalParameters.rootfs.digest.sha256, createHash('sha256').update(readFileSync(tar)).digest('hex'));
  assert.deepEqual([bd.externalParameters.output.compression, bd.externalParameters.output.exclude, bd.externalParameters.output.config.Entrypoint], ['zstd', ['tmp'], ['/usr/bin/hello']]);
  assert.equal(bd.resolvedDependencies.length, 1);
});

test('verify --attach in an oci: layout by three verifiers; attestations counts them, checks signatures with --key, refuses a tampered signature and another image\'s VSA', async () => {
  const layout = `oci:${join(dir, 'published')}:t`;
  const digest = (await ok(['build', spec, '--offline', '--output', layout])).trim();
  const v = (id: string, ...extra: string[]): Promise<string> => ok(['verify', spec, '--offline', '--against', layout, '--attach', '--verifier-id', id, ...extra]);
  const file = join(dir, 'vsa-a.json');
  await v('https://a.example/rebuilder', '--sign-key', keys['ed']!, '--attest', file);
  await v('https://b.example/rebuilder', '--sign-key', keys['ec']!);
  await v('https://c.example/rebuilder');
  // The file is the DSSE envelope attached; its statement passes the schema.
  const env = parseEnvelope(readFileSync(file), 'vsa-a.json');
  const statement = JSON.parse(env.payload.toString()) as { subject: Array<{ digest: { sha256: string } }>; predicate: { verificationResult: string; verifiedLevels: string[]; timeVerified: string } };
  assert.deepEqual(schemaErrors(statement), []);
  assert.equal(`sha256:${statement.subject[0]!.digest.sha256}`, digest);
  assert.equal(statement.predicate.verificationResult, 'PASSED');
  assert.equal(statement.predicate.timeVerified, '2023-11-14T22:13:20Z', 'the rebuild\'s SOURCE_DATE_EPOCH by default');
  // The image is untouched and still read without a tag.
  assert.equal((await ok(['inspect', '--json', layout])).includes(digest), true);
  const all = JSON.parse(await ok(['attestations', layout, '--json'])) as Listed;
  assert.equal(all.summary.text, '3 independent verifiers reproduced this image (digest level), 0 failed');
  assert.equal(all.subjects[0]!.via, 'index.json');
  // With the Ed25519 key: only a's verifies; b (another key) and c (unsigned) are invalid.
  const withKey = await run(['attestations', layout, '--key', join(dir, 'ed.pub'), '--json']);
  assert.equal(withKey.status, 1);
  const k = JSON.parse(withKey.stdout) as Listed;
  assert.equal(k.summary.text, '1 independent verifier reproduced this image (digest level), 0 failed, 2 invalid');
  assert.deepEqual(k.attestations.map((x) => [x.verifierId, x.signature, x.problem ?? '']).sort(), [
    ['https://a.example/rebuilder', 'verified', ''],
    ['https://b.example/rebuilder', 'invalid', 'the signature does not verify with the key'],
    ['https://c.example/rebuilder', 'unsigned', 'not signed (a key was given)'],
  ]);
  // The ECDSA key verifies b's (DER) signature.
  const ec = JSON.parse((await run(['attestations', layout, '--key', join(dir, 'ec.pub'), '--json'])).stdout) as Listed;
  assert.deepEqual(ec.attestations.filter((x) => x.valid).map((x) => x.verifierId), ['https://b.example/rebuilder']);

  // One key per rebuilder: a's and b's both verify; c (unsigned) is invalid.
  const both = JSON.parse((await run(['attestations', layout, '--key', join(dir, 'ed.pub'), '--key', join(dir, 'ec.pub'), '--json'])).stdout) as Listed;
  assert.equal(both.summary.text, '2 independent verifiers reproduced this image (digest level), 0 failed, 1 invalid');
  // A key bound to a verifier id vouches for that verifier only: a's key named as b's refuses a's summary.
  const bound = JSON.parse((await run(['attestations', layout, '--key', `https://b.example/rebuilder=${join(dir, 'ed.pub')}`, '--key', `https://b.example/rebuilder=${join(dir, 'ec.pub')}`, '--json'])).stdout) as Listed;
  assert.deepEqual(bound.attestations.map((x) => [x.verifierId, x.valid, x.problem ?? '']).sort(), [
    ['https://a.example/rebuilder', false, 'signed with the key of https://b.example/rebuilder, not of https://a.example/rebuilder'],
    ['https://b.example/rebuilder', true, ''],
    ['https://c.example/rebuilder', false, 'not signed (a key was given)'],
  ]);

  // A tampered statement under a's signature: the result flipped to FAILED, the signature kept.
  const original = JSON.parse(readFileSync(file, 'utf8')) as { payload: string; payloadType: string; signatures: unknown[] };
  const flipped = Buffer.from(env.payload.toString().replace('"verificationResult":"PASSED"', '"verificationResult":"FAILED"'));
  const tampered = Buffer.from(JSON.stringify({ ...original, payload: flipped.toString('base64') }));
  const ref = parseImageRef(layout);
  await attachReferrers(ref, digest as `sha256:${string}`, [{ artifactType: DSSE_MEDIA_TYPE, mediaType: DSSE_MEDIA_TYPE, data: tampered, annotations: { 'in-toto.io/predicate-type': VSA_PREDICATE_TYPE } }]);
  // A VSA (validly signed) for another image, attached to this one.
  const other = vsaStatement(
    { verdict: 'reproduced', level: 'manifest', inputs: { sourceDateEpoch: 1700000000 }, rebuilt: { manifest: `sha256:${'1'.repeat(64)}`, config: `sha256:${'2'.repeat(64)}` }, published: { reference: 'docker://elsewhere/x:1', manifest: `sha256:${'1'.repeat(64)}`, config: `sha256:${'2'.repeat(64)}` } },
    { verifierId: 'https://d.example/rebuilder', tool: { name: 'repro-image', version: 'test' } },
  );
  const otherBytes = encodeAttestation(other, signingKey(readFileSync(keys['ed']!), 'ed'));
  await attachReferrers(ref, digest as `sha256:${string}`, [{ artifactType: otherBytes.mediaType, mediaType: otherBytes.mediaType, data: otherBytes.bytes }]);
  const after = await attestations(layout, { key: verificationKey(readFileSync(join(dir, 'ed.pub')), 'ed.pub') });
  const problems = after.attestations.filter((x) => !x.valid).map((x) => x.problem!).sort();
  assert.equal(problems.length, 4);
  assert.ok(problems.some((p) => p === 'the signature does not verify with the key'));
  assert.ok(problems.some((p) => p.startsWith(`its subject is another image (sha256:${'1'.repeat(64)}), not ${digest}`)), problems.join('\n'));
  assert.equal(after.summary.failed, 0, 'the tampered FAILED is not counted');
  assert.equal(after.summary.reproduced, 1);
  // Without a key the tampered one is not caught by signature, but the other image's still is.
  const nokey = await attestations(layout);
  assert.equal(nokey.attestations.filter((x) => !x.valid).length, 1);
  // A referrer that says it is a Statement and is not JSON: listed invalid, the others still read.
  await attachReferrers(ref, digest as `sha256:${string}`, [{ artifactType: INTOTO_MEDIA_TYPE, mediaType: INTOTO_MEDIA_TYPE, data: Buffer.from('{not json') }]);
  const garbage = await run(['attestations', layout]);
  assert.equal(garbage.status, 1);
  assert.match(garbage.stdout, /INVALID: .*JSON/);
  assert.match(garbage.stdout, /3 independent verifiers reproduced this image \(digest level\), 1 failed, 2 invalid\n$/);
});

test('one key signing in the names of several verifier ids counts as one verifier (it counted once per id)', async () => {
  const layout = `oci:${join(dir, 'one-key')}:t`;
  await ok(['build', spec, '--offline', '--output', layout]);
  const v = (id: string, key: string): Promise<string> => ok(['verify', spec, '--offline', '--against', layout, '--attach', '--verifier-id', id, '--sign-key', key]);
  await v('https://a.example/rebuilder', keys['ed']!);
  await v('https://b.example/rebuilder', keys['ec']!);
  await v('https://c.example/rebuilder', keys['ed']!);
  const fingerprint = (pub: string): string => `sha256:${createHash('sha256').update(execFileSync('openssl', ['pkey', '-pubin', '-in', pub, '-outform', 'DER'])).digest('hex')}`;
  const unbound = JSON.parse((await run(['attestations', layout, '--key', join(dir, 'ed.pub'), '--key', join(dir, 'ec.pub'), '--json'])).stdout) as Listed;
  assert.equal(unbound.summary.text, '2 independent verifiers reproduced this image (digest level), 0 failed (3 verifier ids signed with 2 keys: counted by key)');
  assert.equal(unbound.summary.reproduced, 2);
  assert.deepEqual(unbound.attestations.map((x) => [x.verifierId, x.signer]).sort(), [
    ['https://a.example/rebuilder', fingerprint(join(dir, 'ed.pub'))],
    ['https://b.example/rebuilder', fingerprint(join(dir, 'ec.pub'))],
    ['https://c.example/rebuilder', fingerprint(join(dir, 'ed.pub'))],
  ]);
  // Bound to both of its ids, the key is still one verifier.
  const bound = JSON.parse((await run(['attestations', layout, '--key', `https://a.example/rebuilder=${join(dir, 'ed.pub')}`, '--key', `https://c.example/rebuilder=${join(dir, 'ed.pub')}`, '--key', `https://b.example/rebuilder=${join(dir, 'ec.pub')}`, '--json'])).stdout) as Listed;
  assert.equal(bound.summary.text, '2 independent verifiers reproduced this image (digest level), 0 failed (3 verifier ids signed with 2 keys: counted by key)');
  // Without a key nothing is checked: the ids are all there is to count.
  const none = JSON.parse((await run(['attestations', layout, '--json'])).stdout) as Listed;
  assert.equal(none.summary.text, '3 independent verifiers reproduced this image (digest level), 0 failed');
});

test('registry (fallback tag): build --provenance and verify --attach push referrers, the image digest unchanged; a failed rebuild attaches a FAILED VSA', async () => {
  const ref = `docker://${registry.host}/attest/app:v1`;
  const plain = (await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'reg-plain')}:t`])).trim();
  const pushed = (await ok(['build', spec, '--offline', '--output', ref, '--tls-verify=false', '--provenance'])).trim();
  assert.equal(pushed, plain);
  await ok(['verify', spec, '--offline', '--against', ref, '--tls-verify=false', '--attach', '--verifier-id', 'https://a.example/rebuilder', '--sign-key', keys['ed']!]);
  // A rebuild with another SOURCE_DATE_EPOCH does not reproduce: exit 1, and a FAILED summary.
  const failed = await run(['verify', spec, '--offline', '--source-date-epoch', '1600000000', '--against', ref, '--tls-verify=false', '--attach', '--verifier-id', 'https://b.example/rebuilder', '--attest', join(dir, 'failed.json')]);
  assert.equal(failed.status, 1, failed.stderr);
  const f = JSON.parse(readFileSync(join(dir, 'failed.json'), 'utf8')) as { predicate: { verificationResult: string; verifiedLevels: string[] } };
  assert.deepEqual(schemaErrors(f), []);
  assert.deepEqual([f.predicate.verificationResult, f.predicate.verifiedLevels], ['FAILED', ['FAILED']]);
  const listing = JSON.parse(await ok(['attestations', ref, '--tls-verify=false', '--json'])) as Listed;
  assert.equal(listing.subjects[0]!.via, 'fallback-tag');
  assert.equal(listing.summary.text, '1 independent verifier reproduced this image (digest level), 1 failed');
  // b is unsigned: with --key it is invalid (exit 1).
  const r = await run(['attestations', ref, '--tls-verify=false', '--key', join(dir, 'ed.pub')]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /1 independent verifier reproduced this image \(digest level\), 0 failed, 1 invalid\n$/);
  // inspect --referrers sees the provenance and both summaries; the published manifest is the plain one.
  const refs = JSON.parse(await ok(['inspect', '--referrers', '--json', ref, '--tls-verify=false'])) as { subjects: Array<{ digest: string; referrers: Array<{ annotations?: Record<string, string> }> }> };
  assert.equal(refs.subjects[0]!.digest, plain);
  assert.deepEqual(refs.subjects[0]!.referrers.map((x) => x.annotations?.['in-toto.io/predicate-type']).sort(), [PROVENANCE_PREDICATE_TYPE, VSA_PREDICATE_TYPE, VSA_PREDICATE_TYPE]);
});

test('verify: the attestation flags are checked before the rebuild', async () => {
  const layout = `oci:${join(dir, 'plain')}:t`;
  const r1 = await run(['verify', spec, '--offline', '--against', layout, '--attach']);
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /--attach needs --verifier-id URI/);
  const r2 = await run(['verify', spec, '--offline', '--against', layout, '--sign-key', keys['ed']!]);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /--sign-key applies with --attest FILE or --attach/);
  const r3 = await run(['verify', spec, '--offline', '--against', layout, '--attest', join(dir, 'x.json'), '--verifier-id', 'not a uri']);
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /expected a URI/);
  const r4 = await run(['verify', spec, '--offline', '--against', `oci-archive:${join(dir, 'prov-b.tar')}`, '--attach', '--verifier-id', 'urn:x']);
  assert.equal(r4.status, 2);
  assert.match(r4.stderr, /--attach writes beside an image in an oci: layout or a registry/);
  assert.doesNotMatch(r4.stdout, /reproduced/, 'refused before the rebuild');
});
