import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Golden files live in the source tree (test/golden), not in dist/. */
export const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../test/golden');

export function readGolden(name: string): unknown {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, name), 'utf8'));
}
