/**
 * The names and versions a package database may hold without a warning: Debian's (Policy 5.6.1
 * names, dpkg's parseversion) and pacman's (makepkg's lint of pkgname, epoch, pkgver, pkgrel).
 * Real ones pass; each rule that fails says which.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pacmanNameProblem, pacmanPackageWarnings, pacmanVersionProblem } from '../../src/sources/arch/names.js';
import { debianNameProblem, debianPackageWarnings, debianVersionProblem } from '../../src/sources/debian/names.js';

test('Debian: real names and versions pass', () => {
  for (const n of ['libc6', 'g++-12', 'libstdc++6', '0ad', 'python3.11', 'libgcc-s1', 'x11-common']) assert.equal(debianNameProblem(n), undefined, n);
  for (const v of ['1:2.38-4', '2.36.1-8+deb12u1', '1.0~rc1-1', '1:9.2p1-2+deb12u3', '3.0.11-1~deb12u2', '20230311', '1.2.3+dfsg-1', '2:1.0-1-2', '1.0-1.1', '7:4.4.4-0+deb12u1', '1:1.0:2-3']) {
    assert.equal(debianVersionProblem(v), undefined, v);
  }
});

test('Debian: what dpkg or Policy refuses, said', () => {
  const name: Array<[string, string]> = [
    ['Foo', 'it does not start with a lower-case letter or a digit'],
    ['foo_bar', '"_" is not a lower-case letter, a digit, "+", "-" or "."'],
    ['fooBar', '"B" is not a lower-case letter, a digit, "+", "-" or "."'],
    ['foo bar', '" " is not a lower-case letter, a digit, "+", "-" or "."'],
    ['foo\u0000', '"\u0000" is not a lower-case letter, a digit, "+", "-" or "."'],
    ['-foo', 'it does not start with a lower-case letter or a digit'],
    ['a', 'it is shorter than two characters'],
  ];
  for (const [n, why] of name) assert.equal(debianNameProblem(n), why, n);
  const version: Array<[string, string]> = [
    ['1.0 beta', 'it has white space in it'],
    ['1.0\n 2', 'it has white space in it'],
    ['x:1.0', 'its epoch is not a number'],
    [':1.0', 'its epoch is not a number'],
    ['99999999999:1', 'its epoch is too big'],
    ['1:', 'nothing follows the epoch'],
    ['1.0-', 'its revision is empty'],
    ['-1', 'its upstream version is empty'],
    ['v1.0', 'its upstream version does not start with a digit'],
    ['1.0_beta', 'its upstream version has "_"'],
    ['1.0-a_b', 'its revision has "_"'],
    ['1:1.0-1:2', 'its revision has ":"'], ['1.0:2-3', 'its epoch is not a number'],
  ];
  for (const [v, why] of version) assert.equal(debianVersionProblem(v), why, v);
  assert.deepEqual(debianPackageWarnings('Foo', 'v1', 'var/lib/dpkg/status:7'), [
    'var/lib/dpkg/status:7: Package "Foo" is not a Debian package name (it does not start with a lower-case letter or a digit); the package is read as written',
    'var/lib/dpkg/status:7: package "Foo": Version "v1" is not a Debian version (its upstream version does not start with a digit); the package is read as written',
  ]);
  assert.deepEqual(debianPackageWarnings('foo', '1.0-1', 'var/lib/dpkg/status:7'), []);
});

test('pacman: real names and versions pass', () => {
  for (const n of ['glibc', 'lib32-glibc', 'python-ruamel.yaml', 'gtk2+extra', 'r@nd', 'xorg-server', 'Foo_Bar']) assert.equal(pacmanNameProblem(n), undefined, n);
  for (const v of ['2.39-1', '1:2.12-3', '6.8.9.arch1-1', '1.0.r23.gabc123-1', '1.2.3-2.1', '2024.01.01-1', '1.0_beta+x~y-1']) assert.equal(pacmanVersionProblem(v), undefined, v);
});

test('pacman: what makepkg refuses, said', () => {
  const name: Array<[string, string]> = [
    ['-foo', 'it starts with "-"'],
    ['.foo', 'it starts with "."'],
    ['foo bar', '" " is not an ASCII letter, a digit, "@", ".", "_", "+" or "-"'],
    ['f\u00f6o', '"\u00f6" is not an ASCII letter, a digit, "@", ".", "_", "+" or "-"'],
    ['foo\u001b[2J', '"\u001b" is not an ASCII letter, a digit, "@", ".", "_", "+" or "-"'],
  ];
  for (const [n, why] of name) assert.equal(pacmanNameProblem(n), why, n);
  const version: Array<[string, string]> = [
    ['1.0', 'it has no pkgrel'],
    ['x:1.0-1', 'its epoch is not a number'],
    ['1:-1', 'its pkgver is empty'],
    ['1.0 beta-1', 'its pkgver has white space'],
    ['1.0\u00e9-1', 'its pkgver has "\u00e9", not printable ASCII'],
    ['1:2:3-1', 'its pkgver has ":"'],
    ['1/2-1', 'its pkgver has "/"'],
    ['1.0-x', 'its pkgrel "x" is not N or N.M'],
    ['1.0-1.2.3', 'its pkgrel "1.2.3" is not N or N.M'],
  ];
  for (const [v, why] of version) assert.equal(pacmanVersionProblem(v), why, v);
  assert.deepEqual(pacmanPackageWarnings('.foo', '1.0-x', 'var/lib/pacman/local/.foo-1.0-x/desc'), [
    'var/lib/pacman/local/.foo-1.0-x/desc: %NAME% ".foo" is not a pacman package name (it starts with "."); the package is read as written',
    'var/lib/pacman/local/.foo-1.0-x/desc: package ".foo": %VERSION% "1.0-x" is not a pacman version (its pkgrel "x" is not N or N.M); the package is read as written',
  ]);
});
