/**
 * `attestations` over referrers someone else attached (an oci: layout, attachReferrers): a
 * Statement whose _type or subject digest is nested too deep to print, one with 200,000 subjects,
 * a DSSE envelope with 100,000 signatures. Each is one INVALID line, quickly; never an internal
 * error with a stack trace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { attachReferrers, parseImageRef, INTOTO_MEDIA_TYPE, DSSE_MEDIA_TYPE, VSA_PREDICATE_TYPE } from '../../src/index.js';

let dir: string;
let layout: string;
let digest: `sha256:${string}`;
let pub: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-attestations-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/hello'), 'hi\n');
  layout = join(dir, 'base');
  const r = runCli(['build', '--rootfs', root, '--output', `oci:${layout}:t`, '--source-date-epoch', '1700000000']);
  assert.equal(r.status, 0, r.stderr);
  digest = (JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: `sha256:${string}` }> }).manifests[0]!.digest;
  const key = join(dir, 'k.pem');
  pub = join(dir, 'k.pub');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', key]);
  execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function vsa(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: digest.slice(7) } }], predicateType: VSA_PREDICATE_TYPE,
    predicate: { verifier: { id: 'https://v.example' }, verificationResult: 'PASSED', timeVerified: '2024-01-01T00:00:00Z' }, ...extra,
  };
}

/** A copy of the built layout with these bytes attached as referrers, as its `oci:` reference. */
async function withReferrers(name: string, items: Array<{ mediaType: string; data: string }>): Promise<string> {
  const copy = join(dir, name);
  cpSync(layout, copy, { recursive: true });
  const ref = `oci:${copy}:t`;
  await attachReferrers(parseImageRef(ref), digest, items.map((i) => ({ artifactType: i.mediaType, mediaType: i.mediaType, data: Buffer.from(i.data) })));
  return ref;
}

const deep = `${'['.repeat(100000)}${']'.repeat(100000)}`;

test('a _type or subject digest nested 100,000 deep is INVALID, one line (was: internal error, RangeError from JSON.stringify / Array.join)', async () => {
  const ref = await withReferrers('deep', [
    { mediaType: INTOTO_MEDIA_TYPE, data: `{"_type":${deep}}` },
    { mediaType: INTOTO_MEDIA_TYPE, data: JSON.stringify(vsa({ subject: [{ digest: { sha256: 'PLACE' } }] })).replace('"PLACE"', deep) },
  ]);
  const r = await runCliAsync(['attestations', ref]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  assert.ok(lines.some((l) => l.endsWith('not an in-toto Statement v1 (_type an array), unsigned')), r.stdout);
  assert.ok(lines.some((l) => l.endsWith("the Statement's subject must be a non-empty list of descriptors with a digest (algorithm: hex string), unsigned")), r.stdout);
  assert.equal(lines[2], '0 independent verifiers reproduced this image, 0 failed, 2 invalid');
});

test('200,000 subjects, none this image: the line names three and counts the rest (was: all 200,000, a 2 MB line)', async () => {
  const ref = await withReferrers('subjects', [{ mediaType: INTOTO_MEDIA_TYPE, data: JSON.stringify(vsa({ subject: Array.from({ length: 200000 }, (_, i) => ({ digest: { sha256: i.toString(16) } })) })) }]);
  const r = await runCliAsync(['attestations', ref]);
  assert.equal(r.status, 1, r.stderr);
  const first = r.stdout.split('\n')[0]!;
  assert.match(first, /INVALID: its subject is another image \(sha256:0, sha256:1, sha256:2 and 199997 more\), not sha256:/);
  assert.ok(first.length < 1000, `${first.length} characters`);
});

test('an envelope with 100,000 signatures is refused before any is tried (was: 9.7 s per key)', async () => {
  const payload = Buffer.from(JSON.stringify(vsa())).toString('base64');
  const ref = await withReferrers('sigs', [{ mediaType: DSSE_MEDIA_TYPE, data: JSON.stringify({ payload, payloadType: INTOTO_MEDIA_TYPE, signatures: Array.from({ length: 100000 }, () => ({ sig: `${'A'.repeat(86)}==` })) }) }]);
  const t0 = Date.now();
  const r = await runCliAsync(['attestations', ref, '--key', pub]);
  const ms = Date.now() - t0;
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /INVALID: .*: the envelope has 100000 signatures, more than the 64 checked, unsigned\n/);
  assert.ok(ms < 3000, `${ms} ms (0.25 s now, 9.7 s before)`);
});
