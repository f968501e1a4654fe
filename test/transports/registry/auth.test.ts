/**
 * Authentication against real registries: htpasswd basic auth (bcrypt) and bearer tokens from a
 * token service named in the challenge; credentials from --creds, REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json and ~/.docker/config.json; never printed; never sent to
 * another origin on a redirect.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRootfs, startRegistry, tempDir, type StartedRegistry } from './harness.js';
import { FaultProxy } from './fault-proxy.js';
import { build, layoutDigest, runCliAsync, sha256, skopeo, skopeoAsync } from './images.js';

const USER = 'alice';
const PASSWORD = 'pa55:w0rd-not-in-any-message';
const REFRESH = 'refresh-t0ken-not-in-any-message';
const TLS = '--tls-verify=false';
let basic: StartedRegistry;
let token: StartedRegistry;
let work: string;
let layout: string;
let digest: string;
/** An environment in which no auth file of the machine's is found. */
let noAuthEnv: NodeJS.ProcessEnv;

function authJson(registry: string, user: string, password: string): string {
  return JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });
}

function assertNoSecret(s: string): void {
  assert.equal(s.includes(PASSWORD), false, 'the password appears in the output');
  assert.equal(s.includes(Buffer.from(`${USER}:${PASSWORD}`).toString('base64')), false, 'the encoded credentials appear in the output');
  assert.equal(s.includes(REFRESH), false, 'the identity token appears in the output');
}

