/**
 * Arch's own pipeline: a root filesystem tarball laid out like archlinux-docker's repro.tar.zst
 * (GNU tar of a pacstrapped root, `./` names, numeric owners, zstd) through `build --rootfs`. pacman
 * wrote the wall clock into each %INSTALLDATE%; the pacman-installdate pass sets SOURCE_DATE_EPOCH,
 * so two installs at different times give one image, and real pacman shows that date.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../../helpers/cli.js';

const SDE = 1709251200;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'arch-rootfs-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A pacstrapped root as pacman leaves it, installed at `installedAt`, tarred as repro.tar.zst is. */
function reproTarball(name: string, installedAt: number): string {
  const root = join(dir, name);
  const files: Record<string, string> = {
    'etc/os-release': 'NAME="Arch Linux"\n',
    'usr/bin/bash': '#!bash\n',
    'var/lib/pacman/local/ALPM_DB_VERSION': '9\n',
  };
  for (const [pkg, version] of [['bash', '5.2.026-2'], ['filesystem', '2024.01-1']] as const) {
    files[`var/lib/pacman/local/${pkg}-${version}/desc`] = `%NAME%\n${pkg}\n\n%VERSION%\n${version}\n\n%ARCH%\nx86_64\n\n%BUILDDATE%\n1600000000\n\n%INSTALLDATE%\n${installedAt}\n\n%PACKAGER%\nTest\n\n%SIZE%\n7\n\n%VALIDATION%\npgp\n\n`;
    files[`var/lib/pacman/local/${pkg}-${version}/files`] = pkg === 'bash' ? '%FILES%\nusr/\nusr/bin/\nusr/bin/bash\n\n' : '%FILES%\netc/\netc/os-release\n\n';
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  // Everything pacman wrote carries the install time (clamped by the build to SOURCE_DATE_EPOCH).
  execFileSync('find', [root, '-exec', 'touch', '-h', '-d', `@${installedAt}`, '{}', '+']);
  utimesSync(join(root, 'usr/bin/bash'), 1600000000, 1600000000);
  const tarball = join(dir, `${name}.tar.zst`);
  execFileSync('tar', ['--numeric-owner', '--zstd', '-C', root, '-cf', tarball, '.']);
  return tarball;
}

test('pacman install dates in a repro.tar.zst-like rootfs are normalised to SOURCE_DATE_EPOCH', () => {
  const early = reproTarball('early', 1795400000);
  const late = reproTarball('late', 1795499999);
  const build = (tarball: string, out: string, extra: string[] = []): { digest: string; stderr: string } => {
    const r = runCli(['build', '--rootfs', tarball, '--output', `oci:${join(dir, out)}:t`, '--source-date-epoch', String(SDE), ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return { digest: r.stdout.trim(), stderr: r.stderr };
  };
  const a = build(early, 'early-image', ['--verbose']);
  const b = build(late, 'late-image');
  assert.equal(a.digest, b.digest, 'installed at different times, one image');
  assert.match(a.stderr, /^normalize pacman-installdate: 2 changed\n {2}var\/lib\/pacman\/local\/bash-5\.2\.026-2\/desc\n {2}var\/lib\/pacman\/local\/filesystem-2024\.01-1\/desc\n/m);
  assert.match(b.stderr, /^normalize pacman-installdate: 2 changed$/m);

  const bundle = join(dir, 'bundle');
  const u = spawnSync('umoci', ['unpack', '--image', `${join(dir, 'early-image')}:t`, bundle], { encoding: 'utf8' });
  assert.equal(u.status, 0, u.stderr);
  const root = join(bundle, 'rootfs');
  assert.match(readFileSync(join(root, 'var/lib/pacman/local/bash-5.2.026-2/desc'), 'utf8'), /%INSTALLDATE%\n1709251200\n\n%PACKAGER%/);
  const q = spawnSync('pacman', ['-Qi', '--dbpath', join(root, 'var/lib/pacman'), 'bash'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' } });
  assert.equal(q.status, 0, q.stderr);
  assert.match(q.stdout, /Install Date +: Fri Mar {2}1 00:00:00 2024/);

  const kept = build(early, 'kept-image', ['--normalize', 'clamp-mtime']);
  assert.notEqual(kept.digest, a.digest, 'without the pass the install date stays and the image differs');
});
