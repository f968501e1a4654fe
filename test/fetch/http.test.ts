import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import { request } from '../../src/fetch/http.js';
import { proxyFor, proxySettingsFromEnv, useProxies } from '../../src/fetch/proxy.js';
import { TestProxy } from '../helpers/proxy.js';
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
  routes.set('/post-303', (q, r) => { q.resume(); r.statusCode = 303; r.setHeader('location', '/echo-body-headers'); r.end(); });
  routes.set('/echo-body-headers', (q, r) => r.end(`${q.method} ${q.headers['content-length'] ?? '-'} ${q.headers['content-type'] ?? '-'}`));
  routes.set('/hang', () => { /* never answers */ });
  // A large body that never ends but is never idle: a byte every 20 ms.
  routes.set('/drip-body', (_q, r) => {
    r.setHeader('content-length', String(BODY.length));
    const t = setInterval(() => r.write('x'), 20);
    r.on('close', () => clearInterval(t));
  });
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

test('request: a redirect that drops the body drops its content headers; maxRedirects 0 refuses any redirect', async () => {
  const body = Buffer.from('a=1');
  const r = await request({ url: `${base}/post-303`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }, body, retry: FAST });
  assert.equal(await r.text(), 'GET - -');
  await assert.rejects(request({ url: `${base}/redirect`, maxRedirects: 0, retry: FAST }), /redirected \(HTTP 307\), which this request never follows/);
  assert.equal(hits.get('/echo-auth') ?? 0, 1, 'only the earlier test followed /redirect');
});

test('request: an abort signal abandons a hanging request and its retries', async () => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(request({ url: `${base}/hang`, retry: FAST, signal: ac.signal }), (e: Error & { code?: string }) => e.code === 'E_NETWORK' && /abandoned/.test(e.message));
  assert.ok(Date.now() - started < 5000, 'abandoned at once, not after the 30 s timeout');
});

test('proxies: chosen from the environment as Go does; NO_PROXY domains, subdomains, ports, IPs, CIDR, *; loopback direct', () => {
  try {
    assert.deepEqual(proxySettingsFromEnv({ HTTP_PROXY: 'http://a:1', http_proxy: 'http://b:2', https_proxy: 'c:3', no_proxy: 'x' }), { http: 'http://a:1', https: 'c:3', noProxy: 'x' });
    assert.deepEqual(proxySettingsFromEnv({ HTTP_PROXY: 'http://evil:1', http_proxy: 'http://evil:2', REQUEST_METHOD: 'GET' }), {}, 'under CGI HTTP_PROXY is a request header');
    assert.deepEqual(proxySettingsFromEnv({ HTTP_PROXY: 'http://p:1', REQUEST_METHOD: '' }), { http: 'http://p:1' });
    useProxies({ http: 'proxy.example:3128', https: 'http://u:p@proxy.example:3129', noProxy: 'example.com, .sub.org,*.wild.net,10.0.0.0/8,192.168.1.7,[2001:db8:0::1]:8443,only.port:8080,bücher.example' });
    const via = (u: string): string | undefined => proxyFor(new URL(u))?.host;
    assert.equal(via('http://debian.org/x'), 'proxy.example:3128');
    assert.equal(via('https://registry.example/v2/'), 'proxy.example:3129');
    for (const direct of ['http://example.com/', 'https://a.b.example.com/', 'http://x.sub.org/', 'http://y.wild.net/', 'http://10.1.2.3/', 'http://192.168.1.7/',
      'https://[2001:db8::1]:8443/', 'http://only.port:8080/', 'http://localhost:5000/', 'http://127.0.0.5/', 'http://[::1]:80/', 'https://www.bücher.example/']) {
      assert.equal(via(direct), undefined, direct);
    }
    for (const proxied of ['http://sub.org/', 'http://wild.net/', 'http://notexample.com/', 'http://11.0.0.1/', 'https://[2001:db8::1]/', 'http://only.port/']) {
      assert.notEqual(via(proxied), undefined, proxied);
    }
    useProxies({ http: 'http://p:1', noProxy: '*' });
    assert.equal(via('http://anything.example/'), undefined);
    // an unusable proxy stops only the requests that would go through it
    useProxies({ https: 'socks5://p:1080', noProxy: 'exempt.example' });
    assert.throws(() => proxyFor(new URL('https://registry.example/')), (e: Error & { code?: string }) => e.code === 'E_USAGE' && /HTTPS_PROXY: only http:\/\/ proxies are supported/.test(e.message));
    assert.equal(proxyFor(new URL('https://exempt.example/')), undefined);
    assert.equal(proxyFor(new URL('http://registry.example/')), undefined);
  } finally {
    useProxies(undefined);
  }
});