before(async () => {
  basic = await startRegistry({ kind: 'htpasswd', user: USER, password: PASSWORD });
  token = await startRegistry({ kind: 'token', user: USER, password: PASSWORD, refreshToken: REFRESH });
  work = tempDir('repro-auth-');
  const rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'auth');
  layout = join(work, 'src');
  digest = build(rootfs, `oci:${layout}:v1`);
  const home = join(work, 'empty-home');
  mkdirSync(home);
  noAuthEnv = { HOME: home, XDG_RUNTIME_DIR: undefined, REGISTRY_AUTH_FILE: undefined, DOCKER_CONFIG: undefined };
});
after(async () => {
  await basic?.stop();
  await token?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('basic auth: push with --creds; skopeo pulls it with the same credentials; no secret in any output', async () => {
  const r = await runCliAsync(['copy', `oci:${layout}:v1`, `docker://${basic.host}/private/img:v1`, TLS, '--creds', `${USER}:${PASSWORD}`], noAuthEnv);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digest);
  assertNoSecret(r.stdout + r.stderr);
  const raw = skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${basic.host}/private/img:v1`]);
  assert.equal(sha256(raw), digest);
});

test('basic auth: no credentials or wrong ones → exit 3 with a hint, and the password is never shown', async () => {
  const none = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS], noAuthEnv);
  assert.equal(none.status, 3);
  assert.match(none.stderr, /HTTP 401 unauthorized; no credentials found \(pass --creds USER:PASSWORD/);
  const wrong = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS, '--creds', `${USER}:not-${PASSWORD}`], noAuthEnv);
  assert.equal(wrong.status, 3);
  assert.match(wrong.stderr, /HTTP 401 unauthorized for user "alice"/);
  assertNoSecret(none.stderr + wrong.stderr);
  assert.equal(wrong.stderr.includes(`not-${PASSWORD}`), false);
});

test('credentials from REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json and ~/.docker/config.json', async () => {
  const ref = `docker://${basic.host}/private/img:v1`;
  const file = join(work, 'auth.json');
  writeFileSync(file, authJson(basic.host, USER, PASSWORD));
  const a = await runCliAsync(['inspect', ref, TLS], { ...noAuthEnv, REGISTRY_AUTH_FILE: file });
  assert.equal(a.status, 0, a.stderr);
  const xdg = join(work, 'xdg');
  mkdirSync(join(xdg, 'containers'), { recursive: true });
  writeFileSync(join(xdg, 'containers', 'auth.json'), authJson(basic.host, USER, PASSWORD));
  const b = await runCliAsync(['inspect', ref, TLS], { ...noAuthEnv, XDG_RUNTIME_DIR: xdg });
  assert.equal(b.status, 0, b.stderr);
  const home = join(work, 'home');
  mkdirSync(join(home, '.docker'), { recursive: true });
  writeFileSync(join(home, '.docker', 'config.json'), authJson(`http://${basic.host}`, USER, PASSWORD));
  const c = await runCliAsync(['inspect', ref, TLS], { ...noAuthEnv, HOME: home });
  assert.equal(c.status, 0, c.stderr);
  // --creds wins over a file with wrong ones; a broken file is named, its content is not shown
  writeFileSync(file, authJson(basic.host, USER, 'wrong'));
  const d = await runCliAsync(['inspect', ref, TLS, '--creds', `${USER}:${PASSWORD}`], { ...noAuthEnv, REGISTRY_AUTH_FILE: file });
  assert.equal(d.status, 0, d.stderr);
  writeFileSync(file, `{"auths": {"${basic.host}": {"auth": "${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}"`);
  const e = await runCliAsync(['inspect', ref, TLS], { ...noAuthEnv, REGISTRY_AUTH_FILE: file });
  assert.equal(e.status, 2);
  assert.equal(e.stderr.trim(), `repro-image: ${file}: the auth file is not valid JSON`);
  assertNoSecret(a.stderr + b.stderr + c.stderr + d.stderr + e.stderr);
});

test('bearer tokens: the realm and scope come from the challenge; push, mount and pull work; skopeo agrees', async () => {
  const env = { ...noAuthEnv };
  const creds = ['--creds', `${USER}:${PASSWORD}`];
  const push = await runCliAsync(['copy', `oci:${layout}:v1`, `docker://${token.host}/team/app:v1`, TLS, ...creds], env);
  assert.equal(push.status, 0, push.stderr);
  assert.equal(push.stdout.trim(), digest);
  const mount = await runCliAsync(['copy', `docker://${token.host}/team/app:v1`, `docker://${token.host}/team/other:v1`, TLS, ...creds, '--json'], env);
  assert.equal(mount.status, 0, mount.stderr);
  assert.deepEqual((JSON.parse(mount.stdout) as { pushed: unknown }).pushed, { exists: 0, mounted: 2, uploaded: 0 });
  const out = join(work, 'token-pulled');
  const pull = await runCliAsync(['copy', `docker://${token.host}/team/other:v1`, `oci:${out}:v1`, TLS, ...creds], env);
  assert.equal(pull.status, 0, pull.stderr);
  assert.equal(layoutDigest(out, 'v1'), digest);
  assert.equal(sha256(await skopeoAsync(['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${token.host}/team/other:v1`])), digest);
  const scopes = (token.tokenRequests ?? []).map((q) => new URLSearchParams(q).getAll('scope').join(' '));
  assert.ok(scopes.includes('repository:team/app:pull,push'), scopes.join(' | '));
  assert.ok(scopes.some((s) => s.includes('repository:team/other:pull,push') && s.includes('repository:team/app:pull')), `the mount asked for pull on the source: ${scopes.join(' | ')}`);
  assert.ok((token.tokenRequests ?? []).filter((q) => !q.startsWith('POST')).every((q) => new URLSearchParams(q).get('service') === 'repro-image-test'));
  const refused = await runCliAsync(['inspect', `docker://${token.host}/team/app:v1`, TLS, '--creds', `${USER}:nope`], env);
  assert.equal(refused.status, 3);
  assert.match(refused.stderr, /the token service http:\/\/127\.0\.0\.1:\d+\/token refused the credentials for user "alice" \(HTTP 401\)/);
  assertNoSecret(push.stderr + mount.stderr + pull.stderr + refused.stderr);
});

/** A docker-credential-NAME program in `bin` that logs what it was asked to `log` and answers `answer` (JSON), or "not found". */
function credentialHelper(bin: string, name: string, log: string, answer: object | undefined): void {
  mkdirSync(bin, { recursive: true });
  const path = join(bin, `docker-credential-${name}`);
  const reply = answer ? `printf '%s' '${JSON.stringify(answer)}'` : 'echo "credentials not found in native keychain"; exit 1';
  writeFileSync(path, `#!/bin/sh\n[ "$1" = get ] || exit 9\ncat >> "${log}"\necho >> "${log}"\n${reply}\n`);
  chmodSync(path, 0o755);
}

test('credential helpers: credsStore with Basic auth, a credHelpers identity token with a bearer token service, and their failures', async () => {
  const bin = join(work, 'helper-bin');
  const log = join(work, 'helper-log');
  credentialHelper(bin, 'teststore', log, { ServerURL: basic.host, Username: USER, Secret: PASSWORD });
  credentialHelper(bin, 'testtoken', log, { ServerURL: token.host, Username: '<token>', Secret: REFRESH });
  credentialHelper(bin, 'testempty', log, undefined);
  const home = join(work, 'helper-home');
  mkdirSync(join(home, '.docker'), { recursive: true });
  const config = join(home, '.docker', 'config.json');
  // Docker leaves an empty auths entry when the credentials are in the store.
  writeFileSync(config, JSON.stringify({ auths: { [basic.host]: {} }, credsStore: 'teststore', credHelpers: { [token.host]: 'testtoken' } }));
  const env = { ...noAuthEnv, HOME: home, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };

  const a = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS], env);
  assert.equal(a.status, 0, a.stderr);
  const before = (token.tokenRequests ?? []).length;
  const b = await runCliAsync(['copy', `oci:${layout}:v1`, `docker://${token.host}/helper/app:v1`, TLS], env);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout.trim(), digest);
  assert.deepEqual(readFileSync(log, 'utf8').split('\n').filter((l) => l !== ''), [basic.host, token.host], 'each helper was asked for its registry');
  const posts = (token.tokenRequests ?? []).slice(before).filter((q) => q.startsWith('POST'));
  assert.ok(posts.length > 0, 'the identity token went to the token service as an OAuth2 refresh token');
  const form = new URLSearchParams(posts[0]!.slice('POST ?'.length));
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('service'), 'repro-image-test');
  assert.match(form.get('scope') ?? '', /repository:helper\/app:pull,push/);

  // a helper without credentials: anonymous, then the usual hint; a helper that is not installed: named
  writeFileSync(config, JSON.stringify({ credsStore: 'testempty' }));
  const c = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS], env);
  assert.equal(c.status, 3);
  assert.match(c.stderr, /HTTP 401 unauthorized; no credentials found/);
  writeFileSync(config, JSON.stringify({ credHelpers: { [basic.host]: 'not-installed' } }));
  const d = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS], env);
  assert.equal(d.status, 3);
  assert.equal(d.stderr.trim(), `repro-image: docker-credential-not-installed (${config}: credHelpers.${basic.host}): the credential helper is not on PATH`);
  // an identity token where the registry wants Basic credentials
  writeFileSync(config, JSON.stringify({ credsStore: 'testtoken' }));
  const e = await runCliAsync(['inspect', `docker://${basic.host}/private/img:v1`, TLS], env);
  assert.equal(e.status, 3);
  assert.match(e.stderr, /asks for Basic credentials, and the ones found are an identity token/);
  assertNoSecret(a.stdout + a.stderr + b.stderr + c.stderr + d.stderr + e.stderr);
});

