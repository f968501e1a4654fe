/**
 * End to end: the example image, unpacked by umoci, runs under runc and prints its greeting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli } from '../helpers/cli.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root: the compiled test lives in dist/test/tools/. */
const ROOT = join(here, '../../..');

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', tool]).status === 0;
}

test('the example image runs under runc and prints its greeting', async (t) => {
  const missing = ['umoci', 'runc'].filter((tool) => !have(tool));
  if (missing.length > 0) { t.skip(`${missing.join(', ')} not installed`); return; }
  const mod = await import(pathToFileURL(join(ROOT, 'examples/hello/make-rootfs.mjs')).href) as { makeRootfs(d: string): void; GREETING: string };
  const dir = mkdtempSync(join(tmpdir(), 'repro-runc-'));
  const id = `repro-image-test-${process.pid}-${Date.now()}`;
  try {
    const rootfs = join(dir, 'rootfs');
    mod.makeRootfs(rootfs);
    const img = join(dir, 'img');
    const b = runCli(['build', '--rootfs', rootfs, '--output', `oci:${img}:hello`, '--source-date-epoch', '1700000000',
      '--entrypoint', '["/usr/bin/hello"]', '--env', 'PATH=/usr/bin']);
    assert.equal(b.status, 0, b.stderr);
    const bundle = join(dir, 'bundle');
    const u = spawnSync('umoci', ['unpack', '--image', `${img}:hello`, bundle], { encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);

    const configPath = join(bundle, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { process: { terminal?: boolean; args?: string[]; env?: string[] } };
    assert.deepEqual(config.process.args, ['/usr/bin/hello']);
    assert.ok(config.process.env?.includes('PATH=/usr/bin'), JSON.stringify(config.process.env));
    // The only change runc needs here: no terminal, so that stdout is a plain pipe.
    config.process.terminal = false;
    writeFileSync(configPath, JSON.stringify(config));

    const r = spawnSync('runc', ['run', '--bundle', bundle, id], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    assert.equal(r.error, undefined, String(r.error));
    assert.equal(r.status, 0, `runc run: ${r.stderr}`);
    assert.equal(r.stdout, mod.GREETING);
  } finally {
    spawnSync('runc', ['delete', '-f', id], { encoding: 'utf8', timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});
