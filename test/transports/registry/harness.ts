/**
 * A real registry for tests: Debian's docker-registry (the CNCF distribution registry) started on
 * 127.0.0.1 and a free port with a config in a temporary directory, with no auth, htpasswd basic
 * auth (bcrypt, from apache2-utils' htpasswd) or bearer tokens from a small token service. Nothing
 * is skipped: a missing binary is a failure that says how to install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function requireTool(path: string, pkg: string): void {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: these tests need the Debian package ${pkg} (.ci/run installs it: apt-get install ${pkg})`);
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

export interface Registry {
  /** `127.0.0.1:PORT` */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export type Auth = { kind: 'none' } | { kind: 'htpasswd'; user: string; password: string } | { kind: 'token'; user: string; password: string; refreshToken?: string };

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const r = httpRequest(url, (res: IncomingMessage) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', () => resolve(0));
    r.setTimeout(1000, () => r.destroy());
    r.end();
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A token service as the distribution token spec describes it: Basic credentials in (GET), or an
 * OAuth2 refresh token in a form (POST, grant_type=refresh_token), a JWT (ES256, signed by a key
 * whose self-signed certificate the registry trusts, sent in the x5c header) out, granting every
 * scope asked for. `requests` records each request's parameters as a query string, POST prefixed.
 */
async function startTokenService(dir: string, user: string, password: string, service: string, issuer: string, refreshToken?: string): Promise<{ server: Server; realm: string; cert: string; requests: string[] }> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=repro-image test token issuer'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl could not make the token certificate (.ci/run installs openssl): ${r.stderr}`);
  const key = createPrivateKey(readFileSync(keyPath));
  const der = Buffer.from(readFileSync(certPath, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const requests: string[] = [];
  const issue = (res: ServerResponse, scopes: string[], field: 'token' | 'access_token'): void => {
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop() ?? '';
      return { type, name: rest.join(':'), actions: actions.split(',') };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: createHash('sha256').update(`${now}${Math.random()}`).digest('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ [field]: `${signingInput}.${b64url(sig)}`, expires_in: 300 }));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(parts).toString('utf8'));
        requests.push(`POST ?${form.toString()}`);
        const ok = refreshToken !== undefined && form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === refreshToken
          && form.get('service') === service && form.get('client_id') !== null && req.headers.authorization === undefined;
        if (!ok) {
          res.statusCode = 401;
          res.end('{"details":"bad refresh token"}');
          return;
        }
        issue(res, (form.get('scope') ?? '').split(' ').filter((x) => x !== ''), 'access_token');
      });
      return;
    }
    requests.push(url.search);
    const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.statusCode = 401;
      res.end('{"details":"bad credentials"}');
      return;
    }
    issue(res, url.searchParams.getAll('scope'), 'token');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, cert: certPath, requests };
}

export interface StartedRegistry extends Registry {
  /** For token auth: the query strings the token service was asked (scopes). */
  tokenRequests?: string[];
}

export async function startRegistry(auth: Auth = { kind: 'none' }): Promise<StartedRegistry> {
  requireTool(REGISTRY_BIN, 'docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'repro-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let token: Awaited<ReturnType<typeof startTokenService>> | undefined;
  if (auth.kind === 'htpasswd') {
    requireTool('/usr/bin/htpasswd', 'apache2-utils');
    const r = spawnSync('htpasswd', ['-Bbn', auth.user, auth.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), r.stdout);
    lines.push('auth:', '  htpasswd:', '    realm: repro-image-test', `    path: ${join(dir, 'htpasswd')}`);
  } else if (auth.kind === 'token') {
    token = await startTokenService(dir, auth.user, auth.password, 'repro-image-test', 'repro-image-test-issuer', auth.refreshToken);
    lines.push('auth:', '  token:', `    realm: ${token.realm}`, '    service: repro-image-test', '    issuer: repro-image-test-issuer', `    rootcertbundle: ${token.cert}`);
  }
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
  const deadline = Date.now() + 15000;
  for (;;) {
    const status = await get(`http://127.0.0.1:${port}/v2/`);
    if (status === 200 || status === 401) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start on 127.0.0.1:${port}: ${stderr.slice(-2000)}`);
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const started: StartedRegistry = {
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((ok) => setTimeout(ok, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (token) await new Promise<void>((ok) => token!.server.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (token) started.tokenRequests = token.requests;
  return started;
}

/** A small root filesystem; `variant` changes one file's content. */
export function makeRootfs(dir: string, variant = 'one', bigBytes = 300000): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
  mkdirSync(join(dir, 'usr/share/data'), { recursive: true });
  writeFileSync(join(dir, 'etc/hostname'), 'repro\n');
  writeFileSync(join(dir, 'etc/variant'), `${variant}\n`);
  // Incompressible but fixed content, so that the layer is large enough to be uploaded in chunks.
  const big = Buffer.alloc(bigBytes);
  let x = 0x12345678;
  for (let i = 0; i < big.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    big[i] = x & 0xff;
  }
  writeFileSync(join(dir, 'usr/share/data/blob.bin'), big);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
