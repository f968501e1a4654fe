/**
 * The module bytes kept in md5-wasm-module.ts are the ones md5LanesModule makes for the lanes'
 * memory: after a change to md5-wasm.ts or to the lanes' memory size, this fails until
 * `node scripts/md5-module.mjs` writes them again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { md5LanesModule } from '../../src/image/md5-wasm.js';
import { PAGES } from '../../src/image/md5-lanes.js';
import { MD5_MODULE, MD5_MODULE_PAGES } from '../../src/image/md5-wasm-module.js';

test('the kept module is what md5LanesModule makes for the lanes\' memory', () => {
  assert.equal(MD5_MODULE_PAGES, PAGES, 'kept for another memory size: run node scripts/md5-module.mjs');
  assert.ok(Buffer.from(MD5_MODULE, 'base64').equals(Buffer.from(md5LanesModule(PAGES))), 'kept bytes differ: run node scripts/md5-module.mjs');
});
