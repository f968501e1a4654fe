/**
 * The Debian image another tool built, for the audit's tests: `mmdebstrap --variant=minbase
 * bookworm` (Debian's mmdebstrap, from this host's apt sources) into a tarball, made once and kept
 * in the user's cache directory (mmdebstrap needs root and the mirror), with every mtime clamped
 * to MINBASE_EPOCH.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** SOURCE_DATE_EPOCH of the tarball (and of the tests' builds from it). */
export const MINBASE_EPOCH = '1700000000';

function cacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'repro-image', 'test');
}

/** The host's apt sources as mmdebstrap MIRROR arguments (deb822 files, else `deb` lines). */
function aptSources(): string[] {
  const d = '/etc/apt/sources.list.d';
  const files = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.sources')).sort().map((f) => join(d, f)) : [];
  if (files.length > 0) return files;
  const list = spawnSync('sh', ['-c', "grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list | sed -E 's/^[[:space:]]+//'"], { encoding: 'utf8' });
  return list.stdout.split('\n').filter((l) => l !== '');
}

/** The minbase tarball's path, made first when the cache does not have it. */
export function minbaseTarball(): string {
  const dir = cacheDir();
  const tarball = join(dir, `mmdebstrap-minbase-bookworm-${MINBASE_EPOCH}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(dir, { recursive: true });
  const tmp = `${tarball}.${process.pid}.tmp.tar`;
  const r = spawnSync('mmdebstrap', ['--quiet', '--variant=minbase', '--mode=root', 'bookworm', tmp, ...aptSources()], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: MINBASE_EPOCH } });
  assert.equal(r.status, 0, `mmdebstrap (Debian package mmdebstrap, installed by .ci/run; needs root and the mirror): ${r.stderr}`);
  renameSync(tmp, tarball);
  return tarball;
}
