/**
 * The spec carries what the config and manifest can (issue 15, defect 8): `annotations` (manifest
 * annotations, with --annotation over them), `config.exposedPorts`, `config.volumes` and
 * `config.stopSignal`, built from a signed local repository and read back from the image;
 * the rootfs build takes the same as --expose, --volume and --stop-signal. A `files:` entry may
 * be a directory, copied with what it holds, modes normalised whatever the umask that made it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo } from '../helpers/debian-repo.js';

let dir: string;
let repo: Repo;
let spec: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spec-fields-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, [{ name: 'base', version: '1.0', fields: { Priority: 'required' }, files: { '/etc/base': 'base\n' } }], signer);
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec', 'image.yaml');
  const tool = join(dir, 'spec', 'tool');
  mkdirSync(join(tool, 'bin'), { recursive: true, mode: 0o700 });
  mkdirSync(join(tool, 'lib'), { mode: 0o700 });
  writeFileSync(join(tool, 'bin/run'), '#!/bin/sh\necho run\n', { mode: 0o700 });
  writeFileSync(join(tool, 'lib/data'), 'data\n', { mode: 0o600 });
  symlinkSync('bin/run', join(tool, 'run'));
  writeFileSync(spec, `name: fields
source: {distro: debian, suite: testing, mirrors: ["${repo.url}"], keyring: ${signer.keyring}}
packages: [base]
annotations:
  org.opencontainers.image.source: https://example.com/fields
  org.example.keep: from-spec
config:
  cmd: [/bin/sh]
  exposedPorts: ["80", "53/udp"]
  volumes: [/data, /var/cache/app]
  stopSignal: SIGQUIT
files:
  - {src: tool, dest: /opt/tool}
`);
});

after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

function configAndManifest(ref: string): { config: { config: Record<string, unknown> }; manifest: { annotations: Record<string, string> } } {
  const c = runCli(['inspect', '--config', ref]);
  assert.equal(c.status, 0, c.stderr);
  const m = runCli(['inspect', '--raw', ref]);
  assert.equal(m.status, 0, m.stderr);
  return { config: JSON.parse(c.stdout) as { config: Record<string, unknown> }, manifest: JSON.parse(m.stdout) as { annotations: Record<string, string> } };
}

test('a spec with annotations, exposedPorts, volumes and stopSignal builds them into the image', async () => {
  const env = { XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: undefined };
  const l = await runCliAsync(['lock', spec], { env });
  assert.equal(l.status, 0, l.stderr);
  const out = join(dir, 'image');
  const b = await runCliAsync(['build', spec, '--annotation', 'org.example.keep=from-flag', '--output', `oci:${out}:t`], { env });
  assert.equal(b.status, 0, b.stderr);
  const { config, manifest } = configAndManifest(`oci:${out}:t`);
  assert.deepEqual(config.config['ExposedPorts'], { '53/udp': {}, '80/tcp': {} });
  assert.deepEqual(config.config['Volumes'], { '/data': {}, '/var/cache/app': {} });
  assert.equal(config.config['StopSignal'], 'SIGQUIT');
  assert.equal(manifest.annotations['org.opencontainers.image.source'], 'https://example.com/fields');
  assert.equal(manifest.annotations['org.example.keep'], 'from-flag', '--annotation goes over the spec');
  assert.equal(manifest.annotations['org.opencontainers.image.created'], '2023-11-14T22:13:20Z');
  // umoci (the OCI runtime-spec generator) reads them as a runtime would.
  const bundle = join(dir, 'bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${out}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  // The directory of files:, modes normalised (it was made 0700/0600).
  const mode = (p: string): string => (lstatSync(join(bundle, 'rootfs', p)).mode & 0o7777).toString(8);
  assert.deepEqual(['opt/tool', 'opt/tool/bin', 'opt/tool/bin/run', 'opt/tool/lib/data'].map(mode), ['755', '755', '755', '644']);
  assert.equal(readlinkSync(join(bundle, 'rootfs/opt/tool/run')), 'bin/run');
  assert.equal(readFileSync(join(bundle, 'rootfs/opt/tool/lib/data'), 'utf8'), 'data\n');
});

test('build --rootfs takes them as --expose, --volume and --stop-signal, and refuses bad ones', () => {
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  writeFileSync(join(rootfs, 'f'), 'f\n');
  const out = join(dir, 'rootfs-image');
  const base = ['build', '--rootfs', rootfs, '--source-date-epoch', '1700000000'];
  const r = runCli([...base, '--expose', '8080', '--expose', '9/sctp', '--volume', '/srv', '--stop-signal', '15', '--output', `oci:${out}`]);
  assert.equal(r.status, 0, r.stderr);
  const { config } = configAndManifest(`oci:${out}`);
  assert.deepEqual(config.config['ExposedPorts'], { '8080/tcp': {}, '9/sctp': {} });
  assert.deepEqual(config.config['Volumes'], { '/srv': {} });
  assert.equal(config.config['StopSignal'], '15');
  assert.match(runCli([...base, '--expose', 'http', '--output', `oci:${out}-x`]).stderr, /--expose "http": expected PORT/);
  assert.match(runCli([...base, '--volume', 'srv', '--output', `oci:${out}-x`]).stderr, /--volume "srv": expected an absolute path/);
  assert.match(runCli(['build', spec, '--expose', '80', '--output', `oci:${out}-x`]).stderr, /--expose is set in the spec, not on the command line/);
});
