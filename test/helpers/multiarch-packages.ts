/**
 * The packages of the hermetic two-architecture Debian repository the multi-arch tests build from:
 * a `Multi-Arch: same` library with a file under each architecture's triplet, a program for each
 * architecture that depends on it, and an `Architecture: all` data package both share.
 */
import type { TestPackage } from './debian-repo.js';

const TRIPLET: Record<string, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

export const MULTIARCH_PACKAGES: TestPackage[] = [
  { name: 'libc-test', version: '1.0', fields: { 'Multi-Arch': 'same' }, files: {}, archFiles: (a) => ({ [`/usr/lib/${TRIPLET[a]}/libtest.so.1`]: `lib for ${a}\n` }) },
  { name: 'hello', version: '1.0', fields: { Depends: 'libc-test, hello-data' }, files: {}, archFiles: (a) => ({ '/usr/bin/hello': { data: `#!/bin/sh\necho hello from ${a}\n`, mode: 0o755 } }) },
  { name: 'hello-data', version: '1.0', all: true, files: { '/usr/share/hello/greeting.txt': 'hello\n' } },
];
