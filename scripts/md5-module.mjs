// Writes src/image/md5-wasm-module.ts: the bytes md5LanesModule (md5-wasm.ts) makes for the
// lanes' memory (md5-lanes.ts PAGES), from the compiled dist/. Run after changing either:
//   npx tsc -p . && node scripts/md5-module.mjs && npx tsc -p .
import { writeFileSync } from 'node:fs';
import { md5LanesModule } from '../dist/src/image/md5-wasm.js';
import { PAGES } from '../dist/src/image/md5-lanes.js';

const base64 = Buffer.from(md5LanesModule(PAGES)).toString('base64');
const lines = base64.match(/.{1,96}/g);
writeFileSync(new URL('../src/image/md5-wasm-module.ts', import.meta.url), `/**
 * The bytes of md5-wasm.ts's module for the lanes' memory (md5-lanes.ts: \`MD5_MODULE_PAGES\`
 * pages of 64 KiB), as \`md5LanesModule\` makes them, kept here so that no process makes them
 * again: making them took each hashing thread about 8 ms, and as much again of the compiler's
 * time on another core (the maker's small functions run often enough to be optimised).
 * test/image/md5-wasm-module.test.ts checks that they are what \`md5LanesModule\` makes; after a
 * change to md5-wasm.ts or to the lanes' memory, \`node scripts/md5-module.mjs\` writes this file
 * again (from dist/). Written by that script.
 */
export const MD5_MODULE_PAGES = ${PAGES};

/** Base64 of the module's ${md5LanesModule(PAGES).length} bytes. */
export const MD5_MODULE = [
${lines.map((l) => `  '${l}',`).join('\n')}
].join('');
`);
