#!/usr/bin/env node
// Generates the example root filesystem: a static x86-64 Linux program that prints a greeting
// (assembled here byte by byte, so no binary is committed and no compiler is needed), a few
// configuration files, and some of the non-deterministic files that build's passes clean up.
// Usage: node make-rootfs.mjs DIR [--reverse]   (--reverse creates the files in the opposite order)
import { mkdirSync, writeFileSync, symlinkSync, chmodSync, utimesSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const GREETING = 'Hello from a reproducible image!\n';

/** A minimal static ELF64 executable: write(1, msg, len); exit(0). */
export function helloElf(message = GREETING) {
  const msg = Buffer.from(message);
  const base = 0x400000;
  const code = Buffer.from([
    0xb8, 0x01, 0, 0, 0, //             mov eax, 1 (write)
    0xbf, 0x01, 0, 0, 0, //             mov edi, 1 (stdout)
    0x48, 0x8d, 0x35, 0x10, 0, 0, 0, // lea rsi, [rip+16] (the message, right after the code)
    0xba, msg.length, 0, 0, 0, //       mov edx, len
    0x0f, 0x05, //                      syscall
    0xb8, 0x3c, 0, 0, 0, //             mov eax, 60 (exit)
    0x31, 0xff, //                      xor edi, edi
    0x0f, 0x05, //                      syscall
  ]);
  const total = 64 + 56 + code.length + msg.length;
  const ehdr = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(ehdr, 0);
  ehdr.writeUInt16LE(2, 16); // ET_EXEC
  ehdr.writeUInt16LE(0x3e, 18); // x86-64
  ehdr.writeUInt32LE(1, 20);
  ehdr.writeBigUInt64LE(BigInt(base + 64 + 56), 24); // entry
  ehdr.writeBigUInt64LE(64n, 32); // phoff
  ehdr.writeUInt16LE(64, 52); // ehsize
  ehdr.writeUInt16LE(56, 54); // phentsize
  ehdr.writeUInt16LE(1, 56); // phnum
  const phdr = Buffer.alloc(56);
  phdr.writeUInt32LE(1, 0); // PT_LOAD
  phdr.writeUInt32LE(5, 4); // R+X
  phdr.writeBigUInt64LE(BigInt(base), 16);
  phdr.writeBigUInt64LE(BigInt(base), 24);
  phdr.writeBigUInt64LE(BigInt(total), 32);
  phdr.writeBigUInt64LE(BigInt(total), 40);
  phdr.writeBigUInt64LE(0x1000n, 48);
  return Buffer.concat([ehdr, phdr, code, msg]);
}

export function makeRootfs(dir, { reverse = false } = {}) {
  rmSync(dir, { recursive: true, force: true });
  const steps = [
    () => mkdirSync(join(dir, 'usr/bin'), { recursive: true }),
    () => mkdirSync(join(dir, 'etc'), { recursive: true }),
    () => mkdirSync(join(dir, 'var/cache/ldconfig'), { recursive: true }),
    () => mkdirSync(join(dir, 'tmp'), { recursive: true }),
  ];
  const files = [
    ['usr/bin/hello', helloElf(), 0o755],
    ['etc/os-release', 'NAME="repro-image example"\nID=repro-example\nVERSION_ID=1\n', 0o644],
    ['etc/passwd', 'root:x:0:0:root:/root:/usr/bin/hello\nnobody:x:65534:65534:nobody:/nonexistent:/usr/bin/hello\n', 0o644],
    ['etc/group', 'root:x:0:\nnogroup:x:65534:\n', 0o644],
    // Non-deterministic by nature: removed or emptied by build's normalisation passes.
    ['etc/machine-id', `${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}\n`, 0o444],
    ['var/cache/ldconfig/aux-cache', `aux-cache written at ${Date.now()}\n`, 0o600],
  ];
  for (const s of steps) s();
  const order = reverse ? [...files].reverse() : files;
  for (const [p, data, mode] of order) {
    writeFileSync(join(dir, p), data);
    chmodSync(join(dir, p), mode);
  }
  symlinkSync('usr/bin', join(dir, 'bin'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  // An old time is kept as it is; everything created now is clamped to SOURCE_DATE_EPOCH.
  utimesSync(join(dir, 'etc/os-release'), 1000000000, 1000000000);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node make-rootfs.mjs DIR [--reverse]\n');
    process.exit(2);
  }
  makeRootfs(dir, { reverse: process.argv.includes('--reverse') });
  process.stdout.write(`${dir}\n`);
}
