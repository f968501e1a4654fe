/**
 * SBOMs and audits of Arch Linux images built from the hermetic repository (packages from our
 * writer, every byte fixed; databases from the real repo-add): golden SBOM digests, licenses
 * from %LICENSE% (custom names as LicenseRef-), the lock's SBOM naming the same packages, both
 * formats validated; the audit checks every file against pacman's mtree (sha256, mode, owner,
 * link target) and accounts for the whole image; a mode changed after install is flagged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCliAsync, type RunResult } from '../helpers/cli.js';
import { SNAPSHOT, makeArchRepo, makeKey, openUp, type ArchRepo, type TestArchPackage } from '../helpers/arch-repo.js';
import { readGolden } from '../helpers/golden.js';
import { checkPurlsAndLicenses, cyclonedxLibraryErrors, cyclonedxSchemaErrors, pyspdxtools } from '../helpers/sbom-check.js';

const CORE: TestArchPackage[] = [
  {
    name: 'filesystem', version: '2024.01-1', arch: 'any', backup: ['etc/passwd'], license: ['GPL-3.0-only'],
    files: { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n', 'bin': { link: 'usr/bin' }, 'usr/bin': { dir: true }, 'usr/lib': { dir: true }, 'tmp': { dir: true, mode: 0o1777 } },
  },
  { name: 'glibc', version: '2.39-1', depends: ['filesystem'], license: ['GPL-2.0-or-later', 'LGPL-2.1-or-later'], files: { 'usr/lib/libc.so.6': 'libc\n' } },
  {
    name: 'hello', version: '1:2.12-3', depends: ['glibc'], license: ['GPL-3.0-or-later', 'custom:hello-exception'], url: 'https://hello.invalid/',
    files: { 'usr/bin/hello': { data: '#!/bin/sh\necho hello\n', mode: 0o755 }, 'usr/bin/hi': { link: 'hello' } },
  },
  // A compound SPDX expression (Arch RFC 0016), as the package writes it: read by Annex D's grammar, not one LicenseRef of the whole.
  { name: 'greeter', version: '0.9-2', depends: ['glibc>=2.39'], license: ['(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0'], files: { 'usr/bin/greeter': { data: '#!/bin/sh\n', mode: 0o755 } } },
];


let dir: string;
let repo: ArchRepo;
let spec: string;
let cache: string;
const golden = readGolden('sbom.json') as Record<string, string>;
const run = (args: string[]): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sbom-arch-'));
  openUp(dir);
  const signer = makeKey(dir, 'packager');
  repo = await makeArchRepo(dir, [{ name: 'core', packages: CORE, signatures: 'file' }], signer);
  mkdirSync(join(dir, 'spec'));
  spec = join(dir, 'spec/image.yaml');
  cache = join(dir, 'cache');
  writeFileSync(spec, ['name: sbom-arch', 'source:', '  distro: arch', `  snapshot: ${SNAPSHOT}`, '  repositories: [core]', `  mirrors: ["${repo.url}"]`, `  keyring: ${signer.keyring}`, 'packages: [hello, greeter]', ''].join('\n'));
  await ok(['lock', spec]);
});
after(async () => {
  await repo.close();
  for (const k of ['packager', 'pacman-gpg']) spawnSync('gpgconf', ['--homedir', join(dir, `gnupg-${k}`), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('Arch: build --sbom, golden digests, licenses from %LICENSE%, both formats validated, the lock names the same packages', async () => {
  const b = await run(['build', spec, '--output', `oci:${join(dir, 'img')}:t`, '--sbom', 'cyclonedx-json', '--json']);
  assert.equal(b.status, 0, b.stderr);
  const plain = (await ok(['build', spec, '--offline', '--output', `oci:${join(dir, 'plain')}:t`])).trim();
  assert.equal((JSON.parse(b.stdout) as { manifest: { digest: string } }).manifest.digest, plain);
  const sets: string[][] = [];
  for (const format of ['spdx-json', 'cyclonedx-json'] as const) {
    const file = join(dir, `image.${format}.json`);
    const digest = (await ok(['sbom', `oci:${join(dir, 'img')}:t`, '--format', format, '--output', file])).trim();
    assert.equal(digest, golden[`arch-image-${format}`], `${format} golden digest`);
    const text = readFileSync(file, 'utf8');
    if (format === 'spdx-json') {
      const py = pyspdxtools(file);
      assert.equal(py.status, 0, py.output);
      assert.equal(py.output.trim(), '');
      const d = JSON.parse(text) as { packages: Array<{ name: string; versionInfo: string; licenseDeclared: string }>; hasExtractedLicensingInfos: Array<{ licenseId: string; name: string }> };
      assert.equal(d.packages.find((p) => p.name === 'hello')!.licenseDeclared, 'GPL-3.0-or-later AND LicenseRef-custom-hello-exception-49243215');
      assert.equal(d.packages.find((p) => p.name === 'greeter')!.licenseDeclared, '(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0');
      assert.deepEqual(d.hasExtractedLicensingInfos.map((l) => [l.licenseId, l.name]), [['LicenseRef-custom-hello-exception-49243215', 'custom:hello-exception']]);
      sets.push(d.packages.filter((p) => p.name !== 'image').map((p) => `${p.name}=${p.versionInfo}`).sort());
    } else {
      const d = JSON.parse(text) as { components: Array<{ name: string; version: string; purl: string; licenses?: Array<{ expression: string }>; properties?: Array<{ name: string; value: string }> }>; dependencies: Array<{ ref: string; dependsOn: string[] }> };
      assert.deepEqual(cyclonedxSchemaErrors(d), []);
      assert.equal(await cyclonedxLibraryErrors(text), null);
      checkPurlsAndLicenses(d.components.map((c) => c.purl), d.components.flatMap((c) => (c.licenses ?? []).map((l) => l.expression)));
      assert.deepEqual(d.components.find((c) => c.name === 'greeter')!.licenses, [{ expression: '(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH Classpath-exception-2.0' }]);
      const hello = d.components.find((c) => c.name === 'hello')!;
      assert.equal(hello.purl, 'pkg:alpm/arch/hello@1%3A2.12-3?arch=x86_64');
      // The reference's name, as SPDX's extracted licensing info has it.
      assert.deepEqual(hello.properties!.filter((x) => x.name === 'repro-image:license-ref').map((x) => x.value), ['LicenseRef-custom-hello-exception-49243215=custom:hello-exception']);
      assert.deepEqual(d.dependencies.find((x) => x.ref.startsWith('pkg:alpm/arch/greeter@'))!.dependsOn, ['pkg:alpm/arch/glibc@2.39-1?arch=x86_64']);
      sets.push(d.components.map((c) => `${c.name}=${c.version}`).sort());
      // The SBOM beside the image is this very document.
      const listed = JSON.parse(await ok(['inspect', '--referrers', '--json', `oci:${join(dir, 'img')}:t`])) as { subjects: Array<{ referrers: Array<{ digest: string }> }> };
      const m = JSON.parse(readFileSync(join(dir, 'img/blobs/sha256', listed.subjects[0]!.referrers[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string }> };
      assert.equal(m.layers[0]!.digest, digest);
    }
  }
  assert.deepEqual(sets[0], sets[1]);
  assert.deepEqual(sets[0], ['filesystem=2024.01-1', 'glibc=2.39-1', 'greeter=0.9-2', 'hello=1:2.12-3']);
  const lockFile = join(dir, 'lock.cyclonedx.json');
  await ok(['sbom', spec, '--format', 'cyclonedx-json', '--output', lockFile]);
  const fromLock = JSON.parse(readFileSync(lockFile, 'utf8')) as { components: Array<{ name: string; version: string; hashes: unknown[] }> };
  assert.deepEqual(fromLock.components.map((c) => `${c.name}=${c.version}`).sort(), sets[0]);
  assert.ok(fromLock.components.every((c) => c.hashes.length === 1));
  assert.deepEqual(cyclonedxSchemaErrors(fromLock), []);
});

test('Arch: the audit checks files against mtree and accounts for the whole image; a changed mode is flagged', async () => {
  const r = await run(['audit', `oci:${join(dir, 'img')}:t`, '--json', '--strict']);
  assert.equal(r.status, 0, r.stdout.slice(0, 2000) + r.stderr);
  const report = JSON.parse(r.stdout) as { summary: Record<string, { entries: number }>; steps: Record<string, unknown> };
  assert.equal(report.summary['unexplained']!.entries, 0);
  assert.ok('pacman-database' in report.steps);
  const bundle = join(dir, 'bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${join(dir, 'img')}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  chmodSync(join(bundle, 'rootfs/usr/bin/hello'), 0o700);
  await ok(['build', '--rootfs', join(bundle, 'rootfs'), '--output', `oci:${join(dir, 'changed')}:t`, '--source-date-epoch', '1709251200']);
  const c = await run(['audit', `oci:${join(dir, 'changed')}:t`, '--json', '--strict']);
  assert.equal(c.status, 1);
  const changed = JSON.parse(c.stdout) as { modified: Array<{ path: string; differences: string[] }> };
  assert.deepEqual(changed.modified.map((m) => [m.path, m.differences]), [['usr/bin/hello', ['mode recorded 0755, image 0700']]]);
});

test('Arch: the image\'s SBOMs are the golden bytes under another time zone, locale (Turkish: its dotted and dotless i), umask, working directory and temporary directory', () => {
  // The image the test above built (node:test runs a file's tests in order).
  const image = `oci:${join(dir, 'img')}:t`;
  const elsewhere = mkdtempSync(join(dir, 'cwd-'));
  const tmp = mkdtempSync(join(dir, 'tmp-'));
  for (const format of ['spdx-json', 'cyclonedx-json'] as const) {
    const file = join(elsewhere, `perturbed.${format}.json`);
    const r = runCli(['sbom', image, '--format', format, '--output', file], {
      cwd: elsewhere,
      umask: '077',
      env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined, TZ: 'Pacific/Kiritimati', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', TMPDIR: tmp },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), golden[`arch-image-${format}`], `${format} golden digest`);
  }
});
