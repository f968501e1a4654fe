/**
 * The registry client on networks in between: an HTTP proxy (HTTP_PROXY/HTTPS_PROXY/NO_PROXY, with
 * credentials) in front of a real docker-registry, and a destination that never answers while the
 * source of a copy fails.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { makeRootfs, startRegistry, tempDir, type StartedRegistry } from './harness.js';
import { build, layoutDigest, runCliAsync, sha256, skopeoAsync } from './images.js';
import { TestProxy } from '../../helpers/proxy.js';

const TLS = '--tls-verify=false';
const PROXY_PASSWORD = 'proxy-pa55-not-in-any-message';
let reg: StartedRegistry;
let work: string;
let layout: string;
let digest: string;

before(async () => {
  reg = await startRegistry();
  work = tempDir('repro-network-');
  const rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'network');
  layout = join(work, 'src');
  digest = build(rootfs, `oci:${layout}:v1`);
});
after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('push and pull through an HTTP proxy with credentials: the HTTPS probe tunnels (CONNECT), plain HTTP goes as absolute URIs', async () => {
  const proxy = await new TestProxy({ user: 'carol', password: PROXY_PASSWORD }).start();
  const port = reg.host.split(':')[1]!;
  // registry.invalid resolves nowhere: only the proxy knows where it is.
  proxy.routes.set(`registry.invalid:${port}`, reg.host);
  const withCreds = proxy.url.replace('http://', `http://carol:${PROXY_PASSWORD}@`);
  const env = { HTTP_PROXY: withCreds, HTTPS_PROXY: withCreds, NO_PROXY: 'elsewhere.invalid', http_proxy: undefined, https_proxy: undefined, no_proxy: undefined };
  try {
    const push = await runCliAsync(['copy', `oci:${layout}:v1`, `docker://registry.invalid:${port}/via/proxy:v1`, TLS], env);
    assert.equal(push.status, 0, push.stderr);
    assert.equal(push.stdout.trim(), digest);
    assert.equal(sha256(await skopeoAsync(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/via/proxy:v1`])), digest, 'the registry has it');
    const out = join(work, 'pulled');
    const pull = await runCliAsync(['copy', `docker://registry.invalid:${port}/via/proxy:v1`, `oci:${out}:v1`, TLS], env);
    assert.equal(pull.status, 0, pull.stderr);
    assert.equal(layoutDigest(out, 'v1'), digest);
    const kinds = new Set(proxy.seen.map((s) => (s.method === 'CONNECT' ? 'CONNECT' : new URL(s.target).pathname.split('/').slice(0, 4).join('/'))));
    assert.ok(kinds.has('CONNECT'), 'the HTTPS probe went through a tunnel');
    assert.ok([...kinds].some((k) => k.startsWith('/v2/via/proxy')), `registry requests went through the proxy: ${[...kinds].join(', ')}`);
    assert.ok(proxy.seen.every((s) => s.proxyAuthorization === `Basic ${Buffer.from(`carol:${PROXY_PASSWORD}`).toString('base64')}`));
    for (const r of [push, pull]) assert.equal((r.stdout + r.stderr).includes(PROXY_PASSWORD), false, 'the proxy password appears in the output');

    // wrong proxy credentials: the proxy's 407 is reported, the password is not
    const denied = await runCliAsync(['inspect', `docker://registry.invalid:${port}/via/proxy:v1`, TLS], { ...env, HTTP_PROXY: proxy.url.replace('http://', 'http://carol:wrong-pass@'), HTTPS_PROXY: proxy.url.replace('http://', 'http://carol:wrong-pass@') });
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /407/);
    assert.equal(denied.stderr.includes('wrong-pass'), false);
    // a proxy the tool cannot speak is refused before anything else
    const socks = await runCliAsync(['inspect', `docker://registry.invalid:${port}/via/proxy:v1`, TLS], { ...env, HTTPS_PROXY: 'socks5://127.0.0.1:1080' });
    assert.equal(socks.status, 2);
    assert.equal(socks.stderr.trim(), 'repro-image: HTTPS_PROXY: only http:// proxies are supported, not socks5://');
  } finally {
    await proxy.stop();
  }
});

test('a copy whose source fails does not wait on a destination that never answers', async () => {
  // A server that accepts connections and never says a word.
  const held: Socket[] = [];
  const silent = createServer((s) => { held.push(s); });
  await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
  const port = (silent.address() as AddressInfo).port;
  try {
    const started = Date.now();
    const r = await runCliAsync(['copy', `oci:${join(work, 'no-such-layout')}:v1`, `docker://127.0.0.1:${port}/x/y:v1`, TLS]);
    const took = Date.now() - started;
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no-such-layout/);
    assert.ok(took < 10000, `the CLI exited after ${took} ms, waiting on the silent destination`);
    assert.equal(r.stderr.includes('retry:'), false, 'no retries of the abandoned ping are reported');
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((ok) => silent.close(() => ok()));
  }
});
