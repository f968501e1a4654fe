/**
 * `attestations --key [VERIFIER=]FILE`: which part is the verifier id and which the key file, also
 * where the verifier id is a URI with `=` in it (a query) or the file name has one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyArgument } from '../../src/cli/attestations.js';

const files = (...names: string[]): ((p: string) => boolean) => (p) => names.includes(p);

test('--key: a file alone, a verifier id and a file, an id with "=" in its query, a file name with "="', () => {
  assert.deepEqual(keyArgument('their.pub', files('their.pub')), { file: 'their.pub' });
  assert.deepEqual(keyArgument('https://rebuild.example.org=their.pub', files('their.pub')), { file: 'their.pub', verifierId: 'https://rebuild.example.org' });
  assert.deepEqual(keyArgument('https://r.example/v?id=5=keys/k.pem', files('keys/k.pem')), { file: 'keys/k.pem', verifierId: 'https://r.example/v?id=5' });
  assert.deepEqual(keyArgument('a=b.pem', files('a=b.pem')), { file: 'a=b.pem' });
  assert.deepEqual(keyArgument('dir/x=1.pem', files()), { file: 'dir/x=1.pem' });
  // None of the readings is a file: the first split (the error then names its file).
  assert.deepEqual(keyArgument('https://x.example=y=z.pem', files()), { file: 'y=z.pem', verifierId: 'https://x.example' });
});

test('--key: two readings that both name a file are refused', () => {
  assert.throws(() => keyArgument('https://r.example/?x=1=k.pem', files('1=k.pem', 'k.pem')), /--key "https:\/\/r.example\/\?x=1=k.pem": both "1=k.pem" and "k.pem" are files/);
  assert.throws(() => keyArgument('urn:x=k.pem', files('urn:x=k.pem', 'k.pem')), /both "urn:x=k.pem" and "k.pem" are files/);
});
