/**
 * Go's archive/tar dialect (src/archive/go-tar*.ts) against what podman 5.8 / buildah 1.43 really
 * wrote (test/golden/podman/*.json: diff_ids and the content summaries in history strings), and
 * the byte rules of docs/podman-compat-facts.md §2 one by one. The comparison with a real Go
 * toolchain is in go-tar-crosscheck.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  FORMAT_GNU, FORMAT_PAX, FORMAT_UNKNOWN, FORMAT_USTAR, ZERO_TIME, cleanPath, goTarHeader, goTarStream, goWriteHeader,
  paxHeaderPath, rawHeader, splitUSTARPath, toASCII, type GoHeader, type GoTarStreamEntry, type RawGoHeader,
} from '../../src/archive/go-tar.js';
import { goTarRead } from '../../src/archive/go-tar-reader.js';
import {
  contentSummary, goSummaryStream, goTarReencode, isGoTarArchive, multiContentSummary, sha256Hex,
} from '../../src/archive/go-tar-summary.js';
import { goLayerStream } from '../../src/archive/go-tar-layer.js';
import { readGolden } from '../helpers/golden.js';
import { GT_EPOCH, GT_NEW, GT_OLD, encodeTree, hardCaseTree } from '../helpers/podman-contexts.js';

interface Vector {
  overlay: { config: { json: string } };
}

function vector(shape: string): { diffIds: string[]; history: string[] } {
  const v = readGolden(`podman/${shape}.json`) as Vector;
  const config = JSON.parse(v.overlay.config.json) as { rootfs: { diff_ids: string[] }; history: { created_by: string }[] };
  return { diffIds: config.rootfs.diff_ids, history: config.history.map((h) => h.created_by) };
}

/** The content summaries (`file:…`, `dir:…`) of a vector's ADD/COPY history entries, in order. */
function summaries(shape: string): string[] {
  return vector(shape).history.flatMap((s) => /#\(nop\) (?:ADD|COPY) ((?:file|dir|multi):[0-9a-f]{64}) in /.exec(s)?.[1] ?? []);
}

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function collect(s: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c);
  return Buffer.concat(parts);
}

const data = (s: string) => () => [Buffer.from(s)];

function header(h: Partial<GoHeader> & { name: string }): GoHeader {
  return { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: GT_OLD, ...h };
}

const field = (b: Buffer, off: number, len: number): string => b.toString('latin1', off, off + len);

// ---- podman's real bytes ------------------------------------------------------------------------

