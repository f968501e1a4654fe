/**
 * Build contexts for the podman ground-truth vectors (test/golden/podman/), made by code so that
 * every byte of every input is fixed: a tar archive with every hard case of a root file system
 * (written member by member, in a deliberately unsorted order), the Containerfiles of the shapes
 * the vectors cover, and the wrapping of a Debian root file system tarball (made elsewhere, by
 * mmdebstrap) into a base-image context and an Arch-like rootfs.tar.zst.
 *
 * A vector records the SHA-256 of each generated input, so a change here shows up as a changed
 * input, not as a podman difference.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BLOCK, encodeHeaders, padding, TypeFlag } from '../../src/archive/tar-header.js';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as typeof import('fs-xattr');

/** SOURCE_DATE_EPOCH of every ground-truth build. */
export const GT_EPOCH = 1700000000;
/** Before GT_EPOCH: kept as is. */
export const GT_OLD = 1500000000;
/** After GT_EPOCH: clamped to it by --rewrite-timestamp. */
export const GT_NEW = 1800000000;

/** The name podman gives the Debian base image the multi-stage shapes start from. */
export const GT_BASE_IMAGE = 'localhost/repro-ground-truth/debian-base:bookworm';

/** cap_net_bind_service=+ep, VFS_CAP_REVISION_2 (20 bytes). */
export const CAP_BIND = Buffer.from('0000000200040000000000000000000000000000', 'hex');
/** cap_net_raw=+ep, VFS_CAP_REVISION_2. */
export const CAP_RAW = Buffer.from('0000000200200000000000000000000000000000', 'hex');

type Kind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive member as written (names without a leading "./"; directories end in "/"). */
export interface TreeMember {
  name: string;
  kind: Kind;
  mode: number;
  mtime: number;
  uid?: number;
  gid?: number;
  data?: string | Buffer;
  link?: string;
  dev?: [number, number];
  /** Extra pax records, e.g. SCHILY.xattr.* or a fractional mtime. */
  pax?: Record<string, string | Buffer>;
}

const TYPE: Record<Kind, number> = {
  file: TypeFlag.file, dir: TypeFlag.dir, symlink: TypeFlag.symlink, hardlink: TypeFlag.hardlink,
  char: TypeFlag.char, block: TypeFlag.block, fifo: TypeFlag.fifo,
};

const LONG_DIR = `long/${'d'.repeat(60)}`;
/** A 150-byte symlink target: needs a pax linkpath. */
const LONG_TARGET = `../${'t'.repeat(100)}/${'u'.repeat(46)}`;

/**
 * The hard-case tree, in archive order. Deliberately not sorted: parents after children, a
 * directory that no member names, names whose byte order differs from a directory walk's
 * ("a-b" < "a/x" as paths, but "a" and its children come first in a walk).
 */
