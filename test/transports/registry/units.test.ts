/** The pure parts of the registry transport: names, challenges, auth files, comparison findings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseImageRef, formatImageRef } from '../../../src/transports/reference.js';
import { parseChallenge } from '../../../src/transports/registry/challenge.js';
import { credentialsIn, lookupCredentials, parseCredsFlag, runHelper } from '../../../src/transports/registry/credentials.js';
import { documentMediaType } from '../../../src/transports/registry/manifests.js';
import { rewriteTlsFlags, authFiles } from '../../../src/cli/registry-flags.js';
import { MediaType } from '../../../src/model/media-types.js';
import { requireTool } from './harness.js';
import { blobProgress } from '../../../src/transports/progress.js';

test('docker:// references: hosts, ports, implied docker.io/library, tags, digests; bad ones refused', () => {
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseImageRef('docker://127.0.0.1:5000/team/app:v1'), { transport: 'docker', registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1' });
  assert.deepEqual(parseImageRef(`docker://localhost/app@${d}`), { transport: 'docker', registry: 'localhost', repository: 'app', digest: d });
  assert.deepEqual(parseImageRef('docker://debian:bookworm'), { transport: 'docker', registry: 'docker.io', repository: 'library/debian', tag: 'bookworm' });
  assert.deepEqual(parseImageRef('docker://archlinux/archlinux'), { transport: 'docker', registry: 'docker.io', repository: 'archlinux/archlinux' });
  assert.deepEqual(parseImageRef(`docker://quay.io/a/b/c:t@${d}`), { transport: 'docker', registry: 'quay.io', repository: 'a/b/c', tag: 't', digest: d });
  assert.deepEqual(parseImageRef('docker://[::1]:5000/x'), { transport: 'docker', registry: '[::1]:5000', repository: 'x' });
  assert.equal(formatImageRef(parseImageRef('docker://debian')), 'docker://docker.io/library/debian');
  for (const bad of ['docker://', 'docker://host:5000/UPPER', 'docker://h.io/a:bad tag', 'docker://h.io/a@sha256:123', 'docker://h.io//a', 'docker://h_o.io:x/a']) {
    assert.throws(() => parseImageRef(bad), (e: Error & { code?: string }) => e.code === 'E_BAD_REFERENCE' && e.message.startsWith(bad), bad);
  }
});

test('WWW-Authenticate challenges: bearer with quoted commas, basic, unknown', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
    scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.deepEqual(parseChallenge('bearer realm=https://x/t, error="insufficient_scope"'), { scheme: 'bearer', params: { realm: 'https://x/t', error: 'insufficient_scope' } });
  assert.equal(parseChallenge(undefined), undefined);
});

test('credentials: --creds keeps colons in the password; auth files by host, namespace and docker.io aliases', async () => {
  assert.deepEqual(parseCredsFlag('u:p:q'), { username: 'u', password: 'p:q' });
  assert.throws(() => parseCredsFlag('nopass'), /--creds: expected USER:PASSWORD/);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const doc = { auths: { 'r.example/team': { auth: b64('t:1') }, 'r.example': { auth: b64('h:2') }, 'https://index.docker.io/v1/': { auth: b64('d:3') } } };
  assert.deepEqual(credentialsIn(doc, 'r.example', 'team/app', 'f'), { username: 't', password: '1' });
  assert.deepEqual(credentialsIn(doc, 'r.example', 'other/app', 'f'), { username: 'h', password: '2' });
  assert.deepEqual(credentialsIn(doc, 'docker.io', 'library/debian', 'f'), { username: 'd', password: '3' });
  assert.equal(credentialsIn(doc, 'elsewhere.example', 'x', 'f'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'creds-'));
  try {
    const good = join(dir, 'auth.json');
    writeFileSync(good, JSON.stringify({ auths: { 'r.example': { auth: b64('f:secret') } } }));
    assert.deepEqual(await lookupCredentials([join(dir, 'missing.json'), good], 'r.example', 'a'), { username: 'f', password: 'secret' });
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"auths": {"r.example": {"auth": "c2VjcmV0"');
    await assert.rejects(lookupCredentials([broken], 'r.example', 'a'), (e: Error) => e.message === `${broken}: the auth file is not valid JSON`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(authFiles({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/u', HOME: '/h' }), ['/a.json', '/run/u/containers/auth.json', '/h/.docker/config.json']);
  assert.deepEqual(authFiles({ HOME: '/h', DOCKER_CONFIG: '/dc' }), ['/dc/config.json']);
});

test('auth files: credHelpers for the host, then auths, then credsStore; identity tokens; bad helper names', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const doc = {
    credHelpers: { 'gcr.example': 'gcr', 'docker.io': 'hub' },
    auths: { 'r.example': { auth: b64('h:2') }, 'store.example': {}, 'tok.example': { identitytoken: 'refresh-me' } },
    credsStore: 'pass',
  };
  assert.deepEqual(credentialsIn(doc, 'gcr.example', 'a/b', 'f'), { helper: 'gcr', key: 'credHelpers.gcr.example' });
  assert.deepEqual(credentialsIn(doc, 'docker.io', 'library/debian', 'f'), { helper: 'hub', key: 'credHelpers.docker.io' });
  assert.deepEqual(credentialsIn(doc, 'r.example', 'a', 'f'), { username: 'h', password: '2' });
  // an empty auths entry is the marker Docker leaves when the credentials are in the store
  assert.deepEqual(credentialsIn(doc, 'store.example', 'a', 'f'), { helper: 'pass', key: 'credsStore' });
  assert.deepEqual(credentialsIn(doc, 'elsewhere.example', 'a', 'f'), { helper: 'pass', key: 'credsStore' });
  assert.deepEqual(credentialsIn(doc, 'tok.example', 'a', 'f'), { username: '', password: '', identityToken: 'refresh-me' });
  assert.equal(credentialsIn({ auths: {} }, 'x.example', 'a', 'f'), undefined);
  assert.throws(() => credentialsIn({ credsStore: '../../bin/sh' }, 'x.example', 'a', 'f'), /^ReproError: f: credsStore: expected a credential helper name/);
  assert.throws(() => credentialsIn({ credHelpers: { 'x.example': 3 } }, 'x.example', 'a', 'f'), /f: credHelpers\.x\.example: expected a credential helper name/);
});

test('credential helpers: docker-credential-NAME get, the server on stdin; not found, missing, failing and garbage helpers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'helpers-'));
  try {
    const SECRET = 's3cret-never-shown';
    const helper = (name: string, body: string): void => {
      const path = join(dir, `docker-credential-${name}`);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
    };
    const seen = join(dir, 'seen');
    helper('good', `[ "$1" = get ] || exit 9\ncat > "${seen}"\nprintf '{"ServerURL":"x","Username":"bob","Secret":"${SECRET}"}'`);
    helper('token', `cat >/dev/null; printf '{"ServerURL":"x","Username":"<token>","Secret":"refresh-${SECRET}"}'`);
    helper('none', 'cat >/dev/null; echo "credentials not found in native keychain"; exit 1');
    helper('broken', `cat >/dev/null; echo "oops ${SECRET}" >&2; exit 4`);
    helper('garbage', `cat >/dev/null; echo "not json ${SECRET}"`);
    const env = { PATH: `${dir}:/usr/bin:/bin` };
    assert.deepEqual(await runHelper('good', 'r.example:5000', 'f: credsStore', { env }), { username: 'bob', password: SECRET });
    assert.equal(readFileSync(seen, 'utf8'), 'r.example:5000');
    await runHelper('good', 'docker.io', 'f: credsStore', { env });
    assert.equal(readFileSync(seen, 'utf8'), 'https://index.docker.io/v1/', 'Docker Hub is asked for under its classic address');
    assert.deepEqual(await runHelper('token', 'r.example', 'f', { env }), { username: '', password: '', identityToken: `refresh-${SECRET}` });
    assert.equal(await runHelper('none', 'r.example', 'f', { env }), undefined);
    const failures: Array<[string, RegExp]> = [
      ['missing', /^docker-credential-missing \(f: credsStore\): the credential helper is not on PATH$/],
      ['broken', /^docker-credential-broken \(f: credsStore\): the credential helper exited with status 4 for r\.example$/],
      ['garbage', /^docker-credential-garbage \(f: credsStore\): the credential helper's answer is not a JSON object$/],
    ];
    for (const [name, message] of failures) {
      await assert.rejects(runHelper(name, 'r.example', 'f: credsStore', { env }), (e: Error & { code?: string }) => {
        assert.match(e.message, message);
        assert.equal(e.code, 'E_AUTH');
        assert.equal(e.message.includes(SECRET), false);
        return true;
      });
    }
    // lookupCredentials runs the helper a file names; a helper without credentials passes on to the next file
    const file1 = join(dir, 'a.json');
    const file2 = join(dir, 'b.json');
    writeFileSync(file1, JSON.stringify({ credHelpers: { 'r.example': 'none' } }));
    writeFileSync(file2, JSON.stringify({ auths: { 'r.example': {} }, credsStore: 'good' }));
    assert.deepEqual(await lookupCredentials([file1, file2], 'r.example', 'a', { env }), { username: 'bob', password: SECRET });
    // a credsStore that is not installed (a desktop config copied to a server) is passed over with a
    // warning, so that anonymous pulls still work; a credHelpers entry for the registry is meant
    const desktop = join(dir, 'desktop.json');
    writeFileSync(desktop, JSON.stringify({ auths: { 'r.example': {} }, credsStore: 'desktop' }));
    const warnings: string[] = [];
    assert.equal(await lookupCredentials([desktop], 'r.example', 'a', { env, onWarning: (m) => warnings.push(m) }), undefined);
    assert.deepEqual(warnings, [`docker-credential-desktop (${desktop}: credsStore): the credential helper is not on PATH; looking further without it`]);
    writeFileSync(desktop, JSON.stringify({ credHelpers: { 'r.example': 'desktop' } }));
    await assert.rejects(lookupCredentials([desktop], 'r.example', 'a', { env }), /docker-credential-desktop \(.*credHelpers\.r\.example\): the credential helper is not on PATH/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--tls-verify spellings', () => {
  assert.deepEqual(rewriteTlsFlags(['--tls-verify=false', '--src-tls-verify=false', '--dest-tls-verify=true', '--tls-verify', 'x']), ['--insecure', '--src-insecure', 'x']);
  assert.throws(() => rewriteTlsFlags(['--tls-verify=no']), /--tls-verify: expected true or false/);
});

test('a manifest\'s media type: its own field, else Content-Type, else its shape', () => {
  assert.equal(documentMediaType(Buffer.from('{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}'), 'application/json'), MediaType.dockerManifest);
  assert.equal(documentMediaType(Buffer.from('{"schemaVersion":2,"manifests":[]}'), 'application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8'), MediaType.dockerManifestList);
  assert.equal(documentMediaType(Buffer.from('{"schemaVersion":2,"manifests":[]}'), undefined), MediaType.ociIndex);
  assert.equal(documentMediaType(Buffer.from('{"schemaVersion":2,"layers":[]}'), 'text/plain'), MediaType.ociManifest);
});

test('a missing tool fails the registry tests with the package to install, never a skip', () => {
  assert.throws(() => requireTool('/nonexistent/docker-registry', 'docker-registry'),
    /\/nonexistent\/docker-registry is missing: these tests need the Debian package docker-registry \(\.ci\/run installs it/);
});

test('blobProgress: blobs moving at once are summed; the total is the given one, else the sizes seen so far', () => {
  const seen: Array<[number, number]> = [];
  const r = blobProgress((d, t) => seen.push([d, t]));
  r('layer', 10, 100);
  r('config', 5, 5);
  r('layer', 60, 100);
  assert.deepEqual(seen, [[10, 100], [15, 105], [65, 105]]);
  const fixed: Array<[number, number]> = [];
  const g = blobProgress((d, t) => fixed.push([d, t]), 1000);
  g('a', 7, 100);
  g('a', 9, 100);
  assert.deepEqual(fixed, [[7, 1000], [9, 1000]]);
});