test('the empty layer is two zero blocks: 1024 NULs, sha256:5f70bf18…', async () => {
  const b = await collect(goTarStream([]));
  assert.deepEqual(b, Buffer.alloc(1024));
  assert.equal(`sha256:${createHash('sha256').update(b).digest('hex')}`, 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef');
});

/** The three layers of the `instructions` shape, as §2.10/§2.11 say podman's tree holds them. */
function instructionLayers(clamped: boolean): GoTarStreamEntry[][] {
  const t = (mtime: number): number => (clamped ? Math.min(mtime, GT_EPOCH) : mtime);
  const chown = { uid: 1000, gid: 100 };
  return [
    [
      { header: header({ name: 'bin/', type: 'dir', mode: 0o755, mtime: t(GT_OLD) }) },
      { header: header({ name: 'bin/entry', mode: 0o755, size: 21, mtime: t(GT_NEW) }), body: data('#!/bin/sh\necho entry\n') },
    ],
    [
      // Directories COPY creates have the build's time (later than the epoch).
      { header: header({ name: 'srv/', type: 'dir', mode: 0o755, ...chown, mtime: t(GT_NEW) }) },
      { header: header({ name: 'srv/files/', type: 'dir', mode: 0o755, ...chown, mtime: t(GT_NEW) }) },
      { header: header({ name: 'srv/files/a.conf', mode: 0o640, ...chown, size: 4, mtime: t(GT_OLD) }), body: data('a=1\n') },
      { header: header({ name: 'srv/files/sub/', type: 'dir', mode: 0o640, ...chown, mtime: t(GT_OLD) }) },
      { header: header({ name: 'srv/files/sub/b.conf', mode: 0o640, ...chown, size: 4, mtime: t(GT_NEW) }), body: data('b=2\n') },
    ],
    [
      { header: header({ name: 'srv/', type: 'dir', mode: 0o755, ...chown, mtime: t(GT_NEW) }) },
      {
        header: header({ name: 'srv/hello.txt', size: 6, mtime: t(GT_OLD), xattrs: new Map([['user.origin', Buffer.from('context')]]) }),
        body: data('hello\n'),
      },
    ],
  ];
}

test('layers: the instructions shape\'s three diff_ids, written from their entries (times clamped by the caller, or by buildah\'s filter)', async () => {
  const { diffIds } = vector('instructions');
  assert.equal(diffIds.length, 3);
  const clamped = instructionLayers(true);
  const raw = instructionLayers(false);
  for (let i = 0; i < 3; i++) {
    assert.equal(`sha256:${await sha256Hex(goTarStream(clamped[i]!))}`, diffIds[i], `layer ${i} (goTarStream)`);
    assert.equal(`sha256:${await sha256Hex(goLayerStream(raw[i]!, { sourceDateEpoch: GT_EPOCH }))}`, diffIds[i], `layer ${i} (goLayerStream)`);
  }
  // Sizes as podman's: 2560, 4608 and 3584 bytes.
  assert.deepEqual(await Promise.all(clamped.map(async (l) => (await collect(goTarStream(l))).length)), [2560, 4608, 3584]);
});

test('content summary: ADD of the hard-case archive (scratch-add) and of small.tar.gz (instructions)', async () => {
  assert.deepEqual(summaries('scratch-add'), [await contentSummary('file', goTarReencode(one(encodeTree(hardCaseTree())), 'rootfs.tar'))]);
  const small = encodeTree([
    { name: 'bin/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'bin/entry', kind: 'file', mode: 0o755, mtime: GT_NEW, data: '#!/bin/sh\necho entry\n' },
  ]);
  assert.equal(summaries('instructions')[0], await contentSummary('file', goTarReencode(one(small), 'small.tar')));
});

test('content summary: COPY --chown --chmod of a directory and COPY of a file with an xattr (instructions)', async () => {
  const [, dir, file] = summaries('instructions');
  const chown = { uid: 1000, gid: 100, mode: 0o640 };
  assert.equal(await contentSummary('dir', goSummaryStream([
    { header: header({ name: 'a.conf', ...chown, size: 4, mtime: GT_OLD }), body: data('a=1\n') },
    { header: header({ name: 'sub/', type: 'dir', ...chown, mtime: GT_OLD }) },
    { header: header({ name: 'sub/b.conf', ...chown, size: 4, mtime: GT_NEW }), body: data('b=2\n') },
  ], 'files/')), dir);
  assert.equal(await contentSummary('file', goSummaryStream([
    { header: header({ name: 'hello.txt', size: 6, xattrs: new Map([['user.origin', Buffer.from('context')]]) }), body: data('hello\n') },
  ], 'hello.txt')), file);
});

test('content summary: ADD of the GNU-format Debian tarball (debian-base), 145 MB', async (t) => {
  const tarball = process.env['REPRO_DEBIAN_ROOTFS'];
  if (!tarball || !existsSync(tarball)) {
    t.skip('REPRO_DEBIAN_ROOTFS is not set (.ci/debian-rootfs.sh prints it)');
    return;
  }
  const [expected] = summaries('debian-base');
  const started = performance.now();
  assert.equal(await contentSummary('file', goTarReencode(createReadStream(tarball, { highWaterMark: 1 << 20 }), 'base.tar')), expected);
  t.diagnostic(`re-encoded and hashed in ${((performance.now() - started) / 1000).toFixed(2)} s`);
});

test('multi: the SHA-256 of the parts joined by commas; one part is itself', () => {
  const a = `file:${'a'.repeat(64)}`;
  const b = `dir:${'b'.repeat(64)}`;
  assert.equal(multiContentSummary([a]), a);
  assert.equal(multiContentSummary([a, b]), `multi:${createHash('sha256').update(`${a},${b}`).digest('hex')}`);
});

// ---- the byte rules, one by one (§2) ------------------------------------------------------------

test('USTAR: mode without type bits, octal fields, devmajor/devminor on every header, empty owner names, checksum "%06o\\0 "', () => {
  const b = goTarHeader(header({ name: 'usr/bin/ping', mode: 0o4755, size: 5, uid: 2097151, gid: 7 }));
  assert.equal(b.length, 512);
  assert.equal(field(b, 0, 13), 'usr/bin/ping\0');
  assert.equal(field(b, 100, 8), '0004755\0');
  assert.equal(field(b, 108, 8), '7777777\0');
  assert.equal(field(b, 116, 8), '0000007\0');
  assert.equal(field(b, 124, 12), '00000000005\0');
  assert.equal(field(b, 136, 12), '13132027400\0');
  assert.equal(field(b, 156, 1), '0');
  assert.equal(field(b, 257, 8), 'ustar\x0000');
  assert.equal(field(b, 265, 64), '\0'.repeat(64));
  assert.equal(field(b, 329, 16), '0000000\x000000000\0');
  assert.match(field(b, 148, 8), /^[0-7]{6}\0 $/);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  assert.equal(parseInt(field(b, 148, 6), 8), sum);
  const dev = goTarHeader(header({ name: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0 }));
  assert.equal(field(dev, 329, 16), '0000010\x000000000\0');
  assert.equal(field(dev, 156, 1), '4');
  assert.equal(field(goTarHeader(header({ name: 'etc/', type: 'dir', mode: 0o755 })), 156, 1), '5');
  assert.equal(field(goTarHeader(header({ name: 'run/fifo', type: 'fifo' })), 156, 1), '6');
});

test('names: 100 bytes without NUL, USTAR split at the last fitting slash, PAX path otherwise', () => {
  const n100 = `long/${'e'.repeat(95)}`;
  const b100 = goTarHeader(header({ name: n100 }));
  assert.equal(b100.length, 512);
  assert.equal(field(b100, 0, 100), n100);
  const n120 = `long/${'d'.repeat(60)}/${'n'.repeat(54)}`;
  const b120 = goTarHeader(header({ name: n120 }));
  assert.equal(b120.length, 512);
  assert.equal(field(b120, 0, 55), `${'n'.repeat(54)}\0`);
  assert.equal(field(b120, 345, 66), `long/${'d'.repeat(60)}\0`);
  // With a PAX header for another reason (an xattr), the same name goes into a path record.
  const withXattr = goTarHeader(header({ name: n120, xattrs: new Map([['user.a', Buffer.from('b')]]) }));
  assert.ok(withXattr.toString('latin1', 512, 1024).startsWith(`25 SCHILY.xattr.user.a=b\n130 path=${n120}\n`));
  const n300 = `long/${'d'.repeat(60)}/${'x'.repeat(234)}`;
  const b300 = goTarHeader(header({ name: n300 }));
  assert.equal(b300.length, 3 * 512);
  assert.equal(field(b300, 1024, 100), n300.slice(0, 100));
  // Only the first 156 bytes are searched for the slash: not the last slash of the name.
  assert.deepEqual(splitUSTARPath(`${'a'.repeat(150)}/${'b'.repeat(10)}/c`), [`${'a'.repeat(150)}`, `${'b'.repeat(10)}/c`]);
  assert.deepEqual(splitUSTARPath(`${'a'.repeat(50)}/${'b'.repeat(10)}/${'c'.repeat(60)}`), [`${'a'.repeat(50)}/${'b'.repeat(10)}`, 'c'.repeat(60)]);
  assert.equal(splitUSTARPath(`${'a'.repeat(160)}/c`), undefined); // prefix > 155
  assert.equal(splitUSTARPath(`a/${'b'.repeat(101)}`), undefined); // suffix > 100
  assert.equal(splitUSTARPath(`${'é'.repeat(60)}/x`), undefined); // not ASCII
  assert.deepEqual(splitUSTARPath(`${'a'.repeat(60)}/${'b'.repeat(60)}/`), [`${'a'.repeat(60)}`, `${'b'.repeat(60)}/`]);
});

test('the PAX header: PaxHeaders.0 name (non-ASCII dropped, cut to 100, no trailing slash), zero mode/ids/mtime, NUL devices, sorted records', () => {
  assert.equal(paxHeaderPath('etc/xattrs'), 'etc/PaxHeaders.0/xattrs');
  assert.equal(paxHeaderPath('etc/'), 'etc/PaxHeaders.0');
  assert.equal(toASCII(paxHeaderPath(Buffer.from('srv/données/café.txt').toString('latin1'))), 'srv/donnes/PaxHeaders.0/caf.txt');
  assert.equal(toASCII(paxHeaderPath(Buffer.from('srv/日本語').toString('latin1'))), 'srv/PaxHeaders.0/');
  assert.equal(paxHeaderPath('x'), 'PaxHeaders.0/x');
  assert.equal(paxHeaderPath('./a/../b'), 'PaxHeaders.0/b');
  assert.equal(paxHeaderPath('x/..'), 'x');
  const b = goTarHeader(header({
    name: 'srv/日本語', mtime: -31536000, uid: 3000000, gid: 2097152,
    xattrs: new Map([['user.comment', Buffer.from('hello <world> & more')], ['user.binary', Buffer.from([0, 1, 2, 0xff])]]),
  }));
  assert.equal(field(b, 0, 17), 'srv/PaxHeaders.0\0'); // "srv/PaxHeaders.0/日本語" made ASCII, trailing slash removed
  assert.equal(field(b, 100, 8), '0000000\0');
  assert.equal(field(b, 108, 16), '0000000\x000000000\0');
  assert.equal(field(b, 136, 12), '00000000000\0');
  assert.equal(field(b, 156, 1), 'x');
  assert.equal(field(b, 329, 16), '\0'.repeat(16));
  const size = parseInt(field(b, 124, 11), 8);
  const records = b.subarray(512, 512 + size).toString('latin1');
  assert.deepEqual(records.split('\n').slice(0, -1).map((r) => r.split('=')[0]!.split(' ')[1]), [
    'SCHILY.xattr.user.binary', 'SCHILY.xattr.user.comment', 'gid', 'mtime', 'path', 'uid',
  ]);
  assert.ok(records.includes('19 mtime=-31536000\n'));
  assert.ok(records.includes('15 gid=2097152\n'));
  assert.ok(records.includes('SCHILY.xattr.user.binary=\x00\x01\x02\xff\n'));
  const main = b.subarray(b.length - 512);
  assert.equal(field(main, 0, 5), 'srv/\0'); // the name made ASCII: a file whose header name ends in '/'
  assert.equal(field(main, 108, 16), '0000000\x000000000\0'); // ids that do not fit: 0
  assert.equal(field(main, 136, 12), '00000000000\0');
  assert.equal(field(main, 329, 16), '0000000\x000000000\0');
});

test('link targets: 100 bytes stay USTAR, longer or non-ASCII ones go into linkpath', () => {
  assert.equal(goTarHeader(header({ name: 'l', type: 'symlink', mode: 0o777, linkname: `../${'f'.repeat(97)}` })).length, 512);
  const long = goTarHeader(header({ name: 'l', type: 'symlink', mode: 0o777, linkname: `../${'t'.repeat(100)}/${'u'.repeat(46)}` }));
  assert.equal(long.length, 1536);
  assert.match(long.toString('latin1', 512, 1024), /^164 linkpath=\.\.\/t+\/u+\n/);
});

test('an explicit format: GNU keeps GNU (magic "ustar  \\0", ././@LongLink entries, base-256 numbers)', () => {
  const name = `gnu/${'n'.repeat(120)}`;
  const b = goTarHeader(header({ name, uid: 2 ** 40, format: 'gnu', uname: 'root', gname: 'root' }));
  assert.equal(b.length, 3 * 512);
  assert.equal(field(b, 0, 14), '././@LongLink\0');
  assert.equal(field(b, 156, 1), 'L');
  assert.equal(field(b, 257, 8), 'ustar  \0');
  assert.equal(b.toString('latin1', 512, 512 + name.length + 1), `${name}\0`);
  const main = b.subarray(1024);
  assert.equal(field(main, 257, 8), 'ustar  \0');
  assert.deepEqual([...main.subarray(108, 116)], [0x80, 0, 1, 0, 0, 0, 0, 0]);
  assert.equal(field(main, 265, 5), 'root\0');
  // USTAR cannot hold a non-ASCII name and PAX is not GNU: with format 'ustar' Go refuses.
  assert.throws(() => goTarHeader(header({ name: 'é', format: 'ustar' })), (e: Error & { code?: string }) => e.code === 'E_UNSUPPORTED' && /cannot write/.test(e.message));
});

test('Go\'s refusals are one-line ReproErrors: a file name with a trailing slash, a NUL in a path', () => {
  for (const h of [header({ name: 'x/' }), header({ name: 'a\0b', xattrs: new Map([['user.a', Buffer.alloc(1)]]) })]) {
    assert.throws(() => goTarHeader(h), (e: Error & { code?: string }) => e.code === 'E_UNSUPPORTED' && !e.message.includes('\n'));
  }
});

test('path.Clean as Go has it', () => {
  const cases: [string, string][] = [
    ['', '.'], ['/', '/'], ['a//b', 'a/b'], ['a/./b/', 'a/b'], ['../a', '../a'], ['/../a', '/a'], ['a/../..', '..'],
    ['a/b/../../..', '..'], ['./', '.'], ['/a/b/..', '/a'], ['abc/def/../../../ghi', '../ghi'],
  ];
  for (const [i, o] of cases) assert.equal(cleanPath(i), o, i);
});

test('a stream refuses a body that does not match its header\'s size', async () => {
  await assert.rejects(collect(goTarStream([{ header: header({ name: 'f', size: 3 }), body: data('ab') }])), /2 bytes of data where the header says 3/);
  await assert.rejects(collect(goTarStream([{ header: header({ name: 'f', size: 1 }), body: data('ab') }])), /longer than the 1 bytes/);
  await assert.rejects(collect(goTarStream([{ header: header({ name: 'd/', type: 'dir' }), body: data('x') }])), /longer than the 0 bytes/);
});

// ---- the reader ---------------------------------------------------------------------------------

async function readAll(b: Buffer): Promise<RawGoHeader[]> {
  const out: RawGoHeader[] = [];
  for await (const e of goTarRead(one(b), 'test')) out.push(e.header);
  return out;
}

test('reader: formats as Go reports them (USTAR, PAX, GNU, unknown for V7 or non-ASCII USTAR blocks)', async () => {
  const ustar = goWriteHeader(rawHeader(header({ name: 'a' })));
  const pax = goWriteHeader(rawHeader(header({ name: 'b', uid: 3000000 })));
  const gnu = goWriteHeader(rawHeader(header({ name: 'c', format: 'gnu' })));
  const v7 = Buffer.from(ustar);
  v7.fill(0, 257, 265);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : v7[i]!;
  v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const hs = await readAll(Buffer.concat([ustar, pax, gnu, v7, Buffer.alloc(1024)]));
  assert.deepEqual(hs.map((h) => h.format), [FORMAT_USTAR, FORMAT_PAX, FORMAT_GNU, FORMAT_UNKNOWN]);
  assert.equal(hs[1]!.uid, 3000000n);
  assert.deepEqual(hs[1]!.paxRecords, new Map([['uid', '3000000']]));
  assert.equal(hs[0]!.modTime.sec, BigInt(GT_OLD));
  assert.notDeepEqual(hs[0]!.modTime, ZERO_TIME);
});

test('reader: the end of an archive as Go sees it (no marker, one zero block, the padding cut), and what follows is not read', async () => {
  const file = Buffer.concat([goWriteHeader(rawHeader(header({ name: 'f', size: 3 }))), Buffer.from('abc'), Buffer.alloc(509)]);
  assert.equal((await readAll(file)).length, 1);
  assert.equal((await readAll(file.subarray(0, 512 + 100))).length, 1);
  assert.equal((await readAll(Buffer.concat([file, Buffer.alloc(512)]))).length, 1);
  assert.equal((await readAll(Buffer.concat([file, Buffer.alloc(1024), Buffer.from('garbage')]))).length, 1);
  await assert.rejects(readAll(Buffer.concat([file, Buffer.alloc(512), file])), /a zero block followed by a header/);
  await assert.rejects(readAll(file.subarray(0, 512 + 2)), (e: Error & { code?: string }) => e.code === 'E_TAR_TRUNCATED');
  assert.equal(await isGoTarArchive(one(Buffer.alloc(1024))), false);
  assert.equal(await isGoTarArchive(one(file)), true);
  assert.equal(await isGoTarArchive(one(Buffer.from('not a tar at all'))), false);
});

test('the USTAR fast path writes what the general writer writes (3000 generated simple headers)', () => {
  let x = 987654321;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pickOf = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const type = pickOf(['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'] as const);
    const name = `${pickOf(['a', 'usr/lib', 'd'.repeat(98), `${'p'.repeat(80)}/${'q'.repeat(60)}`, `${'p'.repeat(160)}/q`])}/${pickOf(['x', 'y'.repeat(99), 'z/'])}${type === 'dir' ? '/' : ''}`;
    const h: GoHeader = {
      name, type, mode: pickOf([0, 0o644, 0o7777, 0o7777777]), uid: pickOf([0, 1000, 0o7777777, 0o10000000]), gid: pickOf([0, 100, 0o7777777]),
      size: type === 'file' ? pickOf([0, 1, 0o77777777777, 0o100000000000]) : 0, mtime: pickOf([0, 1500000000, 0o77777777777, 0o100000000000, -1]),
      linkname: pickOf(['', 'target', 't'.repeat(100), 't'.repeat(101)]), devmajor: pickOf([0, 8, 0o7777777, 0o10000000]), devminor: pickOf([0, 3]),
    };
    let general: Buffer | string;
    try {
      general = goWriteHeader(rawHeader(h));
    } catch (e) {
      general = (e as Error).name;
    }
    let mine: Buffer | string;
    try {
      mine = goTarHeader(h);
    } catch (e) {
      mine = (e as Error & { code?: string }).code === 'E_UNSUPPORTED' ? 'GoTarError' : String(e);
    }
    assert.deepEqual(mine, general, JSON.stringify(h));
    if (typeof mine !== 'string' && mine.length === 512 && mine.toString('latin1', 257, 263) === 'ustar\0') fast++;
  }
  assert.ok(fast > 300, `${fast} USTAR headers`);
});