test('proxies: plain HTTP as absolute URIs, HTTPS through CONNECT, Proxy-Authorization sent, NO_PROXY and loopback direct', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  const proxy = await new TestProxy({ user: 'pu', password: 'pp:secret' }).start();
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '2', '-subj', '/CN=secure.invalid'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `openssl (.ci/run installs it): ${r.stderr}`);
  const tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'k')), cert: readFileSync(join(dir, 'c')) }, (q, res) => res.end(`tls ${q.url}`));
  await new Promise<void>((ok) => tlsServer.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  proxy.routes.set('mirror.invalid:80', `127.0.0.1:${port}`);
  proxy.routes.set('secure.invalid:443', `127.0.0.1:${(tlsServer.address() as AddressInfo).port}`);
  try {
    useProxies({ http: proxy.url.replace('http://', 'http://pu:pp%3Asecret@'), https: proxy.url.replace('http://', 'http://pu:pp%3Asecret@'), noProxy: 'direct.invalid' });
    const a = await request({ url: 'http://mirror.invalid/ok', retry: FAST });
    assert.ok((await a.bytes()).equals(BODY));
    const b = await request({ url: 'https://secure.invalid/hello', retry: FAST, insecureTls: true });
    assert.equal(await b.text(), 'tls /hello');
    await assert.rejects(request({ url: 'https://secure.invalid/hello', retry: FAST }), /self[- ]signed|unable to verify|certificate/i, 'certificates are still checked through a tunnel');
    const c = await request({ url: `${base}/ok`, retry: FAST });
    c.discard();
    await assert.rejects(request({ url: 'http://direct.invalid/ok', retry: FAST }), (e: Error & { code?: string }) => e.code === 'E_NETWORK');
    const expected = `Basic ${Buffer.from('pu:pp:secret').toString('base64')}`;
    assert.deepEqual(proxy.seen.map((s) => `${s.method} ${s.target}`), ['GET http://mirror.invalid/ok', 'CONNECT secure.invalid:443', 'CONNECT secure.invalid:443']);
    assert.ok(proxy.seen.every((s) => s.proxyAuthorization === expected));
    useProxies({ http: proxy.url.replace('http://', 'http://pu:wrong@') });
    await assert.rejects(request({ url: 'http://mirror.invalid/ok', retry: FAST }).then((res) => { res.discard(); if (res.status === 407) throw new Error('HTTP 407'); }), /407/);
  } finally {
    useProxies(undefined);
    await proxy.stop();
    await new Promise<void>((ok) => tlsServer.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('proxies: through a tunnel the certificate is checked against the destination (an IP address here), never the proxy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-ip-'));
  const proxy = await new TestProxy().start();
  const servers: Array<ReturnType<typeof createHttpsServer>> = [];
  try {
    const cert = (name: string, san: string): { key: Buffer; cert: Buffer } => {
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
        '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, `openssl (.ci/run installs it): ${r.stderr}`);
      return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.crt`)) };
    };
    // A: a certificate for the destination's address. B: one for the proxy's own address.
    const a = cert('dest', 'IP:10.99.99.1');
    const b = cert('proxy', 'IP:127.0.0.1');
    for (const [pair, addr] of [[a, '10.99.99.1:443'], [b, '10.99.99.2:443']] as const) {
      const srv = createHttpsServer(pair, (q, res) => res.end(`ok ${q.url}`));
      await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
      servers.push(srv);
      proxy.routes.set(addr, `127.0.0.1:${(srv.address() as AddressInfo).port}`);
    }
    const bundle = join(dir, 'trusted.pem');
    writeFileSync(bundle, Buffer.concat([a.cert, b.cert]));
    // A child process, so that both certificates are trusted the way a user trusts a private CA.
    const script = join(dir, 'probe.mjs');
    writeFileSync(script, `
      import { request } from ${JSON.stringify(new URL('../../src/fetch/http.js', import.meta.url).href)};
      import { useProxies } from ${JSON.stringify(new URL('../../src/fetch/proxy.js', import.meta.url).href)};
      useProxies({ https: ${JSON.stringify(proxy.url)} });
      const retry = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
      for (const u of ['https://10.99.99.1/one', 'https://10.99.99.2/two']) {
        try { console.log(await (await request({ url: u, retry })).text()); } catch (e) { console.log('refused ' + e.message); }
      }`);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'ok /one', out);
    assert.match(lines[1] ?? '', /^refused .*(IP: 10\.99\.99\.2 is not in the cert's list|altnames)/, out);
    assert.deepEqual(proxy.seen.map((s) => `${s.method} ${s.target}`), ['CONNECT 10.99.99.1:443', 'CONNECT 10.99.99.2:443']);
  } finally {
    for (const srv of servers) await new Promise<void>((ok) => srv.close(() => ok()));
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('proxies: a tunnel the proxy never answers is abandoned with its request', async () => {
  const held: Socket[] = [];
  const silent = createNetServer((s) => { held.push(s); });
  await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
  try {
    useProxies({ https: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` });
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(request({ url: 'https://nowhere.invalid/x', retry: FAST, signal: ac.signal }), /abandoned/);
    assert.ok(Date.now() - started < 5000, 'abandoned at once, not after the CONNECT timeout');
  } finally {
    useProxies(undefined);
    for (const s of held) s.destroy();
    await new Promise<void>((ok) => silent.close(() => ok()));
  }
});

