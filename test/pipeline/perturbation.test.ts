import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixture, FIXTURE_EPOCH } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';

// Each case rebuilds the fixture (created now, so every mtime is above SOURCE_DATE_EPOCH) and
// changes one thing about the environment; every digest must equal the committed golden one.
const golden = readGolden('rootfs-fixture.json') as Record<string, string>;
let work: string;
before(() => { work = mkdtempSync(join(tmpdir(), 'perturb-')); });
after(() => rmSync(work, { recursive: true, force: true }));

interface Case { name: string; reverse?: boolean; env?: NodeJS.ProcessEnv; umask?: string; cwd?: boolean; args?: string[] }
const cases: Case[] = [
  { name: 'files created in reverse order', reverse: true },
  { name: 'umask 077', umask: '077' },
  { name: 'umask 000', umask: '000' },
  { name: 'TZ far from UTC', env: { TZ: 'Pacific/Kiritimati' } },
  { name: 'another LANG and LC_ALL', env: { LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' } },
  { name: 'another cwd', cwd: true },
  { name: 'another temp dir', env: { TMPDIR: '' } },
  { name: 'one libuv thread', env: { UV_THREADPOOL_SIZE: '1' } },
  { name: 'sixteen libuv threads', env: { UV_THREADPOOL_SIZE: '16' } },
  { name: 'pure-JS reference deflate', args: ['--deflate', 'reference'] },
];

for (const c of cases) {
  test(`identical digests: ${c.name}`, async () => {
    const dir = mkdtempSync(join(work, 'case-'));
    const rootfs = join(dir, 'rootfs');
    await makeFixture(rootfs, { reverse: c.reverse === true });
    const env: NodeJS.ProcessEnv = { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH), ...c.env };
    if (c.env?.['TMPDIR'] === '') {
      env['TMPDIR'] = join(dir, 'my tmp');
      mkdirSync(env['TMPDIR']);
    }
    const cwd = c.cwd ? join(dir) : undefined;
    for (const compression of c.args ? ['gzip'] : ['gzip', 'zstd']) {
      const out = join(dir, `out-${compression}`);
      const r = runCli(['build', '--rootfs', rootfs, '--output', `oci:${out}:x`, '--compression', compression, ...(c.args ?? [])],
        { env, ...(c.umask ? { umask: c.umask } : {}), ...(cwd ? { cwd } : {}) });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), golden[compression], `${c.name} (${compression})`);
    }
    rmSync(dir, { recursive: true, force: true });
  });
}

test('the oci-archive and docker-archive outputs are byte-reproducible files', async () => {
  const dir = mkdtempSync(join(work, 'arch-'));
  const rootfs = join(dir, 'rootfs');
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const hashes: string[][] = [];
  for (const reverse of [false, true]) {
    await makeFixture(rootfs, { reverse });
    const row: string[] = [];
    for (const t of ['oci-archive', 'docker-archive']) {
      const f = join(dir, `${t}-${reverse}.tar`);
      const r = runCli(['build', '--rootfs', rootfs, '--output', `${t}:${f}:${t === 'oci-archive' ? 'v1' : 'img:v1'}`], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH) } });
      assert.equal(r.status, 0, r.stderr);
      // A docker-archive keeps no manifest: its build prints the one its readers make up.
      if (t === 'oci-archive') assert.equal(r.stdout.trim(), golden['gzip']);
      else assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
      row.push(createHash('sha256').update(readFileSync(f)).digest('hex'), r.stdout.trim());
    }
    hashes.push(row);
  }
  assert.deepEqual(hashes[0], hashes[1]);
  rmSync(dir, { recursive: true, force: true });
});
