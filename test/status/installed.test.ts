/**
 * The packages `status` asks rebuilderd about are read from the image's database as audit and
 * sbom read theirs: a dpkg status that is not a regular file is bad input naming it, not an image
 * without packages (which `status` would report as nothing to check).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imagePackages } from '../../src/status/installed.js';
import { parseImageRef } from '../../src/transports/reference.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'status-installed-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const STATUS = 'Package: foo\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nDescription: foo\n';

function imageWith(name: string, status: (path: string) => void): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'var/lib/dpkg'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/st'), STATUS);
  status(join(root, 'var/lib/dpkg/status'));
  const ref = `oci:${join(dir, `${name}-oci`)}:t`;
  const b = runCli(['build', '--rootfs', root, '--output', ref, '--source-date-epoch', '0', '--normalize', 'none', '--no-xattrs']);
  assert.equal(b.status, 0, b.stderr);
  return ref;
}

test('a dpkg status that is a symlink is exit 2 naming it (was: no packages); a regular one is read', async () => {
  const linked = imageWith('linked', (p) => symlinkSync('/etc/st', p));
  await assert.rejects(imagePackages(parseImageRef(linked)), (e: Error & { code?: string }) => e.code === 'E_BAD_INPUT'
    && e.message === 'var/lib/dpkg/status: a symlink to /etc/st; a package database file must be a regular file');
  const plain = imageWith('plain', (p) => writeFileSync(p, STATUS));
  assert.deepEqual((await imagePackages(parseImageRef(plain))).map((p) => `${p.name} ${p.version}`), ['foo 1.0']);
});