test('a blob redirected to another origin is fetched there without our credentials', async () => {
  const proxy = new FaultProxy();
  await proxy.start(basic.host);
  try {
    proxy.storageAuthorization = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    proxy.add({ method: 'GET', path: /\/blobs\/sha256:/, fault: 'redirect', times: 10 });
    const out = join(work, 'redirected');
    const r = await runCliAsync(['copy', `docker://${proxy.host}/private/img:v1`, `oci:${out}:v1`, TLS, '--creds', `${USER}:${PASSWORD}`], noAuthEnv);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(layoutDigest(out, 'v1'), digest);
    const storage = proxy.log.filter((l) => l.storage);
    assert.equal(storage.length, 2, 'config and layer came from the storage origin');
    assert.ok(storage.every((l) => !l.authorization), 'no Authorization header crossed to the other origin');
    assert.ok(proxy.log.filter((l) => l.fault === 'redirect').every((l) => l.authorization));
  } finally {
    await proxy.stop();
  }
});

test('plain HTTP needs --tls-verify=false, loopback included; nothing is written without it', async () => {
  const out = join(work, 'no-tls-flag');
  const r = await runCliAsync(['copy', `docker://${basic.host}/private/img:v1`, `oci:${out}`, '--creds', `${USER}:${PASSWORD}`], noAuthEnv);
  assert.equal(r.status, 3);
  assert.match(r.stderr, /TLS handshake failed \(the server does not speak TLS\); for a plain-HTTP registry or an untrusted certificate pass --tls-verify=false/);
  assert.equal(existsSync(out), false);
  assertNoSecret(r.stderr);
});
