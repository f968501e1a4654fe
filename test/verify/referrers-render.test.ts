/**
 * What `inspect --referrers` prints comes from descriptors anyone who can push a referrer wrote:
 * an artifactType or a created annotation holding a newline must not make a line of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReferrers, type ReferrersResult } from '../../src/index.js';

test('inspect --referrers: control characters of a referrer are shown escaped, one line per referrer', () => {
  const subject = `sha256:${'a'.repeat(64)}`;
  const forgedDigest = `sha256:${'f'.repeat(64)}`;
  const result: ReferrersResult = {
    reference: 'oci:x:t',
    subjects: [{
      digest: subject, mediaType: 'application/vnd.oci.image.manifest.v1+json', via: 'index.json',
      referrers: [{
        mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 10,
        artifactType: `application/x\n  ${forgedDigest} application/vnd.trusted 1 bytes`,
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z\r\nforged' },
      }],
    }],
  };
  const lines = renderReferrers(result).trimEnd().split('\n');
  assert.equal(lines.length, 2, renderReferrers(result));
  assert.ok(!lines.some((l) => l.trimStart().startsWith(forgedDigest)));
  assert.match(lines[1]!, /\\u000a/);
});