const ONCE = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };

test('request: headers that drip a byte now and then are cut at the headers deadline, naming the URL (was: waited for ever)', { timeout: 20000 }, async () => {
  // Never idle for the 30 s idle timeout: a byte of a header line every 50 ms, never its end.
  const sockets = new Set<Socket>();
  const dripper = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.write('HTTP/1.1 200 OK\r\nx-drip: ');
    const t = setInterval(() => s.write('a'), 50);
    s.on('close', () => { clearInterval(t); sockets.delete(s); });
  });
  await new Promise<void>((ok) => dripper.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(dripper.address() as AddressInfo).port}/slow`;
  try {
    const t0 = Date.now();
    await assert.rejects(request({ url, retry: ONCE, deadlines: { headersMs: 1000 } }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_NETWORK');
      assert.equal(e.message, `${url}: response headers not complete 1000 ms after the request was sent`);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((ok) => dripper.close(() => ok()));
  }
});

test('request: a streamed body slower than the minimum speed is cut, a read whole too, naming the URL (was: read for ever)', { timeout: 20000 }, async () => {
  const minSpeed = { bytes: 1024, ms: 1000 };
  const t0 = Date.now();
  const r = await request({ url: `${base}/drip-body`, retry: ONCE, deadlines: { minSpeed } });
  await assert.rejects((async () => { for await (const _ of r.body) { /* read */ } })(), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ETIMEDOUT');
    assert.match(e.message, /^body slower than 1024 bytes in 1000 ms \(\d+ bytes in \d+ ms\)$/);
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  const whole = await request({ url: `${base}/drip-body`, retry: ONCE, deadlines: { minSpeed } });
  await assert.rejects(whole.bytes(), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_NETWORK');
    assert.match(e.message, new RegExp(`^${base}/drip-body: body slower than 1024 bytes in 1000 ms`));
    return true;
  });
});

test('downloadVerified: a package that drips is given up after its retries, naming the URL (was: downloaded for ever)', { timeout: 20000 }, async () => {
  const t0 = Date.now();
  await assert.rejects(downloadVerified('slow.deb', [`${base}/drip-body`], join(work, 'slow'), { size: BODY.length, sha256: SHA }, { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 5 }, deadlines: { minSpeed: { bytes: 1024, ms: 500 } } }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_NETWORK');
      assert.match(e.message, new RegExp(`^slow.deb: no source served the expected bytes: ${base}/drip-body: connection broke after \\d+ bytes \\(body slower than 1024 bytes in 500 ms`));
      return true;
    });
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('slow')), []);
});

test('downloadVerified: a file: mirror whose file is a FIFO is refused at once (was: blocked for ever)', { timeout: 10000 }, async () => {
  const fifo = join(work, 'fifo.deb');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  await assert.rejects(downloadVerified('fifo.deb', [pathToFileURL(fifo).href], join(work, 'fifo-out'), { size: BODY.length, sha256: SHA }, { retry: FAST }),
    (e: Error & { code?: string }) => {
      assert.equal(e.message, `fifo.deb: no source served the expected bytes: ${pathToFileURL(fifo).href}: a FIFO, not a regular file`);
      return true;
    });
});
