/**
 * A directory served over HTTP on 127.0.0.1 below a URL prefix, for the repositories the tests make,
 * with per-path overrides (bytes served instead of the file) and hidden paths (404) for fault tests.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface StaticServer {
  /** http://127.0.0.1:PORT followed by the prefix (no trailing slash). */
  url: string;
  server: Server;
  /** Path below the prefix → bytes served instead of the file. */
  overrides: Map<string, Buffer>;
  /** Paths below the prefix answered with 404. */
  hidden: Set<string>;
  close(): Promise<void>;
}

function readOrNothing(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

export async function serveDirectory(dir: string, prefix: string): Promise<StaticServer> {
  const overrides = new Map<string, Buffer>();
  const hidden = new Set<string>();
  const start = `${prefix.replace(/\/+$/, '')}/`;
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const path = url.startsWith(start) ? url.slice(start.length) : '';
    if (path.includes('..')) { res.statusCode = 400; res.end(); return; }
    const body = path === '' || hidden.has(path) ? undefined : overrides.get(path) ?? readOrNothing(join(dir, path));
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-length', String(body.length));
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${start.slice(0, -1)}`,
    server, overrides, hidden,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