export function hardCaseTree(): TreeMember[] {
  const x = (k: string): string => `SCHILY.xattr.${k}`;
  return [
    { name: 'usr/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'usr/bin/', kind: 'dir', mode: 0o755, mtime: GT_NEW },
    { name: 'usr/bin/tool', kind: 'file', mode: 0o755, mtime: GT_OLD, data: 'tool\n' },
    { name: 'bin/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    // Hard link named after its target in the archive but before it in a directory walk.
    { name: 'bin/tool-link', kind: 'hardlink', mode: 0o755, mtime: GT_OLD, link: 'usr/bin/tool' },
    // setuid with a capability, not linked.
    { name: 'usr/bin/ping', kind: 'file', mode: 0o4755, mtime: GT_NEW, data: 'ping\n', pax: { [x('security.capability')]: CAP_RAW } },
    { name: 'usr/sbin/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    // A capability on an inode the archive hard-links.
    { name: 'usr/sbin/capped', kind: 'file', mode: 0o750, mtime: GT_OLD, data: 'capped\n', pax: { [x('security.capability')]: CAP_BIND } },
    { name: 'usr/sbin/capped-link', kind: 'hardlink', mode: 0o750, mtime: GT_OLD, link: 'usr/sbin/capped' },
    // setuid and a capability on a hard-linked inode.
    { name: 'usr/sbin/suid-capped', kind: 'file', mode: 0o4755, mtime: GT_OLD, data: 'suid and cap\n', pax: { [x('security.capability')]: CAP_RAW } },
    { name: 'bin/suid-capped-alias', kind: 'hardlink', mode: 0o4755, mtime: GT_OLD, link: 'usr/sbin/suid-capped' },
    // setuid on a hard-linked inode, no capability.
    { name: 'usr/sbin/suid-linked', kind: 'file', mode: 0o4755, mtime: GT_OLD, data: 'suid\n' },
    { name: 'usr/sbin/suid-linked-alias', kind: 'hardlink', mode: 0o4755, mtime: GT_OLD, link: 'usr/sbin/suid-linked' },
    // A hard link whose own header says another mode, owner and time than its target's.
    { name: 'usr/sbin/meta', kind: 'file', mode: 0o755, mtime: GT_OLD, data: 'meta\n' },
    { name: 'usr/sbin/meta-link', kind: 'hardlink', mode: 0o700, uid: 7, gid: 8, mtime: 1400000000, link: 'usr/sbin/meta' },
    { name: 'usr/lib/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'usr/lib/os-release', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'NAME="ground truth"\nID=gt\n' },
    { name: 'usr/lib/long-link', kind: 'symlink', mode: 0o777, mtime: GT_OLD, link: LONG_TARGET },
    { name: 'etc/', kind: 'dir', mode: 0o755, mtime: GT_NEW, pax: { [x('user.dir')]: 'a directory xattr' } },
    { name: 'etc/os-release', kind: 'symlink', mode: 0o777, mtime: GT_NEW, link: '../usr/lib/os-release' },
    { name: 'etc/motd', kind: 'file', mode: 0o644, mtime: GT_EPOCH, data: 'mtime equal to SOURCE_DATE_EPOCH\n' },
    { name: 'etc/xattrs', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'xattrs\n', pax: { [x('user.comment')]: 'hello <world> & more', [x('trusted.secret')]: 'not kept', [x('user.binary')]: Buffer.from([0, 1, 2, 0xff]) } },
    { name: 'etc/shadow', kind: 'file', mode: 0o640, gid: 42, mtime: GT_OLD, data: 'root:*:19000:0:99999:7:::\n' },
    { name: 'etc/no-perms', kind: 'file', mode: 0o000, mtime: GT_OLD, data: '' },
    { name: 'etc/dup', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'first copy\n' },
    { name: 'etc/dup', kind: 'file', mode: 0o600, mtime: GT_OLD, data: 'second copy wins\n' },
    // Walk order against byte order.
    { name: 'a-b', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'a-b\n' },
    { name: 'a/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'a/x', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'a/x\n' },
    { name: 'a.b/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'a.b/y', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'a.b/y\n' },
    { name: 'a0', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'a0\n' },
    // Long names: ustar prefix split (120 bytes), pax path (300 bytes), one 120-byte component.
    { name: `${LONG_DIR}/`, kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: `${LONG_DIR}/${'n'.repeat(54)}`, kind: 'file', mode: 0o644, mtime: GT_OLD, data: '120-byte path\n' },
    { name: `${LONG_DIR}/${'x'.repeat(234)}`, kind: 'file', mode: 0o644, mtime: GT_OLD, data: '300-byte path\n' },
    { name: `long/${'c'.repeat(120)}`, kind: 'file', mode: 0o644, mtime: GT_OLD, data: '120-byte component\n' },
    // Exactly 100 bytes: the name field without a terminating NUL; a 100-byte link target likewise.
    { name: `long/${'e'.repeat(95)}`, kind: 'file', mode: 0o644, mtime: GT_OLD, data: '100-byte path\n' },
    { name: 'long/link-100', kind: 'symlink', mode: 0o777, mtime: GT_OLD, link: `../${'f'.repeat(97)}` },
    // Non-ASCII names, a directory among them.
    { name: 'srv/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'srv/données/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'srv/données/café.txt', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'non-ASCII\n' },
    { name: 'srv/日本語', kind: 'file', mode: 0o644, mtime: GT_NEW, data: 'CJK\n' },
    // Owners: small, and above the 7-digit octal limit (pax uid/gid).
    { name: 'srv/owned', kind: 'file', mode: 0o644, uid: 1000, gid: 100, mtime: GT_OLD, data: 'uid 1000\n' },
    { name: 'srv/big-ids', kind: 'file', mode: 0o644, uid: 3000000, gid: 3000001, mtime: GT_OLD, data: 'big ids\n' },
    { name: 'srv/id-limits', kind: 'file', mode: 0o644, uid: 2097151, gid: 2097152, mtime: GT_OLD, data: 'uid 0o7777777, gid one more\n' },
    { name: 'srv/shared/', kind: 'dir', mode: 0o2775, gid: 50, mtime: GT_OLD },
    { name: 'home/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'home/user/', kind: 'dir', mode: 0o700, uid: 1000, gid: 1000, mtime: GT_NEW },
    // Devices and a fifo.
    { name: 'dev/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'dev/null', kind: 'char', mode: 0o666, mtime: GT_OLD, dev: [1, 3] },
    { name: 'dev/sda', kind: 'block', mode: 0o660, gid: 6, mtime: GT_NEW, dev: [8, 0] },
    { name: 'run/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'run/fifo', kind: 'fifo', mode: 0o644, mtime: GT_NEW },
    // Times: fractional (pax) on both sides, zero, pax atime/ctime, before 1970 (pax mtime).
    { name: 'times/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'times/frac-old', kind: 'file', mode: 0o644, mtime: 1600000000, data: 'old, fractional\n', pax: { mtime: '1600000000.75' } },
    { name: 'times/frac-new', kind: 'file', mode: 0o644, mtime: 1800000000, data: 'new, fractional\n', pax: { mtime: '1800000000.25' } },
    { name: 'times/zero', kind: 'file', mode: 0o644, mtime: 0, data: 'mtime 0\n' },
    { name: 'times/atime-ctime', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'pax atime and ctime\n', pax: { atime: '1600000001', ctime: '1900000000' } },
    { name: 'times/pre-1970', kind: 'file', mode: 0o644, mtime: -31536000, data: 'dated 1969\n' },
    // Special directory modes.
    { name: 'tmp/', kind: 'dir', mode: 0o1777, mtime: GT_OLD },
    { name: 'root/', kind: 'dir', mode: 0o700, mtime: GT_OLD },
    { name: 'empty/', kind: 'dir', mode: 0o755, mtime: GT_NEW },
    // A child before its directory's own entry, and a file whose parents no member names.
    { name: 'late/child', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'child first\n' },
    { name: 'late/', kind: 'dir', mode: 0o750, mtime: GT_OLD },
    { name: 'implicit/deep/file', kind: 'file', mode: 0o644, mtime: GT_OLD, data: 'parents not in the archive\n' },
    // Contents that cross block boundaries.
    { name: 'data/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
    { name: 'data/513', kind: 'file', mode: 0o644, mtime: GT_OLD, data: Buffer.alloc(513, 0x61) },
    { name: 'data/4096', kind: 'file', mode: 0o644, mtime: GT_OLD, data: Buffer.alloc(4096, 0x62) },
    { name: 'data/empty', kind: 'file', mode: 0o644, mtime: GT_OLD, data: '' },
  ];
}

/** The archive bytes of `members`: pax only where needed (plus the members' own records), two zero blocks at the end. */
export function encodeTree(members: TreeMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.kind === 'file' ? Buffer.from(m.data ?? '') : Buffer.alloc(0);
    const pax = m.pax ? new Map(Object.entries(m.pax).map(([k, v]) => [k, Buffer.from(v)])) : undefined;
    parts.push(encodeHeaders({
      name: m.name, mode: m.mode, uid: m.uid ?? 0, gid: m.gid ?? 0, size: data.length, mtime: m.mtime,
      typeflag: TYPE[m.kind], linkname: m.link ?? '', devmajor: m.dev?.[0] ?? 0, devminor: m.dev?.[1] ?? 0,
      ...(pax ? { pax } : {}),
    }));
    if (data.length > 0) parts.push(data, Buffer.alloc(padding(data.length)));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** One generated input file of a context: its name and SHA-256, as a vector records them. */
export interface InputRecord {
  path: string;
  sha256: string;
  size: number;
}

function writeInput(dir: string, path: string, data: Buffer | string): InputRecord {
  const b = Buffer.from(data);
  writeFileSync(join(dir, path), b);
  return { path, sha256: sha256(b), size: b.length };
}

function zstdFile(src: string, dst: string): void {
  execFileSync('zstd', ['-q', '-f', '-3', '--no-progress', src, '-o', dst]);
}

/**
 * The shapes, in the order a run builds them ('debian-base' before the shapes that start FROM it).
 * - scratch-add: FROM scratch, ARG, LABELs (one with <...@...>), ADD of the hard-case tar, ENV, CMD.
 * - instructions: FROM scratch and every other instruction the config records (ADD of a .tar.gz,
 *   COPY --chown --chmod of context files with fixed modes, times and an xattr, WORKDIR, USER,
 *   EXPOSE, VOLUME, STOPSIGNAL, ENTRYPOINT + CMD, quoted ENV and LABEL).
 * - debian-base: FROM scratch + ADD of the Debian tarball: the base image of the next three.
 * - multi-stage: GNU tar extracts the hard-case tree (.tar.zst) under RUN, FROM scratch + COPY --from.
 * - run-diff: FROM the base, a RUN that deletes, replaces, chmods, chowns, touches and links, a RUN
 *   that changes nothing, and a RUN that adds one file outside /etc; SOURCE_DATE_EPOCH in RUN's
 *   environment before and after `ARG SOURCE_DATE_EPOCH`: how the RUN layer is computed.
 * - arch-like: archlinux-docker's Dockerfile.repro over the Debian tarball.
 */
export const SHAPES = ['scratch-add', 'instructions', 'debian-base', 'multi-stage', 'run-diff', 'arch-like'] as const;
export type Shape = (typeof SHAPES)[number];

export const CONTAINERFILES: Record<Shape, string> = {
  'scratch-add': [
    'FROM scratch',
    'ARG VERSION=1.0',
    'LABEL org.opencontainers.image.authors="Jane Doe <jane@example.org> (@jane)"',
    'LABEL org.opencontainers.image.version="$VERSION" org.opencontainers.image.title="ground truth: scratch & ADD"',
    'LABEL com.example.zz="last key" com.example.aa="first key" com.example.unicode="café ☕"',
    'ADD rootfs.tar /',
    'ENV LANG=C.UTF-8',
    'ENV PATH=/usr/local/bin:/usr/bin:/bin EMPTY=',
    'CMD ["/bin/sh", "-c", "echo <ok> && exit 0"]',
    '',
  ].join('\n'),
  'multi-stage': [
    `FROM ${GT_BASE_IMAGE} AS builder`,
    'COPY rootfs.tar.zst /',
    'RUN mkdir /rootfs && tar -C /rootfs --extract --file /rootfs.tar.zst',
    '',
    'FROM scratch AS root',
    'COPY --from=builder /rootfs/ /',
    'CMD ["/bin/sh"]',
    '',
  ].join('\n'),
  instructions: [
    'FROM scratch',
    'ARG UNUSED',
    'ARG TAG=v1',
    'ADD small.tar.gz /',
    'COPY --chown=1000:100 --chmod=0640 files/ /srv/files/',
    'COPY hello.txt /srv/',
    'WORKDIR /srv/work',
    'USER 1000:100',
    'EXPOSE 8080/tcp 53/udp',
    'VOLUME ["/data", "/cache"]',
    'STOPSIGNAL SIGTERM',
    'ENV A="with space" B=plain',
    'LABEL "key with space"="v" tag=$TAG',
    'ENTRYPOINT ["/bin/entry", "--flag"]',
    'CMD ["arg1"]',
    '',
  ].join('\n'),
  'debian-base': 'FROM scratch\nADD base.tar /\n',
  'run-diff': [
    `FROM ${GT_BASE_IMAGE}`,
    'ARG FLAVOR=plain',
    'RUN set -e; \\',
    '    rm /etc/debian_version; \\',
    '    rm -r /var/lib/apt/lists; \\',
    '    rm -r /usr/share/doc/zstd && mkdir /usr/share/doc/zstd && echo new > /usr/share/doc/zstd/README; \\',
    '    rm /etc/issue.net && mkdir /etc/issue.net; \\',
    '    rm -r /usr/share/doc/tar && echo "was a directory" > /usr/share/doc/tar; \\',
    '    chmod 0600 /etc/issue; \\',
    '    setfattr -n user.note -v changed /etc/motd; \\',
    '    chown 1000:1000 /etc/shells; \\',
    '    touch -d @1500000000 /etc/host.conf; \\',
    '    ln /usr/bin/zstd /usr/bin/zstd-hardlink; \\',
    '    mkdir -p /new/dir && echo "$FLAVOR ${SOURCE_DATE_EPOCH:-unset}" > /new/dir/file && ln -s dir /new/link && mkfifo /new/fifo; \\',
    '    echo temp > /tmp/x && rm /tmp/x',
    'RUN true',
    'ARG SOURCE_DATE_EPOCH',
    'RUN echo "${SOURCE_DATE_EPOCH:-unset}" > /new/second',
    '',
  ].join('\n'),
  'arch-like': [
    `FROM ${GT_BASE_IMAGE} AS verify`,
    'COPY rootfs.tar.zst /',
    'RUN mkdir /rootfs && tar -C /rootfs --extract --file rootfs.tar.zst',
    '',
    'FROM scratch AS root',
    '',
    'LABEL org.opencontainers.image.title="Debian bookworm minbase (Arch-shaped ground truth)"',
    'LABEL org.opencontainers.image.description="The shape of archlinux-docker\'s Dockerfile.repro, over a Debian root file system."',
    'LABEL org.opencontainers.image.authors="Jane Doe <jane@example.org> (@jane), John Roe <john@example.org> (@john)"',
    'LABEL org.opencontainers.image.url="https://example.org/README.md"',
    'LABEL org.opencontainers.image.licenses="GPL-3.0-or-later"',
    'LABEL org.opencontainers.image.version="20231114.0.1"',
    'LABEL org.opencontainers.image.revision="0123456789abcdef0123456789abcdef01234567"',
    'LABEL org.opencontainers.image.created="2023-11-14T22:13:20+00:00"',
    '',
    'COPY --from=verify /rootfs/ /',
    '',
    'RUN ldconfig && \\',
    '    sed -i \'/^VERSION_CODENAME/a BUILD_ID=20231114.0.1\' /etc/os-release && \\',
    '    rm -f /var/cache/ldconfig/aux-cache',
    '',
    'ENV LANG=C.UTF-8',
    'CMD ["/usr/bin/bash"]',
    '',
  ].join('\n'),
};

/**
 * Writes the context of `shape` into `dir` (created) and returns the generated inputs.
 * `debianTar` is the Debian minbase tarball (from .ci/debian-minbase.sh); the shapes that need
 * it are 'debian-base' (as base.tar) and 'arch-like' (as rootfs.tar.zst).
 */
export function writeContext(shape: Shape, dir: string, debianTar?: string): InputRecord[] {
  mkdirSync(dir, { recursive: true });
  const inputs: InputRecord[] = [writeInput(dir, 'Containerfile', CONTAINERFILES[shape])];
  switch (shape) {
    case 'scratch-add':
      inputs.push(writeInput(dir, 'rootfs.tar', encodeTree(hardCaseTree())));
      break;
    case 'instructions': {
      const small = encodeTree([
        { name: 'bin/', kind: 'dir', mode: 0o755, mtime: GT_OLD },
        { name: 'bin/entry', kind: 'file', mode: 0o755, mtime: GT_NEW, data: '#!/bin/sh\necho entry\n' },
      ]);
      inputs.push(writeInput(dir, 'small.tar.gz', gzipSync(small, { level: 9 })));
      inputs[inputs.length - 1]!.sha256 = sha256(small); // the compressed bytes never reach the image
      mkdirSync(join(dir, 'files/sub'), { recursive: true });
      inputs.push(writeInput(dir, 'files/a.conf', 'a=1\n'), writeInput(dir, 'files/sub/b.conf', 'b=2\n'));
      inputs.push(writeInput(dir, 'hello.txt', 'hello\n'));
      chmodSync(join(dir, 'files/a.conf'), 0o600);
      chmodSync(join(dir, 'files/sub/b.conf'), 0o755);
      chmodSync(join(dir, 'hello.txt'), 0o644);
      xattr.setAttributeSync(join(dir, 'hello.txt'), 'user.origin', 'context');
      for (const [p, t] of [['files/a.conf', GT_OLD], ['files/sub/b.conf', GT_NEW], ['files/sub', GT_OLD], ['files', GT_NEW], ['hello.txt', GT_OLD]] as const) {
        utimesSync(join(dir, p), t, t);
      }
      chmodSync(join(dir, 'files/sub'), 0o750);
      chmodSync(join(dir, 'files'), 0o755);
      break;
    }
    case 'run-diff':
      break;
    case 'multi-stage': {
      // RUN has no CAP_MKNOD under podman's default capabilities, so GNU tar could not create the
      // device nodes ("Cannot mknod: Operation not permitted"): the extracted tree has none.
      const tar = encodeTree(hardCaseTree().filter((m) => m.kind !== 'char' && m.kind !== 'block'));
      writeFileSync(join(dir, 'rootfs.tar'), tar);
      zstdFile(join(dir, 'rootfs.tar'), join(dir, 'rootfs.tar.zst'));
      execFileSync('rm', ['-f', join(dir, 'rootfs.tar')]);
      // The compressed bytes never reach the image (GNU tar extracts them): record the tar's digest.
      inputs.push({ path: 'rootfs.tar.zst', sha256: sha256(tar), size: tar.length });
      break;
    }
    case 'debian-base':
    case 'arch-like': {
      if (debianTar === undefined) throw new Error(`${shape} needs the Debian minbase tarball`);
      const tar = readFileSync(debianTar);
      if (shape === 'debian-base') {
        inputs.push(writeInput(dir, 'base.tar', tar));
      } else {
        zstdFile(debianTar, join(dir, 'rootfs.tar.zst'));
        inputs.push({ path: 'rootfs.tar.zst', sha256: sha256(tar), size: tar.length });
      }
      break;
    }
  }
  return inputs;
}
