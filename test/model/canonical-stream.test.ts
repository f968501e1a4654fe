/**
 * Canonical JSON written item by item (model/canonical-stream.ts) is the canonical JSON of the
 * same value written whole: arrays given as JsonItems, wherever they are, and the member derived
 * from the hash of the rest, wherever its key sorts (first, between, last, alone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalBytes, canonicalize } from '../../src/model/canonical-json.js';
import { JsonItems, canonicalWithDigestMember } from '../../src/model/canonical-stream.js';

/** What canonicalWithDigestMember promises: the member from the hash of the body without it, then the whole. */
function expected(body: Record<string, unknown>, key: string, derive: (h: Buffer) => string): Buffer {
  const plain = JSON.parse(JSON.stringify(body, (_k, v: unknown) => (v instanceof JsonItems ? [...v.items] : v))) as Record<string, unknown>;
  plain[key] = derive(createHash('sha256').update(canonicalBytes(plain)).digest());
  return canonicalBytes(plain);
}

const derive = (h: Buffer): string => `urn:x:${h.toString('hex').slice(0, 8)}`;

test('the derived member takes its sorted place: first, between two members, last, alone', () => {
  for (const key of ['A', 'm', 'zz']) {
    for (const body of [{}, { b: 1 }, { b: 1, y: [2, 'é'] }, { B: { c: null, a: true }, n: 'x' }]) {
      assert.equal(canonicalWithDigestMember(body, key, derive).toString(), expected(body, key, derive).toString(), `${key} in ${JSON.stringify(body)}`);
    }
  }
});

test('JsonItems are written as the arrays they stand for, nested or not, even past a block; undefined members are left out as canonicalize leaves them', () => {
  const big = (n: number): Iterable<unknown> => (function* () {
    for (let i = 0; i < n; i++) yield { z: i, a: `p${i}\u2028\ud83d\ude00`, list: new JsonItems([i, { y: 1, x: undefined }]) };
  })();
  const body = { packages: new JsonItems(big(20_000)), empty: new JsonItems([]), top: { deps: new JsonItems(['b', 'a']) } };
  const want = expected({ packages: new JsonItems(big(20_000)), empty: new JsonItems([]), top: { deps: new JsonItems(['b', 'a']) } }, 'serial', derive);
  const got = canonicalWithDigestMember(body, 'serial', derive);
  assert.ok(got.length > 1 << 20, 'more than one block');
  assert.ok(got.equals(want));
});

test('any JSON value as a member gives the bytes canonicalize gives', () => {
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (body, key) => {
    fc.pre(!(key in body) && key !== '__proto__');
    assert.equal(canonicalWithDigestMember(body, key, derive).toString(), expected(body, key, derive).toString());
    assert.equal(canonicalize(JSON.parse(canonicalWithDigestMember(body, key, derive).toString())), canonicalWithDigestMember(body, key, derive).toString());
  }), { numRuns: 300 });
});
