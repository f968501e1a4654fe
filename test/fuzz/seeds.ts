/**
 * The seed inputs of the fuzz corpus, made by code (small valid inputs of every format, spelled the
 * ways real tools spell them). `writeSeeds()` writes them as `seed-*` under test/fuzz/corpus; the
 * files are committed so that the corpus is what the campaign mutates and what the replay test
 * runs, and crashes found later are added beside them as `crash-*`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { TypeFlag, encodeHeaders, encodePaxRecords, padding } from '../../src/archive/tar-header.js';
import { zstdStream } from '../../src/archive/zstd.js';
import { ZERO_TIME, goWriteHeader, rawHeader } from '../../src/archive/go-tar.js';
import { makeTar, memberBytes } from '../helpers/tar-maker.js';
import { CORPUS } from './campaign.js';
import { generateKeyPairSync } from 'node:crypto';
import { encodeAttestation, vsaStatement } from '../../src/sbom/vsa.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function ar(members: Array<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, data] of members) {
    const h = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(h, 'latin1'), data);
    if (data.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

async function zstd(b: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of zstdStream([b])) parts.push(c);
  return Buffer.concat(parts);
}

export async function seeds(): Promise<Record<string, Array<[string, Buffer]>>> {
  const plain = makeTar([
    { name: 'etc/', type: 'dir' }, { name: 'etc/hostname', data: 'host\n' }, { name: 'etc/link', type: 'symlink', linkname: 'hostname' },
    { name: 'etc/hard', type: 'hardlink', linkname: 'etc/hostname' }, { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 }, { name: 'fifo', type: 'fifo' },
  ]);
  const pax = makeTar([{ name: 'p', data: 'x', pax: { path: `long/${'n'.repeat(200)}`, uid: '3000000', mtime: '1700000000.5', 'SCHILY.xattr.user.k': 'v' } }]);
  const longName = Buffer.from('gnu/long/name/'.repeat(10));
  const gnu = Buffer.concat([
    encodeHeaders({ name: '././@LongLink', mode: 0o644, uid: 0, gid: 0, size: longName.length, mtime: 0, typeflag: TypeFlag.gnuLongName, linkname: '', devmajor: 0, devminor: 0 }),
    longName, Buffer.alloc(padding(longName.length)), ...memberBytes({ name: 'short', data: 'gnu', magic: 'gnu' }), Buffer.alloc(1024),
  ]);
  const v7 = makeTar([{ name: 'old', data: 'v7', magic: 'v7' }]);
  // Go's own spellings: a global header, GNU long names and base-256 numbers, a PAX path record.
  const goTar = Buffer.concat([
    goWriteHeader({ ...rawHeader({ name: '', type: 0x67, mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 }), modTime: ZERO_TIME, paxRecords: new Map([['comment', 'global']]) }),
    goWriteHeader(rawHeader({ name: `gnu/${'n'.repeat(120)}`, type: 'file', mode: 0o644, uid: 2 ** 40, gid: 0, size: 0, mtime: -1, format: 'gnu', uname: 'root' })),
    goWriteHeader(rawHeader({ name: 'données/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1700000000, xattrs: new Map([['user.k', Buffer.from([0, 0xff])]]) })),
    Buffer.alloc(1024),
  ]);
  const control = 'Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nDepends: libc6 (>= 2.36), foo | bar\nDescription: hi\n multi\n .\n line\n';
  const deb = ar([
    ['debian-binary', Buffer.from('2.0\n')],
    ['control.tar.gz', gzipSync(makeTar([{ name: './control', data: control }, { name: './md5sums', data: `${'0'.repeat(32)}  usr/bin/hello\n` }]))],
    ['data.tar.gz', gzipSync(makeTar([{ name: './usr/', type: 'dir' }, { name: './usr/bin/hello', data: 'binary' }]))],
  ]);
  const desc = `%FILENAME%\nhello-1.0-1-x86_64.pkg.tar.zst\n\n%NAME%\nhello\n\n%VERSION%\n1.0-1\n\n%CSIZE%\n123\n\n%SHA256SUM%\n${sha('x')}\n\n%DEPENDS%\nglibc>=2.36\nsh\n\n`;
  const syncdb = gzipSync(makeTar([{ name: 'hello-1.0-1/', type: 'dir' }, { name: 'hello-1.0-1/desc', data: desc }]));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha('l')}`] }, config: { Env: ['A=1'] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha('l')}`, size: 1, urls: ['https://x.invalid'] }],
    annotations: { a: 'b' },
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha(manifest)}`, size: manifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, annotations: { 'org.opencontainers.image.ref.name': 't' } }],
  }));
  const dockerManifestJson = Buffer.from(JSON.stringify([{ Config: `${sha(config)}.json`, Layers: ['layer.tar'], RepoTags: ['a:b'] }]));
  const dockerArchive = makeTar([{ name: 'manifest.json', data: dockerManifestJson }, { name: `${sha(config)}.json`, data: config }, { name: 'layer.tar', data: plain }]);
  const ociArchive = makeTar([
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', data: index },
    { name: `blobs/sha256/${sha(manifest)}`, data: manifest }, { name: `blobs/sha256/${sha(config)}`, data: config },
  ]);
  return {
    tar: [['seed-plain.tar', plain], ['seed-pax.tar', pax], ['seed-gnu.tar', gnu], ['seed-v7.tar', v7]],
    'go-tar': [['seed-plain.tar', plain], ['seed-pax.tar', pax], ['seed-gnu.tar', gnu], ['seed-v7.tar', v7], ['seed-go.tar', goTar]],
    pax: [['seed-records', encodePaxRecords(new Map([['path', Buffer.from('a/b/c')], ['uid', Buffer.from('3000000')], ['mtime', Buffer.from('1700000000')]]))]],
    gzip: [['seed.gz', gzipSync(plain)], ['seed-two-members.gz', Buffer.concat([gzipSync('a'), gzipSync('b')])]],
    zstd: [['seed.zst', await zstd(plain)]],
    deb: [['seed.deb', deb]],
    deb822: [['seed-control', Buffer.from(control)], ['seed-release', Buffer.from(`Suite: stable\nDate: Sat, 01 Jan 2000 00:00:00 UTC\nArchitectures: amd64\nComponents: main\nSHA256:\n ${sha('p')} 12 main/binary-amd64/Packages\n`)]],
    'pacman-desc': [['seed-desc', Buffer.from(desc)]],
    pkginfo: [['seed-pkginfo', Buffer.from('# comment\npkgname = hello\npkgver = 1.0-1\ndepend = glibc\ndepend = sh\nsize = 10\n')]],
    mtree: [['seed-mtree', Buffer.from('#mtree\n/set type=file uid=0 gid=0 mode=644\n./.PKGINFO time=1.0 size=1\n./usr time=1.0 mode=755 type=dir\n./usr/bin/hello\\040world time=1.0 size=6\n./usr/x\\303\\251 size=1\n')]],
    syncdb: [['seed.db', syncdb]],
    'license-expression': [['seed-expressions', Buffer.from('MIT\nApache-2.0 OR MIT\n(MIT OR Apache-2.0) AND Unicode-3.0\nGPL-3.0-or-later WITH GCC-exception-3.1 AND (LGPL-2.1+ OR LicenseRef-custom)\nMIT OR Apache-2.0 AND BSD-3-Clause\ncustom:foo\nBar Baz OR MIT\n((MIT AND Zlib)\nMIT  WITH  Foo-exception\n')]],
    'oci-json': [['seed-manifest.json', manifest], ['seed-index.json', index], ['seed-config.json', config]],
    intoto: (() => {
      const vsa = vsaStatement(
        { verdict: 'reproduced', level: 'manifest', inputs: { sourceDateEpoch: 1700000000, spec: 'image.yaml', lock: { path: 'image.lock.json', digest: `sha256:${sha('lock')}` }, platform: 'linux/amd64' }, rebuilt: { manifest: `sha256:${'0'.repeat(64)}`, config: `sha256:${sha(config)}` }, published: { reference: 'docker://r.example/a:1', manifest: `sha256:${'0'.repeat(64)}`, config: `sha256:${sha(config)}` } },
        { verifierId: 'https://rebuilder.example', tool: { name: 'repro-image', version: '0.0.0' }, specDigest: `sha256:${sha('spec')}` },
      );
      return [['seed-vsa.json', encodeAttestation(vsa).bytes], ['seed-vsa.dsse.json', encodeAttestation(vsa, generateKeyPairSync('ed25519').privateKey).bytes]] as Array<[string, Buffer]>;
    })(),
    containerfile: [['seed-Containerfile', Buffer.from('# escape=\\\nARG BASE=scratch\nFROM ${BASE} AS build\nENV A=1 B="two words"\nLABEL x=${A:-def}\nCOPY --chmod=755 a /usr/bin/\nRUN ["/bin/sh", "-c", "echo hi"]\nFROM build\nWORKDIR /srv\nUSER 1000:1000\nCMD ["run"]\n')]],
    'image-archive': [['seed-docker-archive.tar', dockerArchive], ['seed-oci-archive.tar', ociArchive]],
  };
}

export async function writeSeeds(): Promise<void> {
  for (const [target, files] of Object.entries(await seeds())) {
    mkdirSync(join(CORPUS, target), { recursive: true });
    for (const [name, data] of files) writeFileSync(join(CORPUS, target, name), data);
  }
}
