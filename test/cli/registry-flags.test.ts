/**
 * Every command that reads (or writes) an image reference takes the same registry flags:
 * --creds, --authfile, --tls-verify=false, and per side --a-creds and the like (diff) or --src-creds
 * (copy). Checked against a real registry on 127.0.0.1 with htpasswd auth over plain HTTP: each
 * command fails without the flags (auth or TLS) and works with them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRootfs, startRegistry, tempDir, type StartedRegistry } from '../transports/registry/harness.js';
import { build, EPOCH, runCliAsync } from '../transports/registry/images.js';

const USER = 'bob';
const PASSWORD = 'auth-file-secret';
let reg: StartedRegistry;
let work: string;
let rootfs: string;
let layout: string;
let digest: string;
let authfile: string;
let env: NodeJS.ProcessEnv;
let image: string;

before(async () => {
  reg = await startRegistry({ kind: 'htpasswd', user: USER, password: PASSWORD });
  work = tempDir('repro-regflags-');
  rootfs = join(work, 'rootfs');
  makeRootfs(rootfs, 'flags', 5000);
  layout = join(work, 'src');
  digest = build(rootfs, `oci:${layout}:v1`);
  authfile = join(work, 'auth.json');
  writeFileSync(authfile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  const home = join(work, 'home');
  mkdirSync(home);
  env = { HOME: home, XDG_RUNTIME_DIR: undefined, REGISTRY_AUTH_FILE: undefined, DOCKER_CONFIG: undefined };
  image = `docker://${reg.host}/flags/img:v1`;
  const pushed = await runCliAsync(['copy', `oci:${layout}:v1`, image, '--dest-authfile', authfile, '--dest-tls-verify=false'], env);
  assert.equal(pushed.status, 0, pushed.stderr);
  assert.equal(pushed.stdout.trim(), digest);
});

after(async () => {
  await reg?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const NO_CREDS = /401 unauthorized; no credentials found/;

test('inspect: --authfile and --creds, with --tls-verify=false', async () => {
  assert.match((await runCliAsync(['inspect', image, '--tls-verify=false'], env)).stderr, NO_CREDS);
  for (const flags of [['--authfile', authfile], ['--creds', `${USER}:${PASSWORD}`]]) {
    const r = await runCliAsync(['inspect', image, '--tls-verify=false', ...flags], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(digest));
  }
  const plain = await runCliAsync(['inspect', image, '--authfile', authfile], env);
  assert.equal(plain.status, 3, 'plain HTTP needs --tls-verify=false');
  const missing = await runCliAsync(['inspect', image, '--authfile', join(work, 'nope.json')], env);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--authfile .*nope\.json: cannot read it/);
});

test('verify --against a registry: --authfile and --tls-verify=false', async () => {
  const args = ['verify', '--rootfs', rootfs, '--source-date-epoch', EPOCH, '--against', image];
  assert.match((await runCliAsync([...args, '--tls-verify=false'], env)).stderr, NO_CREDS);
  const r = await runCliAsync([...args, '--tls-verify=false', '--authfile', authfile], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `reproduced ${digest}\n`);
});

test('status: --authfile and --tls-verify=false reach the image (which has no package database)', async () => {
  const args = ['status', image, '--rebuilder', 'http://127.0.0.1:9/'];
  const denied = await runCliAsync([...args, '--tls-verify=false'], env);
  assert.equal(denied.status, 3);
  assert.match(denied.stderr, NO_CREDS);
  const r = await runCliAsync([...args, '--tls-verify=false', '--authfile', authfile], env);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages found\./);
});

test('diff: one side from the registry, with --a-* or --b-* flags, or the flags for both', async () => {
  const local = `oci:${layout}:v1`;
  assert.match((await runCliAsync(['diff', image, local, '--a-tls-verify=false'], env)).stderr, NO_CREDS);
  for (const args of [
    ['diff', image, local, '--a-authfile', authfile, '--a-tls-verify=false'],
    ['diff', local, image, '--b-creds', `${USER}:${PASSWORD}`, '--b-tls-verify=false'],
    ['diff', local, image, '--authfile', authfile, '--tls-verify=false'],
  ]) {
    const r = await runCliAsync(args, env);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^identical/m);
  }
  // A's flags do not reach B.
  const wrongSide = await runCliAsync(['diff', local, image, '--a-authfile', authfile, '--a-tls-verify=false'], env);
  assert.equal(wrongSide.status, 3);
});

test('copy: --src-authfile from the registry, --dest-creds to it', async () => {
  const out = join(work, 'pulled');
  const r = await runCliAsync(['copy', image, `oci:${out}`, '--src-authfile', authfile, '--src-tls-verify=false'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digest);
  const pushed = await runCliAsync(['copy', `oci:${out}`, `docker://${reg.host}/flags/again:v1`, '--dest-creds', `${USER}:${PASSWORD}`, '--dest-tls-verify=false'], env);
  assert.equal(pushed.status, 0, pushed.stderr);
});

test('build --output to the registry: --authfile', async () => {
  const r = await runCliAsync(['build', '--rootfs', rootfs, '--source-date-epoch', EPOCH, '--output', `docker://${reg.host}/flags/built:v1`, '--tls-verify=false', '--authfile', authfile], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digest);
});
