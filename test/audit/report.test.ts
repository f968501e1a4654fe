/** The audit report's number formatting: en-US digit grouping, without ICU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { thousands } from '../../src/audit/report.js';

test('thousands groups digits as the en-US locale does', () => {
  for (const n of [0, 1, 12, 999, 1000, 1001, 12345, 999999, 1000000, 1234567, 160_123_456, 2 ** 53 - 1, -1, -1234, -1000000]) {
    assert.equal(thousands(n), n.toLocaleString('en-US'), String(n));
  }
});
