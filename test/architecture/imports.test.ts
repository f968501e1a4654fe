/**
 * The house stays in order: import arrows only point down the folder table of DESIGN.md (and
 * docs/architecture.md). Every static and dynamic import of every file under src/ is read and
 * checked against what its folder may import; a new arrow up the house fails here, naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Folder → the folders it may import (besides itself). `fs` is the ground floor: everyone may use it. */
const MAY_IMPORT: Record<string, string[]> = {
  model: [],
  fs: ['model'],
  archive: ['model', 'fs'],
  disk: ['model', 'archive', 'fs'],
  fetch: ['model', 'fs'],
  image: ['model', 'archive', 'fs'],
  transports: ['model', 'archive', 'image', 'fetch', 'fs'],
  sources: ['model', 'archive', 'image', 'fetch', 'fs'],
  spec: ['model', 'sources', 'fs'],
  pipeline: ['model', 'fs', 'archive', 'disk', 'fetch', 'image', 'transports', 'sources', 'spec'],
  diff: ['model', 'archive', 'disk', 'image', 'transports', 'sources/rootfs', 'fs'],
};
const BELOW_CONSUMERS = ['model', 'fs', 'archive', 'disk', 'fetch', 'image', 'transports', 'sources', 'spec', 'pipeline', 'diff'];
for (const c of ['verify', 'status', 'audit', 'sbom']) MAY_IMPORT[c] = BELOW_CONSUMERS;
// audit accounts for bytes by package verdict: it asks rebuilders through status (one arrow across).
MAY_IMPORT['audit'] = [...BELOW_CONSUMERS, 'status'];
MAY_IMPORT['cli'] = [...BELOW_CONSUMERS, 'verify', 'status', 'audit', 'sbom'];
MAY_IMPORT['index.ts'] = MAY_IMPORT['cli'].filter((f) => f !== 'cli');

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** `sources/debian/lock.ts` → its folder key; `index.ts` → `index.ts`. */
function folderOf(rel: string): string {
  const parts = rel.split('/');
  return parts.length === 1 ? parts[0]! : parts[0]!;
}

/** For sources/: which distribution folder (or `''` for the shared files). */
function sourcesPart(rel: string): string {
  const parts = rel.split('/');
  return parts[0] === 'sources' && parts.length > 2 ? parts[1]! : '';
}

function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function violations(): string[] {
  const out: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const from = folderOf(rel);
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      out.push(`${rel}: folder ${from} is not in the table`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        out.push(`${rel} imports ${spec}, outside src/`);
        continue;
      }
      const to = folderOf(target);
      if (to === from) {
        // Inside sources/, one distribution never reaches into another's folder.
        const a = sourcesPart(rel);
        const b = sourcesPart(target);
        if (from === 'sources' && a !== '' && b !== '' && a !== b && b !== 'rootfs') out.push(`${rel} imports ${target}: one distribution's folder reaching into another's`);
        continue;
      }
      const ok = allowed.includes(to) || allowed.some((a) => a.includes('/') && target.startsWith(`${a}/`));
      if (!ok) out.push(`${rel} imports ${target}: ${from}/ may import only ${allowed.join(', ') || 'nothing of ours'}`);
    }
  }
  return out;
}

test('import arrows only point down the folder table', () => {
  assert.deepEqual(violations(), []);
});

test('the check sees a violation: an import up the house is caught', () => {
  // The checker itself must be able to fail: a made-up import from model/ into cli/ is refused.
  const allowed = MAY_IMPORT['model']!;
  assert.equal(allowed.includes('cli'), false);
  assert.deepEqual(importsOf("import { x } from '../cli/main.js';\nconst y = await import('../pipeline/spec.js');\nexport { z } from './z.js';"), ['../cli/main.js', './z.js', '../pipeline/spec.js']);
});
