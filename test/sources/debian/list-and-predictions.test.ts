/**
 * Two pieces of the Debian records and predictions that were rewritten for speed, pinned to what
 * they gave before (checked against main 01119a1 on random inputs): a `.list` line loses every
 * leading and trailing slash and nothing else (`/.`, `/`, empty and whitespace lines); and the
 * install step's predictions name, for each effect, the paths it reports changed and then the
 * paths it added, in that order, a path rewritten by a later effect keeping its place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../../../src/archive/entry.js';
import { debianRecords } from '../../../src/sources/debian/records.js';
import { debianGenerated } from '../../../src/sources/debian/generated.js';
import type { PackageRecord } from '../../../src/sources/distribution.js';

test('.list lines: leading and trailing slashes trimmed, `.` and empty lines left out, nothing else touched', () => {
  const list = ['/.', '/', '//', '', '///usr//bin/a///', '/etc/x ', ' /etc/y', '/./z', '/a/./', '\r', '/b\r', 'rel/c/', '/..', '/é/'].join('\n');
  const files = new Map([
    ['var/lib/dpkg/status', Buffer.from('Package: p\nStatus: install ok installed\nVersion: 1\n')],
    ['var/lib/dpkg/info/p.list', Buffer.from(list)],
    ['var/lib/dpkg/info/p.md5sums', Buffer.from('0123456789abcdef0123456789abcdef  usr//bin/a\n')],
  ]);
  const [p] = debianRecords(files, { dependencies: false, licenses: false });
  assert.deepEqual(p!.files, [
    { path: 'usr//bin/a', md5: '0123456789abcdef0123456789abcdef' },
    { path: 'etc/x ' }, { path: ' /etc/y' }, { path: './z' }, { path: 'a/.' }, { path: '\r' }, { path: 'b\r' },
    { path: 'rel/c' }, { path: '..' }, { path: 'é' },
  ]);
});

test('predictions: each effect\'s changed paths, then the paths it added; a path made again later keeps its place', () => {
  const entries = new Map<string, Entry>();
  const data = new Map<string, Buffer>();
  const add = (path: string, type: Entry['type'], content?: string): void => {
    entries.set(path, { path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0, size: content?.length ?? 0 });
    if (content !== undefined) data.set(path, Buffer.from(content));
  };
  for (const d of ['etc', 'usr', 'usr/bin', 'usr/sbin', 'usr/share', 'usr/share/base-passwd', 'usr/share/base-files', 'usr/share/ca-certificates', 'usr/share/ca-certificates/m']) add(d, 'dir');
  add('usr/share/base-passwd/passwd.master', 'file', 'root:x:0:0\n');
  add('usr/share/base-passwd/group.master', 'file', 'root:x:0:\nstaff:x:50:\n');
  add('etc/passwd', 'file', 'old\n'); // a package's, rewritten by base-passwd
  add('usr/share/base-files/motd', 'file', 'motd\n');
  add('usr/sbin/update-ca-certificates', 'file', '#!/bin/sh\n');
  add('usr/share/ca-certificates/m/one.crt', 'file', 'junk');
  add('usr/bin/vim.tiny', 'file', 'v');
  const postinst = new Map([
    ['var/lib/dpkg/info/base-files.postinst', 'install_from_default motd /etc/motd\ninstall_directory /var/local 2775 staff\nensure_file_owner_mode /etc/passwd root:root 644\n'],
    ['var/lib/dpkg/info/vim.postinst', 'update-alternatives --install /usr/bin/vi vi /usr/bin/vim.tiny 15\n'],
  ]);
  const packages = [{ name: 'base-files', version: '1' }, { name: 'vim', version: '2' }] as PackageRecord[];
  const all = new Map([...entries].map(([k, e]) => [k, { type: e.type }]));
  all.set('var/lib/dpkg/status', { type: 'file' });
  const got = debianGenerated({ entries, all, packages, read: (p) => (postinst.has(p) ? Buffer.from(postinst.get(p)!) : data.get(p)) });
  assert.deepEqual(got.map((g) => `${g.step}: ${g.path}`), [
    'effect base-passwd: etc/passwd',
    'effect base-passwd: etc/group',
    'effect base-files: etc/motd',
    'effect base-files: var/local',
    'effect base-files: var',
    'effect ca-certificates: etc/ca-certificates.conf',
    'effect ca-certificates: etc/ssl/certs/one.pem',
    'effect ca-certificates: etc/ssl/certs/ca-certificates.crt',
    'effect ca-certificates: etc/ssl',
    'effect ca-certificates: etc/ssl/certs',
    'effect alternatives: etc/alternatives/vi',
    'effect alternatives: usr/bin/vi',
    'effect alternatives: var/lib/dpkg/alternatives/vi',
    'effect alternatives: etc/alternatives',
    'effect alternatives: var/lib',
    'effect alternatives: var/lib/dpkg',
    'effect alternatives: var/lib/dpkg/alternatives',
    'merged-usr: bin',
    'merged-usr: sbin',
    'merged-usr: lib',
    'dpkg-database: var/lib/dpkg/status',
  ]);
});
