/**
 * attestations --key counts a verifier with an id and a key of its own: one key signing for
 * several ids is one verifier, and so is one id signing with several keys (a rebuilder that
 * changed its key), which counting keys alone made several. Built from a small root filesystem
 * (no repository, no registry).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

let dir: string;
let rootfs: string;
const pub = (name: string): string => join(dir, `${name}.pub`);

function ok(args: string[]): string {
  const r = runCli(args, { env: { SOURCE_DATE_EPOCH: undefined } });
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh image in an oci: layout with a signed summary per [verifier id, key]. */
function attested(name: string, summaries: Array<[string, string]>): string {
  const layout = `oci:${join(dir, name)}:t`;
  ok(['build', '-q', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--output', layout]);
  for (const [id, key] of summaries) {
    ok(['verify', '--rootfs', rootfs, '--source-date-epoch', '1700000000', '--against', layout, '--attach', '--verifier-id', id, '--sign-key', join(dir, `${key}.pem`)]);
  }
  return layout;
}

function summary(args: string[]): { reproduced: number; text: string } {
  return (JSON.parse(ok(['attestations', ...args, '--json'])) as { summary: { reproduced: number; text: string } }).summary;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'attestations-count-'));
  rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/motd'), 'hi\n');
  for (const [name, args] of [['ed', ['-algorithm', 'ed25519']], ['ec', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['ot', ['-algorithm', 'ed25519']]] as const) {
    execFileSync('openssl', ['genpkey', ...args, '-out', join(dir, `${name}.pem`)]);
    execFileSync('openssl', ['pkey', '-in', join(dir, `${name}.pem`), '-pubout', '-out', pub(name)]);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('one verifier id signing with two keys is one verifier, keys unbound or both bound to it (it said 2)', () => {
  const a = 'https://a.example/rebuilder';
  const layout = attested('rotated', [[a, 'ed'], [a, 'ec']]);
  for (const keys of [['--key', pub('ed'), '--key', pub('ec')], ['--key', `${a}=${pub('ed')}`, '--key', `${a}=${pub('ec')}`]]) {
    const s = summary([layout, ...keys]);
    assert.equal(s.reproduced, 1, s.text);
    assert.equal(s.text, '1 independent verifier reproduced this image (digest level), 0 failed');
  }
  assert.equal(summary([layout]).reproduced, 1);
});

test('three ids, three keys, but two of the ids signed only with one key: 2 verifiers (it said 3)', () => {
  const [a, b, c] = ['https://a.example/r', 'https://b.example/r', 'https://c.example/r'];
  const layout = attested('shared', [[a, 'ed'], [c, 'ed'], [b, 'ec'], [b, 'ot']]);
  const s = summary([layout, '--key', pub('ed'), '--key', pub('ec'), '--key', pub('ot')]);
  assert.equal(s.reproduced, 2, s.text);
  assert.equal(s.text, '2 independent verifiers reproduced this image (digest level), 0 failed (3 verifier ids signed with 3 keys: counted with an id and a key each)');
  // One key for three ids stays as it was.
  const one = attested('one-key', [[a, 'ed'], [b, 'ec'], [c, 'ed']]);
  assert.equal(summary([one, '--key', pub('ed'), '--key', pub('ec')]).text, '2 independent verifiers reproduced this image (digest level), 0 failed (3 verifier ids signed with 2 keys: counted by key)');
});

test('an envelope signed by two unbound keys names the same signer whatever order the keys are given in (it named the first given)', async () => {
  const { checkAttestation, keyFingerprint } = await import('../../src/sbom/attestations.js');
  const { DSSE_MEDIA_TYPE, INTOTO_MEDIA_TYPE, encodeStatement, signEnvelope, signingKey, verificationKey } = await import('../../src/sbom/intoto.js');
  const { VSA_PREDICATE_TYPE } = await import('../../src/sbom/vsa.js');
  const subject = `sha256:${'ab'.repeat(32)}`;
  const statement = encodeStatement({
    _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'image', digest: { sha256: 'ab'.repeat(32) } }], predicateType: VSA_PREDICATE_TYPE,
    predicate: { verifier: { id: 'https://a.example/r' }, verificationResult: 'PASSED', timeVerified: '2023-11-14T22:13:20Z' },
  });
  const sign = (name: string) => signEnvelope(statement, INTOTO_MEDIA_TYPE, signingKey(readFileSync(join(dir, `${name}.pem`)), name));
  const twice = { ...sign('ed'), signatures: [...sign('ed').signatures, ...sign('ot').signatures] };
  const bytes = Buffer.from(JSON.stringify(twice));
  const ed = { key: verificationKey(readFileSync(pub('ed')), 'ed') };
  const ot = { key: verificationKey(readFileSync(pub('ot')), 'ot') };
  const one = checkAttestation(bytes, DSSE_MEDIA_TYPE, subject, 'twice', [ed, ot]);
  const other = checkAttestation(bytes, DSSE_MEDIA_TYPE, subject, 'twice', [ot, ed]);
  assert.equal(one?.signature, 'verified');
  assert.equal(one?.signer, [keyFingerprint(ed.key), keyFingerprint(ot.key)].sort()[0]);
  assert.equal(other?.signer, one?.signer);
});
