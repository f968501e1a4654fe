/**
 * audit over images whose package files and package database are reached through hard links to
 * files of a lower layer (an OCI layout built by hand, two uncompressed layers): the package file
 * is checked against its md5sums, and flagged modified when its bytes differ; a database file
 * that is a link to a file outside the database is read. Before, the link was an entry of size 0
 * without a digest ("not checked"), and the database file was missing (its package's files not
 * checked either).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit } from '../../src/audit/audit.js';
import type { AuditReport } from '../../src/audit/report.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { writeTarLayout } from '../helpers/tar-layout.js';

let dir: string;
let n = 0;
before(() => { dir = mkdtempSync(join(tmpdir(), 'audit-hardlinks-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const FOO = 'hello\n';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const STATUS = 'Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: foo\n';
const LIST = '/usr\n/usr/bin\n/usr/bin/foo\n';
const SUMS = `${md5(FOO)}  usr/bin/foo\n`;
const dirs: RawMember[] = ['usr', 'usr/bin', 'var', 'var/lib', 'var/lib/dpkg', 'var/lib/dpkg/info'].map((name) => ({ name, type: 'dir' }));

async function auditOf(layers: RawMember[][]): Promise<AuditReport> {
  const ref = writeTarLayout(join(dir, `layout${++n}`), layers.map((l) => makeTar(l)));
  return audit({ target: ref });
}
const account = (r: AuditReport, path: string): AuditReport['entries'][number] => r.entries.find((e) => e.path === path)!;

test('a package file that is a hard link to a file of a lower layer is checked against its md5sums, and modified when its bytes differ (was: not checked)', async () => {
  const image = (content: string): RawMember[][] => [
    [{ name: 'opt', type: 'dir' }, { name: 'opt/real', data: content }],
    [
      ...dirs, { name: 'usr/bin/foo', type: 'hardlink', linkname: 'opt/real' },
      { name: 'var/lib/dpkg/status', data: STATUS }, { name: 'var/lib/dpkg/info/foo.list', data: LIST }, { name: 'var/lib/dpkg/info/foo.md5sums', data: SUMS },
    ],
  ];
  const good = await auditOf(image(FOO));
  const a = account(good, 'usr/bin/foo');
  assert.equal(a.kind, 'package');
  assert.equal(a.unchecked, undefined, 'its bytes were checked');
  assert.equal(a.size, FOO.length);
  assert.deepEqual(good.unchecked.map((e) => e.path), []);

  const bad = await auditOf(image('evil\n'));
  const b = account(bad, 'usr/bin/foo');
  assert.equal(b.kind, 'modified');
  assert.deepEqual(b.differences, [`md5 recorded ${md5(FOO)}, image ${md5('evil\n')} (sha256 ${createHash('sha256').update('evil\n').digest('hex')})`]);
  assert.deepEqual(bad.modified.map((e) => e.path), ['usr/bin/foo']);
});

test('a package database file that is a hard link to a file outside the database, in a lower layer, is read: its package\'s files are checked (was: missing)', async () => {
  const image = (content: string): RawMember[][] => [
    [{ name: 'usr', type: 'dir' }, { name: 'usr/share', type: 'dir' }, { name: 'usr/share/foo.sums', data: SUMS }, { name: 'usr/share/foo.status', data: STATUS }],
    [
      ...dirs, { name: 'usr/bin/foo', data: content },
      { name: 'var/lib/dpkg/status', type: 'hardlink', linkname: 'usr/share/foo.status' },
      { name: 'var/lib/dpkg/info/foo.list', data: LIST }, { name: 'var/lib/dpkg/info/foo.md5sums', type: 'hardlink', linkname: 'usr/share/foo.sums' },
    ],
  ];
  const good = await auditOf(image(FOO));
  assert.deepEqual(good.packages.map((p) => `${p.name} ${p.version}`), ['foo 1.0']);
  const a = account(good, 'usr/bin/foo');
  assert.equal(a.kind, 'package');
  assert.equal(a.unchecked, undefined, 'checked against the md5sums reached through the link');

  const bad = await auditOf(image('evil\n'));
  assert.equal(account(bad, 'usr/bin/foo').kind, 'modified');
});

test('a dpkg status that is a hard link naming no file (its target whited out below) is exit 2 naming it, not an image without packages', async () => {
  const layers: RawMember[][] = [
    [{ name: 'etc', type: 'dir' }, { name: 'etc/st', data: STATUS }],
    [{ name: 'etc/.wh.st', data: '' }, ...dirs, { name: 'var/lib/dpkg/status', type: 'hardlink', linkname: 'etc/st' }],
  ];
  await assert.rejects(auditOf(layers), (e: Error & { code?: string }) => e.code === 'E_BAD_INPUT'
    && e.message === 'var/lib/dpkg/status: a hard link to etc/st, which names no file; a package database file must be a regular file');
});
