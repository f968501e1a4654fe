/** The Arch branch of image.yaml: defaults, the snapshot date, what only Debian has, the digest. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archBases, fileUrls, snapshotEpoch } from '../../../src/sources/arch/mirrors.js';
import { parseSpec } from '../../../src/spec/load.js';
import { arch } from '../../../src/sources/arch/distribution.js';
import { specDigest } from '../../../src/spec/lockfile.js';

test('defaults, the documented archive base, and a digest that ignores mirrors and image config', () => {
  const a = parseSpec('name: a\nsource: {distro: arch, snapshot: 2024/03/01}\npackages: [base, lib32-glibc, gtk2+, python@3]\n', 'a.yaml');
  assert.ok(a.source.distro === 'arch');
  assert.deepEqual(a.source.repositories, ['core', 'extra']);
  assert.equal(a.source.architecture, 'x86_64');
  assert.deepEqual(archBases(a.source), ['https://archive.archlinux.org/repos/2024/03/01']);
  assert.deepEqual(fileUrls(archBases(a.source), 'core', 'x86_64', 'libfoo-1:2-3-x86_64.pkg.tar.zst'), ['https://archive.archlinux.org/repos/2024/03/01/core/os/x86_64/libfoo-1%3A2-3-x86_64.pkg.tar.zst']);
  assert.equal(snapshotEpoch(a.source.snapshot), 1709251200);
  const b = parseSpec('name: b\nsource: {distro: arch, snapshot: 2024/03/01, mirrors: ["file:///srv/a/$repo/os/$arch"]}\npackages: [base, lib32-glibc, gtk2+, python@3]\nconfig: {cmd: [sh]}\n', 'b.yaml');
  assert.ok(b.source.distro === 'arch');
  assert.equal(specDigest(a), specDigest(b));
  assert.deepEqual(fileUrls(archBases(b.source), 'extra', 'x86_64', 'x.pkg.tar.zst'), ['file:///srv/a/extra/os/x86_64/x.pkg.tar.zst']);
  const c = parseSpec('name: c\nsource: {distro: arch, snapshot: 2024/03/02}\npackages: [base, lib32-glibc, gtk2+, python@3]\n', 'c.yaml');
  assert.notEqual(specDigest(a), specDigest(c), 'another snapshot is another lock');
});

test('every problem at once, with its line: not a date, Debian-only keys, unknown keys', () => {
  const text = 'name: x\nsource:\n  distro: arch\n  snapshot: 2024/02/30\n  suite: bookworm\npackages: [base]\nessential: true\npriority: required\n';
  assert.throws(() => parseSpec(text, 'image.yaml'), (e: Error) => {
    assert.match(e.message, /image\.yaml:4:13: source\.snapshot: not a calendar date/);
    assert.match(e.message, /image\.yaml:5:3: source\.suite: unknown key/);
    return true;
  });
  assert.throws(() => parseSpec('name: x\nsource: {distro: arch, snapshot: 2024/03/01}\nessential: true\n', 'e.yaml'), /e\.yaml:3:12: essential: applies to Debian sources only/);
  assert.throws(() => parseSpec('name: x\nsource: {distro: rpm}\n', 'r.yaml'), /source\.distro: Invalid discriminator value. Expected 'debian' \| 'arch'/);
  assert.throws(() => parseSpec('name: x\nsource: {distro: debian, suite: bookworm}\npackages: [a_b]\n', 'd.yaml'), /d\.yaml:3:12: packages\[0\]: a package name/, "Debian's names stay Debian's");
});

test('source.architectures: mirrors per architecture (the archive for one left out), a list for all, the digest covers architectures', () => {
  const text = (source: string): string => `name: m\nsource:\n  distro: arch\n  snapshot: 2024/03/01\n${source}packages: [base]\n`;
  const a = parseSpec(text('  architectures: [x86_64, aarch64]\n  mirrors:\n    aarch64: ["http://mirror.archlinuxarm.org/$arch/$repo"]\n'), 'a.yaml');
  assert.ok(a.source.distro === 'arch');
  assert.deepEqual(arch.architectures(a.source), ['x86_64', 'aarch64']);
  assert.equal(arch.architecture(a.source), 'x86_64');
  assert.deepEqual(archBases(a.source, 'x86_64'), ['https://archive.archlinux.org/repos/2024/03/01']);
  assert.deepEqual(fileUrls(archBases(a.source, 'aarch64'), 'core', 'aarch64', 'bash-5.2-1-aarch64.pkg.tar.xz'), ['http://mirror.archlinuxarm.org/aarch64/core/bash-5.2-1-aarch64.pkg.tar.xz']);
  const b = parseSpec(text('  architectures: [x86_64, aarch64]\n  mirrors: ["http://local/$repo/os/$arch"]\n'), 'b.yaml');
  assert.ok(b.source.distro === 'arch');
  assert.deepEqual(archBases(b.source, 'aarch64'), ['http://local/$repo/os/$arch']);
  assert.deepEqual(archBases(b.source, 'x86_64'), ['http://local/$repo/os/$arch']);
  assert.equal(specDigest(a), specDigest(b), 'mirrors do not decide the lock');
  const one = parseSpec(text(''), 'c.yaml');
  const x86 = parseSpec(text('  architectures: [x86_64]\n'), 'd.yaml');
  assert.notEqual(specDigest(one), specDigest(x86), 'a lock of architectures is another lock');
  assert.notEqual(specDigest(a), specDigest(parseSpec(text('  architectures: [aarch64, x86_64]\n  mirrors: {aarch64: ["http://m/$arch/$repo"]}\n'), 'e.yaml')), 'the order is the lock\'s order');
  // An architecture no mirror serves, a mirror key of no architecture, platform: beside architectures.
  assert.throws(() => parseSpec(text('  architectures: [x86_64, riscv64]\n'), 'f.yaml'), /source\.architectures\[1\]: riscv64: the Arch Linux Archive has x86_64 only; add source\.mirrors\.riscv64: \[URL, …\]/);
  assert.throws(() => parseSpec(`${text('  architectures: [x86_64]\n')}platform: linux/amd64\n`, 'g.yaml'), /platform: with source\.architectures, each image's platform is its architecture's/);
  assert.throws(() => parseSpec(text('  mirrors: {x86_64: []}\n'), 'h.yaml'), /source\.mirrors/);
});
