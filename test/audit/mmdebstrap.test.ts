/**
 * The audit of an image another tool built: `mmdebstrap --variant=minbase bookworm` (Debian's
 * mmdebstrap, from this host's apt sources) into a tarball, imported with `build --rootfs`. Every
 * package file checks out against dpkg's md5sums; what is unexplained is mmdebstrap's own files
 * and the output of maintainer scripts repro-image does not reproduce. Each unexplained path must
 * be one of those, named below, and the list must stay short. The tarball is made once and kept
 * in the user's cache directory (test/helpers/mmdebstrap.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { MINBASE_EPOCH as EPOCH, minbaseTarball } from '../helpers/mmdebstrap.js';

/** What mmdebstrap and the maintainer scripts of minbase's packages leave, each with who leaves it. */
const KNOWN: Array<[RegExp, string]> = [
  [/^dev(\/|$)/, 'mmdebstrap: device nodes and links'],
  [/^etc\/apt\/sources\.list(\.d\/.*)?$/, 'mmdebstrap: the apt sources it was given'],
  [/^etc\/(hostname|resolv\.conf|fstab|hosts)$/, "mmdebstrap: the host's name and resolver, an empty fstab"],
  [/^etc\/(passwd|group|shadow|gshadow)-?$/, 'base-passwd, adduser, shadow (pwconv): the account databases and their backups'],
  [/^etc\/(\.pwd\.lock|subuid|subgid|security\/opasswd)$/, 'shadow and pam: lock and empty id maps'],
  [/^etc\/ld\.so\.cache$/, 'libc-bin: ldconfig'],
  [/^etc\/(localtime|timezone)$/, 'tzdata / base-files: the time zone'],
  [/^etc\/(environment|nsswitch\.conf|shells)$/, 'libpam-runtime, libc-bin, add-shell'],
  [/^etc\/pam\.d\/common-/, 'pam-auth-update'],
  [/^etc\/rc[0-6S]\.d\//, 'update-rc.d'],
  [/^etc\/systemd\/system\//, 'deb-systemd-helper: enabled units'],
  [/^var\/lib\/systemd\/deb-systemd-helper-enabled(\/|$)/, 'deb-systemd-helper: its state'],
  [/^var\/cache\/(apt|debconf)\//, 'apt and debconf caches'],
  [/^var\/lib\/(apt|pam)\//, 'apt and pam state'],
  [/^var\/lib\/shells\.state$/, 'add-shell'],
  [/^var\/log\//, 'logs'],
];

test('audit of an mmdebstrap minbase import: every package file checks out, each unexplained path is mmdebstrap\'s or a maintainer script\'s', { timeout: 900_000 }, async () => {
  const tarball = minbaseTarball();
  const dir = mkdtempSync(join(tmpdir(), 'audit-mmdebstrap-'));
  try {
    const out = `oci:${join(dir, 'img')}:minbase`;
    const b = await runCliAsync(['build', '--rootfs', tarball, '--output', out, '--compression', 'none', '--source-date-epoch', EPOCH]);
    assert.equal(b.status, 0, b.stderr);
    const r = await runCliAsync(['audit', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      summary: Record<string, { entries: number; bytes: number }>; total: { entries: number; bytes: number };
      packages: unknown[]; modified: Array<{ path: string }>; unexplained: Array<{ path: string; type: string; size: number }>; steps: Record<string, unknown>;
    };
    assert.ok(report.packages.length >= 80, `${report.packages.length} packages`);
    assert.deepEqual(report.modified.map((m) => m.path), [], 'every file a package shipped is still its bytes');
    const unknown = report.unexplained.filter((u) => !KNOWN.some(([re]) => re.test(u.path)));
    assert.deepEqual(unknown.map((u) => u.path), [], 'an unexplained path nobody named');
    assert.ok(report.unexplained.length > 10 && report.unexplained.length < 150, `${report.unexplained.length} unexplained`);
    assert.ok(report.summary['unexplained']!.bytes < report.total.bytes / 50, 'a small share of the bytes');
    assert.ok('dpkg-database' in report.steps && 'effect alternatives' in report.steps);
    // The text names each one with its size.
    const text = await runCliAsync(['audit', out]);
    assert.match(text.stdout, /\n {2}etc\/hostname \(file, \d+ B\)\n/);
    assert.match(text.stdout, /unexplained +\d+ entries/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
