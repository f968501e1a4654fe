#!/usr/bin/env node
// make-arch-repo DIR [PACKAGES]: a signed pacman repository for bench/arch-image, made with the
// test helpers (our package writer, repo-add, gpg): PACKAGES packages (default 40) in a dependency
// chain with a provider, about 60 files each (text-like content, 2 KiB to 64 KiB, deterministic),
// split over core (signatures in the database) and extra (.sig files). Writes DIR/image.yaml (a
// spec naming the leaf package, mirror file://, keyring), DIR/pacman.conf and DIR/pacman-gpg (a
// pacman gpg directory trusting the key), and prints the names of the spec's packages.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dir, countArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: make-arch-repo DIR [PACKAGES]');
const { makeArchRepo, makeKey, SNAPSHOT } = await import(new URL('../dist/test/helpers/arch-repo.js', import.meta.url).href);
const count = Number(countArg ?? 40);

let seed = 12345;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const text = (size, tag) => {
  const lines = [];
  for (let n = 0, len = 0; len < size; n++) {
    lines.push(`${tag} line ${n} value ${rand(1e9)} ${'x'.repeat(rand(60))}`);
    len += lines.at(-1).length + 1;
  }
  return `${lines.join('\n').slice(0, size)}\n`;
};

const packages = [];
for (let i = 0; i < count; i++) {
  const name = `benchpkg${String(i).padStart(3, '0')}`;
  const files = {};
  for (let f = 0; f < 60; f++) {
    const path = f % 10 === 0 ? `usr/bin/${name}-tool${f}` : `usr/share/${name}/data/${f % 7}/file${f}.txt`;
    files[path] = f % 10 === 0 ? { data: text(2048 + rand(8192), name), mode: 0o755 } : text(2048 + rand(62 * 1024), `${name}/${f}`);
  }
  files[`etc/${name}.conf`] = `${name}=1\n`;
  const depends = i === 0 ? ['sh'] : [`benchpkg${String(i - 1).padStart(3, '0')}>=1.0`];
  if (i % 5 === 4) depends.push(`libbench.so=${i % 3}-64`);
  packages.push({
    name, version: `1.${i}-1`, depends, backup: [`etc/${name}.conf`], files,
    provides: i % 5 === 3 ? [`libbench.so=${(i + 1) % 3}-64`] : [], compression: i % 4 === 0 ? 'xz' : 'zst',
  });
}
packages.push({ name: 'benchsh', version: '5.2-1', provides: ['sh'], files: { 'usr/bin/benchsh': { data: '#!benchsh\n', mode: 0o755 }, 'usr/bin/sh': { link: 'benchsh' } } });

mkdirSync(dir, { recursive: true });
const signer = makeKey(dir, 'bench');
const half = Math.ceil(packages.length / 2);
const repo = await makeArchRepo(dir, [
  { name: 'core', packages: packages.slice(0, half), signatures: 'database' },
  { name: 'extra', packages: packages.slice(half), signatures: 'file', db: 'zst' },
], signer);
await repo.close();

const snapshot = pathToFileURL(repo.dir).href;
const leaf = packages[count - 1].name;
writeFileSync(join(dir, 'image.yaml'), `name: arch-bench\nsource:\n  distro: arch\n  snapshot: ${SNAPSHOT}\n  mirrors: ["${snapshot}"]\n  keyring: ${signer.keyring}\npackages: [${leaf}]\n`);
writeFileSync(join(dir, 'pacman.conf'), `[options]\nArchitecture = x86_64\nSigLevel = Required DatabaseOptional\n[core]\nServer = ${snapshot}/$repo/os/$arch\n[extra]\nServer = ${snapshot}/$repo/os/$arch\n`);
const gpg = join(dir, 'pacman-gpg');
mkdirSync(gpg, { recursive: true, mode: 0o700 });
const env = { ...process.env, GNUPGHOME: gpg };
execFileSync('gpg', ['--batch', '--quiet', '--import', signer.keyring], { env, stdio: 'pipe' });
const fpr = execFileSync('gpg', ['--batch', '--with-colons', '--list-keys'], { env, encoding: 'utf8' }).split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
execFileSync('gpg', ['--batch', '--quiet', '--import-ownertrust'], { env, input: `${fpr}:6:\n`, stdio: ['pipe', 'pipe', 'pipe'] });
for (const k of ['bench']) execFileSync('gpgconf', ['--homedir', join(dir, `gnupg-${k}`), '--kill', 'gpg-agent']);
execFileSync('gpgconf', ['--homedir', gpg, '--kill', 'gpg-agent']);
console.log(leaf);
