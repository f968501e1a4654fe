/**
 * The fuzz corpus as regression tests: every committed input (seeds and every crash the campaign
 * found, test/fuzz/corpus/TARGET/*) is run through its target on each `npm test`; each must succeed
 * or fail with a one-line ReproError, in time. A crash file that fails here is a regression.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS, cleanupScratch, runOne } from './targets.js';
import { corpusOf } from './campaign.js';

after(() => cleanupScratch());

for (const t of TARGETS) {
  test(`fuzz corpus: ${t.name}`, async () => {
    const corpus = corpusOf(t.name);
    assert.ok(corpus.some(([n]) => n.startsWith('seed')), `${t.name} has seeds`);
    for (const [name, data] of corpus) {
      const o = await runOne(t, data);
      assert.ok(o.ok, `${t.name}/${name}: ${o.error}`);
    }
  });
}
