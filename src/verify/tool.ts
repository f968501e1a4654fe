/** The tool's own name and version (for records beside an image, never inside one). */
import { readFileSync } from 'node:fs';

export interface ToolInfo {
  name: string;
  version: string;
  node: string;
}

let cached: ToolInfo | undefined;

export function toolInfo(): ToolInfo {
  if (!cached) {
    let version = 'unknown';
    try {
      // dist/src/verify/tool.js -> the package root's package.json
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') version = pkg.version;
    } catch {
      // not installed as a package: the version stays unknown
    }
    cached = { name: 'repro-image', version, node: process.version };
  }
  return cached;
}
