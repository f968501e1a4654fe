/**
 * What `attestations` prints comes from summaries anyone who can push may have written: a verifier
 * id, a time or a tool version holding a newline must not make a line of its own (a forged
 * "PASSED, signature verified" line below an INVALID one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAttestation, renderAttestations, INTOTO_MEDIA_TYPE, VSA_PREDICATE_TYPE, REBUILD_FIELD, type AttestationsResult } from '../../src/index.js';

const SUBJECT = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

test('attestations: control characters of a summary are shown escaped, one line per summary', () => {
  const forged = `https://evil.example\n${OTHER} https://trusted.example: PASSED (digest level), signature verified`;
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'x', digest: { sha256: 'c'.repeat(64) } }],
    predicateType: VSA_PREDICATE_TYPE,
    predicate: { verifier: { id: forged }, verificationResult: 'PASSED', timeVerified: '2023-11-14T22:13:20Z\r', [REBUILD_FIELD]: { level: 'digest', tool: { 'x\u2028y': '1\n2' } } },
  };
  const checked = checkAttestation(Buffer.from(JSON.stringify(statement)), INTOTO_MEDIA_TYPE, SUBJECT, 'test');
  assert.ok(checked);
  assert.equal(checked.valid, false);
  const result: AttestationsResult = {
    reference: 'oci:x:t', subjects: [{ digest: SUBJECT, via: 'index.json' }],
    attestations: [{ referrer: OTHER, subject: SUBJECT, ...checked }],
    summary: { reproduced: 0, failed: 0, invalid: 1, text: '0 independent verifiers reproduced this image, 0 failed, 1 invalid' },
  };
  const text = renderAttestations(result);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2, text);
  assert.match(lines[0]!, /^sha256:b+ https:\/\/evil\.example\\u000asha256:b+ https:\/\/trusted\.example: PASSED .*: INVALID: /);
  assert.ok(!/[\r\u2028]/.test(text), text);
  // The data itself is kept as written (--json shows it exactly).
  assert.equal(checked.verifierId, forged);
});
