/**
 * Registries that send a byte now and then, never idle long enough for the idle timeout: a
 * manifest, a token answer, a config blob. Small node:http servers on 127.0.0.1; the deadlines
 * are shortened through `RegistryOptions.deadlines`. Each ends in seconds with one line naming
 * the URL or the blob (exit 3), where each read went on for ever before.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '../../../src/transports/copy.js';
import type { RegistryOptions } from '../../../src/transports/registry/client.js';

const ONCE = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }).padEnd(4096));
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
  layers: [],
}));

const work = mkdtempSync(join(tmpdir(), 'slow-registry-'));
const servers: Server[] = [];

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
  }
  rmSync(work, { recursive: true, force: true });
});

/** Writes `first`, then `next()` every `ms` until the client goes away. */
function drip(res: ServerResponse, first: string, ms: number, next: () => string | Buffer): void {
  res.write(first);
  const t = setInterval(() => res.write(next()), ms);
  res.on('close', () => clearInterval(t));
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, origin: string) => void): Promise<string> {
  let origin = '';
  const server = createServer((req, res) => handler(req, res, origin));
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return origin;
}

async function pull(host: string, repo: string, opts: RegistryOptions): Promise<unknown> {
  const out = join(work, repo);
  try {
    return await copy(`docker://${host}/${repo}:v1`, `oci:${out}:v1`, { sourceRegistry: { insecure: true, retry: ONCE, ...opts } });
  } finally {
    assert.equal(existsSync(out), false, 'nothing written');
  }
}

function rejectsWith(p: Promise<unknown>, message: RegExp): Promise<void> {
  return assert.rejects(p, (e: Error & { code?: string; exitCode?: number }) => {
    assert.equal(e.code, 'E_NETWORK', e.message);
    assert.equal(e.exitCode, 3);
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

test('a manifest that drips is cut at the document deadline, naming its URL (was: read for ever)', { timeout: 20000 }, async () => {
  const host = await serve((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    drip(res, '{', 50, () => ' ');
  });
  const t0 = Date.now();
  await rejectsWith(pull(host, 'drip', { deadlines: { bodyMs: 1000 } }), new RegExp(`^http://${host}/v2/drip/manifests/v1: body not complete after 1000 ms$`));
  assert.ok(Date.now() - t0 < 8000, `${Date.now() - t0} ms`);
});

test('a token answer that drips is cut at the document deadline, naming the token service (was: read for ever, then "not JSON")', { timeout: 20000 }, async () => {
  const host = await serve((req, res, origin) => {
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      drip(res, '{"token":"', 50, () => 'a');
      return;
    }
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${origin}/token",service="slow"` }).end();
  });
  const t0 = Date.now();
  await rejectsWith(pull(host, 'token', { deadlines: { bodyMs: 1000 } }), new RegExp(`^http://${host}/token\\?…: body not complete after 1000 ms$`));
  assert.ok(Date.now() - t0 < 8000, `${Date.now() - t0} ms`);
});

test('a config blob that drips is cut by the minimum speed, naming the blob (was: read for ever)', { timeout: 20000 }, async () => {
  const host = await serve((req, res) => {
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (req.url?.startsWith('/v2/blob/manifests/')) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    res.writeHead(200, { 'content-length': String(config.length) });
    let i = 0;
    drip(res, '', 20, () => config.subarray(i, ++i));
  });
  const t0 = Date.now();
  await rejectsWith(pull(host, 'blob', { deadlines: { minSpeed: { bytes: 1024, ms: 1000 } } }),
    new RegExp(`^${host}/blob@${sha(config)}: connection broke after \\d+ bytes \\(body slower than 1024 bytes in 1000 ms \\(\\d+ bytes in \\d+ ms\\)\\) \\(after 1 attempts\\)$`));
  assert.ok(Date.now() - t0 < 8000, `${Date.now() - t0} ms`);
});
