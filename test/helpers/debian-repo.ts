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

function buildDeb(work: string, p: TestPackage, out: string): void {
  const root = join(work, `${p.name}_${p.version}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  const control = [`Package: ${p.name}`, `Version: ${p.version}`, 'Architecture: amd64', 'Maintainer: Test <t@repro-image.invalid>',
    ...Object.entries(p.fields ?? {}).map(([k, v]) => `${k}: ${v}`), `Description: test package ${p.name}`, ' A package made by the repro-image tests.'].join('\n');
  writeFileSync(join(root, 'DEBIAN/control'), `${control}\n`);
  if (p.conffiles) writeFileSync(join(root, 'DEBIAN/conffiles'), p.conffiles.map((c) => `${c}\n`).join(''));
  if (p.postinst) {
    writeFileSync(join(root, 'DEBIAN/postinst'), p.postinst);
    chmodSync(join(root, 'DEBIAN/postinst'), 0o755);
  }
  const md5: string[] = [];
  for (const [path, spec] of Object.entries(p.files).sort()) {
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
}

/** Writes a signed repository (dists/SUITE and its pool) into `repo`, building the packages under `work`. */
export function writeRepo(repo: string, work: string, packages: TestPackage[], signer: { home: string }, opts: RepoOptions = {}): void {
  const suite = opts.suite ?? 'testing';
  const poolPath = opts.pool ?? 'pool/main';
  const pool = join(repo, poolPath);
  mkdirSync(pool, { recursive: true });
  const paragraphs: string[] = [];
  for (const p of packages) {
    const file = `${p.name}_${p.version}_amd64.deb`;
    buildDeb(work, p, join(pool, file));
    const deb = readFileSync(join(pool, file));
    const control = execFileSync('dpkg-deb', ['--field', join(pool, file)], { encoding: 'utf8' }).trimEnd();
    paragraphs.push(`${control}\nFilename: ${poolPath}/${file}\nSize: ${deb.length}\nSHA256: ${createHash('sha256').update(deb).digest('hex')}\n`);
  }
  const dists = join(repo, 'dists', suite);
  mkdirSync(join(dists, 'main/binary-amd64'), { recursive: true });
  const packagesText = Buffer.from(paragraphs.join('\n'));
  const gz = gzipSync(packagesText);
  writeFileSync(join(dists, 'main/binary-amd64/Packages'), packagesText);
  writeFileSync(join(dists, 'main/binary-amd64/Packages.gz'), gz);
  const line = (b: Buffer, path: string): string => ` ${createHash('sha256').update(b).digest('hex')} ${b.length} ${path}`;
  const release = ['Origin: repro-image tests', `Suite: ${suite}`, `Codename: ${suite}`, `Date: ${opts.date ?? REPO_DATE}`, 'Architectures: amd64', 'Components: main',
    'SHA256:', line(packagesText, 'main/binary-amd64/Packages'), line(gz, 'main/binary-amd64/Packages.gz')].join('\n');
  writeFileSync(join(dists, 'Release'), `${release}\n`);
  execFileSync('gpg', ['--batch', '--quiet', '--yes', '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')], { env: { ...process.env, GNUPGHOME: signer.home } });
}

export async function makeRepo(dir: string, packages: TestPackage[], signer: { home: string }): Promise<Repo> {
  const repo = join(dir, 'repo');
  writeRepo(repo, join(dir, 'pkgsrc'), packages, signer);
  const served = await serveDirectory(repo, '/debian');
  return { url: served.url, dir: repo, server: served.server, overrides: served.overrides, close: served.close };
}
