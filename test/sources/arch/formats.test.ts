/** pacman's text formats: desc, .PKGINFO, mtree file lists, dependency strings, install dates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDep, parseDep } from '../../../src/sources/arch/depends.js';
import { formatDesc, parseDesc } from '../../../src/sources/arch/desc.js';
import { withInstallDate } from '../../../src/sources/arch/installdate.js';
import { descFile, filesFile, type LocalPackage } from '../../../src/sources/arch/local-db.js';
import { mtreeFileList, sortFileList } from '../../../src/sources/arch/mtree.js';
import { parsePkgInfo } from '../../../src/sources/arch/pkginfo.js';

test('dependency strings are read as libalpm reads them and written back unchanged', () => {
  assert.deepEqual(parseDep('libfoo.so=1-64'), { name: 'libfoo.so', op: '=', version: '1-64' });
  assert.deepEqual(parseDep('glibc>=2.39'), { name: 'glibc', op: '>=', version: '2.39' });
  assert.deepEqual(parseDep('bar: for bar support'), { name: 'bar', description: 'for bar support' });
  assert.deepEqual(parseDep('a=b<c'), { name: 'a=b', op: '<', version: 'c' }, "'<' is looked for before '='");
  assert.deepEqual(parseDep('python>=3:1'), { name: 'python', op: '>=', version: '3:1' }, 'an epoch is not a description');
  for (const s of ['x', 'x>1', 'x<=1:2-3', 'x: y: z', 'a=b<c']) assert.equal(formatDep(parseDep(s)), s);
});

test('desc: keys in order, values one a line, a key stated twice (old desc + depends) adds up', () => {
  const d = parseDesc('%NAME%\nfoo\n\n%DEPENDS%\na\nb\n\n%URL%\n\n%DEPENDS%\nc\n', 'desc');
  assert.deepEqual([...d], [['NAME', ['foo']], ['DEPENDS', ['a', 'b', 'c']], ['URL', []]]);
  assert.equal(formatDesc([['NAME', ['foo']], ['URL', ['']]]), '%NAME%\nfoo\n\n%URL%\n\n\n');
  assert.throws(() => parseDesc('%NAME%\nfoo\n\nstray\n', 'x/desc'), /x\/desc: line 4: expected a %KEY% line/);
});

test('mtree: paths unescaped, ./ removed, metadata left out, directories marked, relative form followed', () => {
  const full = '#mtree\n/set type=file uid=0 gid=0 mode=644\n./.BUILDINFO time=1.0 size=1\n./.PKGINFO time=1.0\n./etc time=1.0 mode=755 type=dir\n./etc/a\\040b.conf time=1.0\n/set mode=755\n./usr time=1.0 type=dir\n./usr/bin/x time=1.0 \\\n    size=3\n./usr/bin/y time=1.0 type=link link=x\n';
  assert.deepEqual(mtreeFileList(full, 'm'), ['etc/', 'etc/a b.conf', 'usr/', 'usr/bin/x', 'usr/bin/y']);
  const relative = '#mtree\n. type=dir\nusr type=dir\nbin type=dir\nfile type=file\n..\n..\ntop type=file\n';
  assert.deepEqual(mtreeFileList(relative, 'm'), ['usr/', 'usr/bin/', 'usr/bin/file', 'top']);
  assert.deepEqual(sortFileList(['usr/bin/', 'usr/bin-x', 'usr/', 'étc', 'z']), ['usr/', 'usr/bin-x', 'usr/bin/', 'z', 'étc'], 'byte order, as strcmp');
});

test('the local desc and files: libalpm field order, written only when present, last scalar wins', () => {
  const pkginfo = parsePkgInfo([
    '# comment', 'pkgname = foo', 'pkgbase = foo-base', 'pkgver = 1:2-3', 'pkgdesc = first', 'pkgdesc = second', 'url = ', 'builddate = 1600000000',
    'packager = P', 'size = 0', 'arch = x86_64', 'license = MIT', 'license = BSD', 'group = g', 'depend = a>=1', 'optdepend = b: why',
    'provides = c=2', 'conflict = d', 'replaces = e', 'backup = etc/foo.conf', 'backup = etc/absent.conf', 'xdata = pkgtype=pkg', 'not a key value line',
  ].join('\n'), 'PKGINFO');
  const p: LocalPackage = {
    name: 'foo', version: '1:2-3', reason: 'dependency', validation: ['sha256', 'pgp'],
    file: { pkginfo, entries: [], fileList: ['etc/', 'etc/foo.conf'] },
    read: (path) => (path === 'etc/foo.conf' ? Buffer.from('x=1\n') : undefined),
  };
  assert.equal(descFile(p, 1709251200), [
    '%NAME%\nfoo\n', '%VERSION%\n1:2-3\n', '%BASE%\nfoo-base\n', '%DESC%\nsecond\n', '%URL%\n\n', '%ARCH%\nx86_64\n', '%BUILDDATE%\n1600000000\n',
    '%INSTALLDATE%\n1709251200\n', '%PACKAGER%\nP\n', '%REASON%\n1\n', '%GROUPS%\ng\n', '%LICENSE%\nMIT\nBSD\n', '%VALIDATION%\nsha256\npgp\n',
    '%REPLACES%\ne\n', '%DEPENDS%\na>=1\n', '%OPTDEPENDS%\nb: why\n', '%CONFLICTS%\nd\n', '%PROVIDES%\nc=2\n', '%XDATA%\npkgtype=pkg\n', '',
  ].join('\n'), 'no %SIZE% for 0');
  assert.equal(filesFile(p), '%FILES%\netc/\netc/foo.conf\n\n%BACKUP%\netc/foo.conf\tf968f33f844c98de1d3b4fe70f2e1a0f\netc/absent.conf\t(null)\n\n');
  assert.throws(() => parsePkgInfo('pkgname = x\npkgver = 1\n', 'P'), /pkgver "1" has no -pkgrel/);
});

test('%INSTALLDATE% is set to SOURCE_DATE_EPOCH and nothing else changes', () => {
  const desc = Buffer.from('%NAME%\nacl\n\n%INSTALLDATE%\n1723974712\n\n%PACKAGER%\nCaf\xe9 <x>\n\n', 'latin1');
  const out = withInstallDate(desc, 1662046009)!;
  assert.equal(out.toString('latin1'), desc.toString('latin1').replace('1723974712', '1662046009'));
  assert.equal(withInstallDate(out, 1662046009), undefined, 'already normalised');
  assert.equal(withInstallDate(Buffer.from('%NAME%\nx\n\n'), 1), undefined, 'no install date to set');
});
