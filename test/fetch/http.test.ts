import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { request } from '../../src/fetch/http.js';
import { downloadVerified } from '../../src/fetch/download.js';

const FAST = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const BODY = Buffer.from('x'.repeat(100000));
const SHA = createHash('sha256').update(BODY).digest('hex');

type Handler = (req: IncomingMessage, res: ServerResponse, hits: number) => void;
let server: Server;
let base: string;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'http-'));
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const h = routes.get(path);
    if (!h) {
      res.statusCode = 404;
      res.end();
      return;
    }
    h(req, res, n);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  routes.set('/ok', (_q, r) => r.end(BODY));
  routes.set('/500-once', (_q, r, n) => { if (n === 1) { r.statusCode = 500; r.end(); } else r.end(BODY); });
  routes.set('/429-once', (_q, r, n) => { if (n === 1) { r.statusCode = 429; r.setHeader('retry-after', '0'); r.end(); } else r.end(BODY); });
  routes.set('/always-503', (_q, r) => { r.statusCode = 503; r.end(); });
  routes.set('/drop-mid-body', (_q, r, n) => {
    r.setHeader('content-length', String(BODY.length));
    if (n === 1) { r.write(BODY.subarray(0, 5000)); setTimeout(() => r.socket?.destroy(), 10); } else r.end(BODY);
  });
  routes.set('/wrong-bytes', (_q, r) => { const b = Buffer.from(BODY); b[500] = 0x79; r.end(b); });
  routes.set('/too-long', (_q, r) => r.end(Buffer.concat([BODY, Buffer.from('extra')])));
  routes.set('/redirect', (_q, r) => { r.statusCode = 307; r.setHeader('location', `http://localhost:${(server.address() as AddressInfo).port}/echo-auth`); r.end(); });
  routes.set('/echo-auth', (q, r) => r.end(q.headers.authorization ?? 'none'));
});
after(() => {
  server.close();
  rmSync(work, { recursive: true, force: true });
});

test('request: 500 and 429 are retried; a status that stays bad is returned', async () => {
  const a = await request({ url: `${base}/500-once`, retry: FAST });
  assert.equal(a.status, 200);
  assert.ok((await a.bytes()).equals(BODY));
  const b = await request({ url: `${base}/429-once`, retry: FAST });
  assert.equal(b.status, 200);
  b.discard();
  const c = await request({ url: `${base}/always-503`, retry: FAST });
  assert.equal(c.status, 503);
  c.discard();
  assert.equal(hits.get('/always-503'), 3);
});

test('request: credentials are not sent across a redirect to another origin', async () => {
  const r = await request({ url: `${base}/redirect`, headers: { Authorization: 'Bearer secret' }, retry: FAST });
  assert.equal(await r.text(), 'none');
});

test('request: a connection refused is an E_NETWORK error naming the URL', async () => {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((ok) => probe.close(() => ok()));
  await assert.rejects(request({ url: `http://127.0.0.1:${port}/x`, retry: FAST }), (e: Error & { code?: string }) =>
    e.code === 'E_NETWORK' && e.message.includes(`127.0.0.1:${port}/x`));
});

test('downloadVerified: a body cut off mid-way is fetched again and verified', async () => {
  const dest = join(work, 'dropped');
  await downloadVerified('dropped', [`${base}/drop-mid-body`], dest, { size: BODY.length, sha256: SHA }, { retry: FAST });
  assert.ok(readFileSync(dest).equals(BODY));
});

test('downloadVerified: wrong bytes are refused with both digests, and nothing is left behind', async () => {
  const dest = join(work, 'wrong');
  await assert.rejects(downloadVerified('pkg.deb', [`${base}/wrong-bytes`], dest, { size: BODY.length, sha256: SHA }, { retry: FAST }),
    (e: Error & { code?: string }) => e.code === 'E_DIGEST_MISMATCH' && e.message.includes(SHA) && /sha256:[0-9a-f]{64} instead|has sha256:[0-9a-f]{64}/.test(e.message));
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('wrong')), []);
});

test('downloadVerified: mirrors are tried in order until one serves the right bytes', async () => {
  const dest = join(work, 'mirrors');
  await downloadVerified('f', [`${base}/missing`, `${base}/too-long`, `${base}/ok`], dest, { size: BODY.length, sha256: SHA }, { retry: FAST });
  assert.ok(readFileSync(dest).equals(BODY));
  await assert.rejects(downloadVerified('f', [`${base}/missing`, `${base}/too-long`], join(work, 'none'), { size: BODY.length, sha256: SHA }, { retry: FAST }),
    /f: no source served the expected bytes: .*HTTP 404.*expected 100000/);
});
