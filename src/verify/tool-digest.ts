/**
 * The digest of the tool's own installed code, for records beside an image (an inputs archive):
 * `sha256:` of the lines `<sha256 hex>  <path>\n` (sha256sum's format), sorted by path, of the
 * package's package.json and of every file below its dist/src. Two installs of one release give
 * one digest; a patched copy gives another. Undefined when the package's files cannot be read.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined | null = null;

function* filesBelow(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* filesBelow(p);
    else if (e.isFile()) yield p;
  }
}

export function toolPackageDigest(): string | undefined {
  if (cached !== null) return cached;
  try {
    // dist/src/verify/tool-digest.js -> the package root
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const files = [join(root, 'package.json'), ...filesBelow(join(root, 'dist', 'src'))];
    const lines = files.map((f) => {
      const path = relative(root, f).split('\\').join('/');
      return { path, line: `${createHash('sha256').update(readFileSync(f)).digest('hex')}  ${path}\n` };
    });
    lines.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    cached = `sha256:${createHash('sha256').update(lines.map((l) => l.line).join('')).digest('hex')}`;
  } catch {
    cached = undefined;
  }
  return cached;
}
