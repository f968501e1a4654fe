/**
 * The audit's verdicts against Debian's own verifiers on the same tree: `debsums -a -c` (every
 * file of every package's md5sums, conffiles too, against its md5; a path is opened, so a symlink
 * is followed) and `dpkg --verify` (every path of every package's .list: missing or not, and for a
 * path with a digest — md5sums or a conffile's — whether it is a regular file, `M`, and its md5,
 * `5`). The mmdebstrap minbase tarball (test/helpers/mmdebstrap.ts) is unpacked with GNU tar,
 * checked as it is (all three find nothing), then tampered with in several ways, imported with
 * `build --rootfs` and audited; each tool's lists are compared with the audit's, in image paths
 * (`/bin/ls` as the tools name it is `usr/bin/ls` on the merged /usr, as the audit names it).
 * Where the tools differ by design, the exact difference is asserted, with why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, realpathSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { MINBASE_EPOCH, minbaseTarball } from '../helpers/mmdebstrap.js';

/**
 * A path as a tool prints it (`/bin/ls`, or under the root) as the image path the audit names:
 * its directory followed through the tree's links (the merged /usr), its last component not.
 */
function imagePath(root: string, printed: string): string {
  const rel = (printed.startsWith(`${root}/`) ? printed.slice(root.length) : printed).replace(/^\/+/, '');
  let dir: string;
  try {
    dir = realpathSync(join(root, dirname(rel)));
  } catch {
    return rel;
  }
  const inside = relative(realpathSync(root), dir);
  assert.ok(!inside.startsWith('..'), `${printed}: its directory leads out of the tree`);
  return inside === '' ? basename(rel) : `${inside}/${basename(rel)}`;
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

interface Debsums {
  changed: string[];
  missing: string[];
}

/** `debsums -a -c --root ROOT`: the changed files on stdout, the missing ones on stderr; nothing else. */
function debsums(root: string): Debsums {
  const r = spawnSync('debsums', ['-a', '-c', '--root', root], { encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 2, `debsums (Debian package debsums, installed by .ci/run) exited ${r.status}: ${r.error ?? r.stderr}`);
  const changed = r.stdout.split('\n').filter((l) => l !== '').map((l) => imagePath(root, l));
  const missing: string[] = [];
  for (const line of r.stderr.split('\n').filter((l) => l !== '')) {
    const m = /^debsums: missing file (.+) \(from \S+ package\)$/.exec(line);
    assert.ok(m, `debsums said what this test does not know: ${line}`);
    missing.push(imagePath(root, m[1]!));
  }
  assert.equal(r.status, changed.length + missing.length > 0 ? 2 : 0, 'debsums exits 2 when it lists something');
  return { changed: sorted(changed), missing: sorted(missing) };
}

interface Verify {
  /** Paths present but failing a check: `M` (not a regular file where a digest is recorded) or `5`. */
  flagged: string[];
  mode: string[];
  md5: string[];
  missing: string[];
  conffiles: string[];
}

/** `dpkg --root ROOT --verify`, rpm's format: `??5?????? c /etc/foo`, `missing     /usr/bin/bar`. */
function dpkgVerify(root: string): Verify {
  const r = spawnSync('dpkg', ['--root', root, '--verify'], { encoding: 'utf8' });
  // dpkg 1.21 exits 0 whatever it lists; later ones may exit 1 when they list something.
  assert.ok(r.status === 0 || r.status === 1, `dpkg --verify exited ${r.status}: ${r.error ?? r.stderr}`);
  assert.equal(r.stderr, '', 'dpkg --verify warns of nothing');
  const out: Verify = { flagged: [], mode: [], md5: [], missing: [], conffiles: [] };
  for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
    const m = /^(.{9}) ([c ]) (\/.*)$/.exec(line);
    assert.ok(m, `dpkg --verify printed what this test does not know: ${line}`);
    const [result, attr, printed] = [m[1]!, m[2]!, m[3]!];
    const p = imagePath(root, printed);
    if (attr === 'c') out.conffiles.push(p);
    if (result === 'missing  ') {
      out.missing.push(p);
      continue;
    }
    out.flagged.push(p);
    if (result[1] === 'M') out.mode.push(p);
    if (result[2] === '5') out.md5.push(p);
  }
  return { flagged: sorted(out.flagged), mode: sorted(out.mode), md5: sorted(out.md5), missing: sorted(out.missing), conffiles: sorted(out.conffiles) };
}

interface Account {
  path: string;
  type: string;
  kind: string;
  conffile?: boolean;
  differences?: string[];
}

interface Audit {
  modified: Account[];
  /** Modified whose md5 differs from the recorded one (the bytes, where both are regular files). */
  content: string[];
  missing: string[];
  unexplained: string[];
  entry: (path: string) => Account | undefined;
}

async function audit(root: string, out: string): Promise<Audit> {
  const b = await runCliAsync(['build', '--rootfs', root, '--source-date-epoch', MINBASE_EPOCH, '--compression', 'none', '--output', out]);
  assert.equal(b.status, 0, b.stderr);
  const r = await runCliAsync(['audit', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { modified: Account[]; missing: Array<{ path: string }>; unexplained: Account[]; entries: Account[] };
  const entries = new Map(report.entries.map((e) => [e.path, e]));
  return {
    modified: report.modified,
    content: sorted(report.modified.filter((a) => (a.differences ?? []).some((d) => d.startsWith('md5 '))).map((a) => a.path)),
    missing: sorted(report.missing.map((m) => imagePath(root, m.path))),
    unexplained: sorted(report.unexplained.map((u) => u.path)),
    entry: (p) => entries.get(p),
  };
}

/** Turns one byte of a file over where it lies (every name of a hard-linked file sees it). */
function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    assert.equal(readSync(fd, b, 0, 1, offset), 1);
    b[0] = b[0]! ^ 0xff;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** The md5 tools' blind spots, and the audit's: what none of the three sees. */
const UNSEEN = ['usr/bin/cat', 'usr/bin/head', 'usr/bin/sg'];

test('audit against debsums and dpkg --verify on the same mmdebstrap tree, untampered and tampered with', { timeout: 900_000 }, async () => {
  const tarball = minbaseTarball();
  const dir = mkdtempSync(join(tmpdir(), 'audit-debsums-'));
  try {
    const root = join(dir, 'root');
    mkdirSync(root);
    const x = spawnSync('tar', ['--extract', '--file', tarball, '--directory', root, '--numeric-owner', '--preserve-permissions', '--same-owner'], { encoding: 'utf8' });
    assert.equal(x.status, 0, `GNU tar (as root: device nodes, owners): ${x.stderr}`);

    // Untampered: nobody finds anything.
    const d0 = debsums(root);
    const v0 = dpkgVerify(root);
    const a0 = await audit(root, `oci:${join(dir, 'clean')}:t`);
    assert.deepEqual(d0, { changed: [], missing: [] }, 'debsums: every md5 as recorded');
    assert.deepEqual(v0.flagged.concat(v0.missing), [], 'dpkg --verify: nothing');
    assert.deepEqual(a0.modified.map((a) => a.path), [], 'audit: nothing modified');
    assert.deepEqual(a0.missing, [], 'audit: nothing missing');

    // Tampered with, each way once.
    const at = (p: string): string => join(root, p);
    // Content changed at the same size, through the path as dpkg records it (/bin/ls: usr/bin/ls).
    flipByte(at('bin/ls'), 1000);
    // Truncated.
    truncateSync(at('usr/share/common-licenses/GPL-3'), 100);
    // A hard-linked binary's bytes: both its names (perl-base lists both) are the new bytes.
    assert.equal(statSync(at('usr/bin/perl')).ino, statSync(at('usr/bin/perl5.36.0')).ino, 'perl and perl5.36.0 are one file');
    flipByte(at('usr/bin/perl'), 5000);
    // A conffile changed (base-files' /etc/debian_version) and one deleted (/etc/issue.net).
    writeFileSync(at('etc/debian_version'), '13.99\n');
    rmSync(at('etc/issue.net'));
    // A package file deleted; a package symlink deleted (no md5: in the .list only).
    rmSync(at('usr/bin/tac'));
    assert.ok(lstatSync(at('usr/bin/lastb')).isSymbolicLink());
    rmSync(at('usr/bin/lastb'));
    // Files replaced by symlinks: to a file of other bytes (vdir to ls), to nothing (yes), and to
    // a file of the very same bytes (libhogweed6's copyright is libnettle8's, word for word).
    rmSync(at('usr/bin/vdir'));
    symlinkSync('ls', at('usr/bin/vdir'));
    rmSync(at('usr/bin/yes'));
    symlinkSync('/nonexistent', at('usr/bin/yes'));
    assert.deepEqual(readFileSync(at('usr/share/doc/libhogweed6/copyright')), readFileSync(at('usr/share/doc/libnettle8/copyright')));
    rmSync(at('usr/share/doc/libhogweed6/copyright'));
    symlinkSync('../libnettle8/copyright', at('usr/share/doc/libhogweed6/copyright'));
    // Metadata only: a mode, an owner, a package symlink's target (dpkg records none of them).
    chmodSync(at('usr/bin/cat'), 0o700);
    chownSync(at('usr/bin/head'), 1000, 1000);
    rmSync(at('usr/bin/sg'));
    symlinkSync('bash', at('usr/bin/sg'));
    // A file added by hand.
    writeFileSync(at('usr/bin/evil'), '#!/bin/sh\n', { mode: 0o755 });

    const d = debsums(root);
    const v = dpkgVerify(root);
    const a = await audit(root, `oci:${join(dir, 'tampered')}:t`);

    // The bytes: what debsums and dpkg's `5` find changed, the audit finds modified. The audit's
    // md5 differences are exactly debsums' changed files but one, usr/bin/vdir: debsums and dpkg
    // open the path and hash the file the symlink names (ls: other bytes); the audit does not
    // follow it and says a symlink is where a file was recorded (below).
    const bytes = ['etc/debian_version', 'usr/bin/ls', 'usr/bin/perl', 'usr/bin/perl5.36.0', 'usr/share/common-licenses/GPL-3'];
    assert.deepEqual(a.content, bytes, 'audit: md5 differences');
    assert.deepEqual(d.changed, sorted([...bytes, 'usr/bin/vdir']), 'debsums: changed');
    assert.deepEqual(v.md5, sorted([...bytes, 'usr/bin/vdir']), 'dpkg --verify: 5');
    for (const p of d.changed) assert.equal(a.entry(p)?.kind, 'modified', `${p}: debsums says changed, so does the audit`);
    assert.equal(a.entry('etc/debian_version')?.conffile, true);

    // Not a regular file where a digest is recorded: dpkg --verify's `M` ("if we know its digest,
    // the pathname must be a regular file"), and the audit's modified, whatever the link names.
    // debsums follows the link: it calls vdir changed, the dangling yes missing (it cannot open
    // it), and libhogweed6's copyright, a link to the same bytes, sound.
    const notFiles = ['usr/bin/vdir', 'usr/bin/yes', 'usr/share/doc/libhogweed6/copyright'];
    assert.deepEqual(v.mode, notFiles, 'dpkg --verify: M');
    for (const p of notFiles) {
      const e = a.entry(p);
      assert.equal(e?.kind, 'modified', `${p}: a symlink where a file was recorded`);
      assert.match((e.differences ?? []).join('; '), /a file recorded .*, a symlink in the image/, p);
    }
    assert.ok(!d.changed.includes('usr/share/doc/libhogweed6/copyright') && !d.missing.includes('usr/share/doc/libhogweed6/copyright'), 'debsums: a link to the same bytes passes');

    // The whole modified list is what dpkg --verify flags, no more, no less.
    assert.deepEqual(sorted(a.modified.map((m) => m.path)), v.flagged, 'audit modified = dpkg --verify flagged');
    assert.deepEqual(v.flagged, sorted([...bytes, ...notFiles]));

    // Missing: the audit and dpkg --verify check every path of the .list (lastb, a symlink,
    // included) and agree. debsums checks md5sums and conffiles only: not lastb; and it calls the
    // dangling yes missing, which the other two see is there (a symlink).
    const missing = ['etc/issue.net', 'usr/bin/lastb', 'usr/bin/tac'];
    assert.deepEqual(a.missing, missing, 'audit: missing');
    assert.deepEqual(v.missing, missing, 'dpkg --verify: missing');
    assert.deepEqual(d.missing, ['etc/issue.net', 'usr/bin/tac', 'usr/bin/yes'], 'debsums: missing');
    assert.deepEqual(v.conffiles, ['etc/debian_version', 'etc/issue.net'], 'dpkg --verify: the conffiles it lists');

    // What none of the three sees: a mode (cat 0700), an owner (head 1000:1000), a package
    // symlink's target (sg to bash): dpkg's database records none of them, and the audit checks
    // what the database records.
    for (const p of UNSEEN) {
      assert.equal(a.entry(p)?.kind, 'package', `${p}: the audit has nothing to compare it with`);
      assert.ok(![...d.changed, ...d.missing, ...v.flagged, ...v.missing].includes(p), p);
    }

    // A file nobody installed: the audit's unexplained, the only new one; the md5 tools check the
    // packages' files only and never see it.
    assert.deepEqual(a.unexplained, sorted([...a0.unexplained, 'usr/bin/evil']), 'audit: unexplained');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
