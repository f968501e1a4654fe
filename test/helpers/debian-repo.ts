/**
 * A signed Debian repository made by test code: packages built with dpkg-deb from trees written
 * here, a Packages index, a Release with a fixed Date, InRelease clear-signed by a throwaway gpg
 * key, served over HTTP on 127.0.0.1 (with optional per-path overrides for fault tests).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { serveDirectory } from './static-server.js';

export interface TestPackage {
  name: string;
  version: string;
  /** Extra control fields, e.g. { Depends: 'libfoo (>= 2)' }. */
  fields?: Record<string, string>;
  /** Files: absolute path in the package → content (and mode, default 0644). */
  files: Record<string, string | { data: string; mode: number }>;
  conffiles?: string[];
  postinst?: string;
  /** Architecture: all (one .deb listed in every architecture's index); default: one .deb per architecture. */
  all?: boolean;
  /** Files that differ by architecture (added to files in each architecture's .deb). */
  archFiles?: (arch: string) => Record<string, string | { data: string; mode: number }>;
  /** dpkg-deb -Z: the compression of control.tar and data.tar (default xz). */
  compression?: 'xz' | 'gzip' | 'zstd' | 'none';
}

export const REPO_DATE = 'Tue, 14 Nov 2023 22:13:20 UTC'; // 1700000000
const OLD = 1600000000;

export function makeKey(dir: string, name: string): { home: string; keyring: string } {
  const home = join(dir, `gnupg-${name}`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', `${name} <${name}@repro-image.invalid>`, 'ed25519', 'sign', 'never'], { env, stdio: 'pipe' });
  const keyring = join(dir, `${name}.gpg`);
  writeFileSync(keyring, execFileSync('gpg', ['--batch', '--export'], { env }));
  return { home, keyring };
}

function buildDeb(work: string, p: TestPackage, out: string, arch = 'amd64'): void {
  const root = join(work, arch === 'amd64' ? `${p.name}_${p.version}` : `${p.name}_${p.version}_${arch}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  const control = [`Package: ${p.name}`, `Version: ${p.version}`, `Architecture: ${arch}`, 'Maintainer: Test <t@repro-image.invalid>',
    ...Object.entries(p.fields ?? {}).map(([k, v]) => `${k}: ${v}`), `Description: test package ${p.name}`, ' A package made by the repro-image tests.'].join('\n');
  writeFileSync(join(root, 'DEBIAN/control'), `${control}\n`);
  if (p.conffiles) writeFileSync(join(root, 'DEBIAN/conffiles'), p.conffiles.map((c) => `${c}\n`).join(''));
  if (p.postinst) {
    writeFileSync(join(root, 'DEBIAN/postinst'), p.postinst);
    chmodSync(join(root, 'DEBIAN/postinst'), 0o755);
  }
  const md5: string[] = [];
  const files = { ...p.files, ...(arch === 'all' ? {} : p.archFiles?.(arch)) };
  for (const [path, spec] of Object.entries(files).sort()) {
    const { data, mode } = typeof spec === 'string' ? { data: spec, mode: 0o644 } : spec;
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, data);
    chmodSync(abs, mode);
    utimesSync(abs, OLD, OLD);
    if (!p.conffiles?.includes(path)) md5.push(`${createHash('md5').update(data).digest('hex')}  ${path.slice(1)}`);
  }
  writeFileSync(join(root, 'DEBIAN/md5sums'), md5.map((l) => `${l}\n`).join(''));
  execFileSync('sh', ['-c', `find "$0" -exec touch -h -d @${OLD} {} +`, root]);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${p.compression ?? 'xz'}`, '--build', root, out], { env: { ...process.env, SOURCE_DATE_EPOCH: String(OLD) }, stdio: 'pipe' });
}

export interface Repo {
  url: string;
  dir: string;
  server: Server;
  /** Path (under the repo) → bytes served instead of the file. */
  overrides: Map<string, Buffer>;
  close(): Promise<void>;
}

export interface RepoOptions {
  /** The suite (and codename) of dists/ (default testing). */
  suite?: string;
  /** The Release Date (default REPO_DATE). */
  date?: string;
  /** Where the packages go below the repository (default pool/main). */
  pool?: string;
  /** The architectures of the repository, each with its Packages index (default amd64 alone). */
  architectures?: string[];
}

/** Writes a signed repository (dists/SUITE and its pool) into `repo`, building the packages under `work`. */
export function writeRepo(repo: string, work: string, packages: TestPackage[], signer: { home: string }, opts: RepoOptions = {}): void {
  const suite = opts.suite ?? 'testing';
  const poolPath = opts.pool ?? 'pool/main';
  const pool = join(repo, poolPath);
  mkdirSync(pool, { recursive: true });
  const archs = opts.architectures ?? ['amd64'];
  const byArch = new Map<string, string[]>(archs.map((a) => [a, []]));
  for (const p of packages) {
    for (const arch of p.all ? ['all'] : archs) {
      const file = `${p.name}_${p.version}_${arch}.deb`;
      buildDeb(work, p, join(pool, file), arch);
      const deb = readFileSync(join(pool, file));
      const control = execFileSync('dpkg-deb', ['--field', join(pool, file)], { encoding: 'utf8' }).trimEnd();
      const paragraph = `${control}\nFilename: ${poolPath}/${file}\nSize: ${deb.length}\nSHA256: ${createHash('sha256').update(deb).digest('hex')}\n`;
      for (const a of arch === 'all' ? archs : [arch]) byArch.get(a)!.push(paragraph);
    }
  }
  const dists = join(repo, 'dists', suite);
  const line = (b: Buffer, path: string): string => ` ${createHash('sha256').update(b).digest('hex')} ${b.length} ${path}`;
  const sums: string[] = [];
  for (const arch of archs) {
    mkdirSync(join(dists, `main/binary-${arch}`), { recursive: true });
    const packagesText = Buffer.from(byArch.get(arch)!.join('\n'));
    const gz = gzipSync(packagesText);
    writeFileSync(join(dists, `main/binary-${arch}/Packages`), packagesText);
    writeFileSync(join(dists, `main/binary-${arch}/Packages.gz`), gz);
    sums.push(line(packagesText, `main/binary-${arch}/Packages`), line(gz, `main/binary-${arch}/Packages.gz`));
  }
  const release = ['Origin: repro-image tests', `Suite: ${suite}`, `Codename: ${suite}`, `Date: ${opts.date ?? REPO_DATE}`, `Architectures: ${archs.join(' ')}`, 'Components: main',
    'SHA256:', ...sums].join('\n');
  writeFileSync(join(dists, 'Release'), `${release}\n`);
  execFileSync('gpg', ['--batch', '--quiet', '--yes', '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')], { env: { ...process.env, GNUPGHOME: signer.home } });
}

export async function makeRepo(dir: string, packages: TestPackage[], signer: { home: string }, opts: RepoOptions = {}): Promise<Repo> {
  const repo = join(dir, 'repo');
  writeRepo(repo, join(dir, 'pkgsrc'), packages, signer, opts);
  const served = await serveDirectory(repo, '/debian');
  return { url: served.url, dir: repo, server: served.server, overrides: served.overrides, close: served.close };
}
