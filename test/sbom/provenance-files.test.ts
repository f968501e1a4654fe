/**
 * The provenance's record of a spec's `files:` is what the build copies: a `src` is looked up as
 * the build looks it up (confinedPath: symlinks inside the spec folder followed, anything that
 * leads out of it refused), so a symlinked file or directory is recorded with the bytes the image
 * holds, and nothing outside the spec folder is ever read for it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { ReproError, provenanceStatement } from '../../src/index.js';

const PACKAGES: TestPackage[] = [{ name: 'hello-base', version: '1.0', fields: { Priority: 'required' }, files: { '/usr/share/hello/base.txt': 'base\n' } }];
const IMAGE = { manifest: { digest: `sha256:${'a'.repeat(64)}` }, platform: { os: 'linux', architecture: 'amd64' }, sourceDateEpoch: 1700000000 };
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');

let dir: string;
let repo: Repo;
let signer: { home: string; keyring: string };

async function lockedSpec(name: string, files: string): Promise<string> {
  const spec = join(dir, name, 'image.yaml');
  writeFileSync(spec, `name: p\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\npackages: [hello-base]\nfiles:\n${files}`);
  const r = await runCliAsync(['lock', spec], { env: { XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: undefined } });
  assert.equal(r.status, 0, r.stderr);
  return spec;
}

function filesOf(spec: string): Array<[string, string]> {
  const s = JSON.parse(provenanceStatement({ spec }, IMAGE).toString()) as { predicate: { buildDefinition: { resolvedDependencies: Array<{ name: string; digest: { sha256: string } }> } } };
  return s.predicate.buildDefinition.resolvedDependencies.filter((d) => d.name.startsWith('files:')).map((d) => [d.name, d.digest.sha256]);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'provenance-files-'));
  signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
});
after(async () => {
  await repo?.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('provenance: a files[].src that is a symlink inside the spec folder is recorded with the bytes the build copies', async () => {
  mkdirSync(join(dir, 'in/conf'), { recursive: true });
  writeFileSync(join(dir, 'in/motd'), 'welcome\n');
  writeFileSync(join(dir, 'in/conf/a.conf'), 'a\n');
  symlinkSync('motd', join(dir, 'in/motd-link'));
  symlinkSync('conf', join(dir, 'in/conf-link'));
  const spec = await lockedSpec('in', '  - {src: motd-link, dest: /etc/motd}\n  - {src: conf-link, dest: /etc/app/}\n');
  assert.deepEqual(filesOf(spec), [['files:/etc/motd', sha('welcome\n')], ['files:/etc/app/a.conf', sha('a\n')]]);
});

test('provenance: a files[].src that leads out of the spec folder through a symlink is refused as the build refuses it, never read', async () => {
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'secret'), 'host file\n');
  symlinkSync('../secret', join(dir, 'out/link'));
  symlinkSync('..', join(dir, 'out/up'));
  for (const src of ['link', 'up/secret']) {
    const spec = await lockedSpec('out', `  - {src: ${src}, dest: /etc/x}\n`);
    assert.throws(() => filesOf(spec), (e: unknown) => e instanceof ReproError && e.code === 'E_PATH_ESCAPE' && /files\[0\]\.src/.test(e.message), src);
  }
});

test('provenance: --builder-id must be a URI (a TypeURI, as --verifier-id), refused before anything is read', async () => {
  assert.throws(() => provenanceStatement({ spec: join(dir, 'missing.yaml'), builderId: 'my laptop' }, IMAGE), (e: unknown) => e instanceof ReproError && e.code === 'E_USAGE' && /builderId: expected a URI/.test(e.message));
  const r = await runCliAsync(['build', join(dir, 'missing.yaml'), '--output', `oci:${join(dir, 'never')}:t`, '--provenance', '--builder-id', 'my laptop']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: --builder-id: expected a URI \(https:\/\/…, urn:…, mailto:…\), got "my laptop"\n$/);
});
