/**
 * Issue 13, items 3, 12 and 13, for specs: a spec copies into the image only what is inside its
 * folder (no absolute `src`, no `..` out of it, no symlink out of it); a YAML alias bomb and an
 * oversized spec (or disk definition) are exit 2 with one line naming the file, fast, instead of an
 * internal error (exit 3, a stack trace) or V8 running out of heap after 100 s.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReproError } from '../../src/model/errors.js';
import { loadDiskSpec } from '../../src/spec/disk-load.js';
import { MAX_SPEC_BYTES, loadSpec, parseSpec } from '../../src/spec/load.js';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo } from '../helpers/debian-repo.js';

let dir: string;
let repo: Repo;
let source: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-spec-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, [{ name: 'base', version: '1.0', fields: { Priority: 'required' }, files: { '/etc/base': 'base\n' } }], signer);
  source = `source: {distro: debian, suite: testing, mirrors: ["${repo.url}"], keyring: ${signer.keyring}}`;
  writeFileSync(join(dir, 'host-secret'), 'host secret\n');
});

after(async () => {
  await repo.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

const BASE = 'name: x\nsource: {distro: debian, suite: testing}\n';

const specError = (re: RegExp) => (e: unknown): boolean => e instanceof ReproError && e.code === 'E_SPEC' && e.exitCode === 2 && re.test(e.message);

test('item 3: files[].src that is absolute or climbs out of the spec folder is refused, naming the field', () => {
  assert.throws(() => parseSpec(`${BASE}files:\n  - {src: ok, dest: /ok}\n  - {src: /etc/shadow, dest: /x}\n`, 'image.yaml'),
    specError(/^image\.yaml:5:11: files\[1\]\.src: a path relative to the spec folder, not an absolute one$/));
  assert.throws(() => parseSpec(`${BASE}files:\n  - {src: ../../../../etc/shadow, dest: /x}\n`, 'image.yaml'),
    specError(/image\.yaml:4:11: files\[0\]\.src: a path inside the spec folder \(".+", climbing out of it, is refused\)$/));
  assert.throws(() => parseSpec(`${BASE}files:\n  - {src: a/../../b, dest: /x}\n`, 'image.yaml'), specError(/files\[0\]\.src: a path inside the spec folder/));
  // Inside it, `..` is fine.
  assert.equal(parseSpec(`${BASE}files:\n  - {src: a/../b, dest: /x}\n`, 'image.yaml').files[0]!.src, 'a/../b');
});

test('item 3: a files[].src symlink out of the spec folder is refused (exit 2, one line naming files[N].src)', async () => {
  const specDir = join(dir, 'escape');
  mkdirSync(join(specDir, 'tree'), { recursive: true });
  writeFileSync(join(specDir, 'motd'), 'motd\n');
  symlinkSync(join(dir, 'host-secret'), join(specDir, 'secret'));
  symlinkSync('../..', join(specDir, 'tree', 'up'));
  const env = { XDG_CACHE_HOME: join(dir, 'cache'), SOURCE_DATE_EPOCH: undefined };
  const cases: Array<[string, RegExp]> = [
    ['secret', /image-0\.yaml: files\[1\]\.src: "secret" leads outside the spec folder through a symlink$/],
    ['tree/up/host-secret', /image-1\.yaml: files\[1\]\.src: "tree\/up\/host-secret" leads outside the spec folder through a symlink$/],
  ];
  for (const [i, [src, re]] of cases.entries()) {
    const spec = join(specDir, `image-${i}.yaml`);
    writeFileSync(spec, `name: escape\n${source}\npackages: [base]\nfiles:\n  - {src: motd, dest: /etc/motd}\n  - {src: ${src}, dest: /etc/stolen}\n`);
    const l = await runCliAsync(['lock', spec], { env });
    assert.equal(l.status, 0, l.stderr);
    const b = await runCliAsync(['build', spec, '--output', `oci:${join(dir, `escape-out-${i}`)}:t`], { env });
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr.trim(), re);
    assert.equal(b.stderr.trim().split('\n').length, 1, b.stderr);
  }
  // A symlink that stays inside the folder is fine.
  symlinkSync('motd', join(specDir, 'motd-link'));
  const spec = join(specDir, 'image-ok.yaml');
  writeFileSync(spec, `name: escape\n${source}\npackages: [base]\nfiles:\n  - {src: motd-link, dest: /etc/motd}\n`);
  assert.equal((await runCliAsync(['lock', spec], { env })).status, 0);
  const b = await runCliAsync(['build', spec, '--output', `oci:${join(dir, 'escape-ok')}:t`], { env });
  assert.equal(b.status, 0, b.stderr);
});

test('item 3: the lock beside a spec is read only inside its folder, and never quoted', () => {
  const specDir = join(dir, 'lock-escape');
  mkdirSync(specDir);
  const secret = join(dir, 'lock-secret');
  writeFileSync(secret, 'root:$6$secrethash:19000:0:99999:7:::\n');
  const spec = join(specDir, 'image.yaml');
  writeFileSync(spec, `name: escape\n${source}\npackages: [base]\n`);
  symlinkSync(secret, join(specDir, 'image.lock.json'));
  const b = runCli(['build', spec, '--offline', '--output', `oci:${join(dir, 'lock-escape-out')}:t`], { env: { XDG_CACHE_HOME: join(dir, 'cache') } });
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /^repro-image: .*image\.lock\.json: "image\.lock\.json" leads outside the spec folder through a symlink\n$/);
  // Inside the folder and not JSON: where, never what.
  rmSync(join(specDir, 'image.lock.json'));
  writeFileSync(join(specDir, 'image.lock.json'), 'root:$6$secrethash:19000:0:99999:7:::\n');
  const c = runCli(['build', spec, '--offline', '--output', `oci:${join(dir, 'lock-escape-out')}:t`], { env: { XDG_CACHE_HOME: join(dir, 'cache') } });
  assert.equal(c.status, 2, c.stderr);
  assert.match(c.stderr, /image\.lock\.json: invalid JSON/);
  assert.doesNotMatch(c.stderr, /secrethash|root:/);
});

const BOMB = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]', 'f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]'].join('\n');

test('item 12: a YAML alias bomb in a spec is exit 2 with one line, not an internal error', () => {
  const spec = join(dir, 'bomb.yaml');
  writeFileSync(spec, `${BASE}${BOMB}\n`);
  const r = runCli(['lock', spec]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: .*bomb\.yaml: its YAML aliases expand too much \(more than 100 alias expansions: an alias bomb\?\)\n$/);
  // A few aliases are fine.
  assert.deepEqual(parseSpec(`${BASE}packages: &p [a1, b1]\nconfig: {labels: {x: y}}\n`, 's').packages, ['a1', 'b1']);
  // The disk definition (build --rootfs --disk FILE) reads YAML too.
  const disk = join(dir, 'bomb-disk.yaml');
  writeFileSync(disk, `${BOMB}\nseed: 01234567-89ab-cdef-0123-456789abcdef\npartitions: [{type: root, format: ext4, contents: /}]\n`);
  assert.throws(() => loadDiskSpec(disk), specError(/bomb-disk\.yaml: its YAML aliases expand too much/));
});

test('item 12: a spec nested too deeply for the stack is exit 2 with one line (a guard: the yaml library reports it)', () => {
  const spec = join(dir, 'deep.yaml');
  writeFileSync(spec, `${BASE}x: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`);
  const r = runCli(['lock', spec]);
  assert.equal(r.status, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n {4}at /);
});

test('item 13: a spec larger than 4 MiB is refused unread: exit 2 naming the file, in well under a second', () => {
  const spec = join(dir, 'huge.yaml');
  writeFileSync(spec, `${BASE}${'# padding padding padding padding padding padding padding\n'.repeat(Math.ceil((MAX_SPEC_BYTES + 1) / 58))}`);
  const t0 = process.hrtime.bigint();
  const r = runCli(['lock', spec]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^repro-image: .*huge\.yaml: the spec is larger than 4 MiB, the most accepted\n$/);
  assert.ok(ms < 5000, `took ${ms} ms`);
  // A device is refused unread: /dev/zero would never end.
  assert.throws(() => loadSpec('/dev/zero'), specError(/^\/dev\/zero: a character device, not a regular file$/));
  assert.throws(() => loadDiskSpec('/dev/zero'), specError(/^\/dev\/zero: a character device, not a regular file$/));
  // Exactly at the limit is read (and then judged as YAML).
  const edge = join(dir, 'edge.yaml');
  const head = `${BASE}packages: [base]\n`;
  writeFileSync(edge, `${head}${'#'.repeat(MAX_SPEC_BYTES - head.length - 1)}\n`);
  assert.equal(loadSpec(edge).spec.packages[0], 'base');
});

test('a spec or a lock that is a FIFO is refused at once, exit 2 naming it (was: the open waited for a writer for ever, deaf to SIGTERM)', () => {
  const d = mkdtempSync(join(dir, 'fifo-'));
  const fifo = join(d, 'image.yaml');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const r = runCli(['lock', fifo], { timeout: 20_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `repro-image: ${fifo}: a FIFO, not a regular file\n`);
  // A spec beside a lock that is a FIFO.
  const d2 = mkdtempSync(join(dir, 'fifo-lock-'));
  writeFileSync(join(d2, 'image.yaml'), `${BASE}packages: [hello]\n`);
  assert.equal(spawnSync('mkfifo', [join(d2, 'image.lock.json')]).status, 0);
  const b = runCli(['build', join(d2, 'image.yaml'), '--offline', '--output', `oci:${join(d2, 'out')}:t`], { timeout: 20_000 });
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /image\.lock\.json: the lock is not a regular file\n$/);
});
