/**
 * Errors speak the caller's language, and the library's boundary checks what untyped callers pass:
 * a message names the library option (`platform`), the CLI's rendering names the flag
 * (`--platform`); a bad platform, compression, pass list or epoch is a ReproError before anything
 * is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReproError, option } from '../../src/model/errors.js';
import { checkPlatform, parsePlatform, toPlatform } from '../../src/model/platform.js';
import { buildRootfs } from '../../src/pipeline/rootfs.js';
import { flagFor, cliMessage } from '../../src/cli/common.js';
import { sourceDateEpochFromEnv } from '../../src/pipeline/epoch.js';

test('a message names the option for library callers and the flag for the CLI', () => {
  const e = new ReproError('E_USAGE', `${option('maxContentDiff')}: too small; or set ${option('registry.insecure')}`);
  assert.equal(e.message, 'maxContentDiff: too small; or set registry.insecure');
  assert.equal(cliMessage(e), '--max-content-diff: too small; or set --tls-verify=false');
  assert.equal(flagFor('sourceDateEpoch'), '--source-date-epoch');
  assert.equal(flagFor('rebuilders'), '--rebuilder URL');
});

test('platforms: strings and objects checked the same way', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(toPlatform({ os: 'linux', architecture: 'amd64' }), { os: 'linux', architecture: 'amd64' });
  for (const bad of ['linux', { os: 'linux' }, { os: 'Linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64', variant: 7 }, null, 42]) {
    assert.throws(() => toPlatform(bad), (e: unknown) => e instanceof ReproError && e.code === 'E_USAGE' && /^platform: expected/.test(e.message), JSON.stringify(bad));
  }
  assert.throws(() => checkPlatform('linux/amd64'), /platform: expected \{ os, architecture/);
});

test('SOURCE_DATE_EPOCH: read from an environment only when the caller passes one', () => {
  assert.equal(sourceDateEpochFromEnv({}), undefined);
  assert.equal(sourceDateEpochFromEnv({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
  assert.throws(() => sourceDateEpochFromEnv({ SOURCE_DATE_EPOCH: '1.5' }), /environment variable SOURCE_DATE_EPOCH: SOURCE_DATE_EPOCH must be a whole number/);
});

test('the library refuses bad options before writing anything, naming the option', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'boundary-'));
  try {
    mkdirSync(join(dir, 'rootfs'));
    writeFileSync(join(dir, 'rootfs', 'f'), 'x');
    const out = join(dir, 'out');
    const base = { rootfs: join(dir, 'rootfs'), output: `oci:${out}`, sourceDateEpoch: 1700000000 };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ platform: { os: 'linux' } }, /^platform: expected/],
      [{ platform: 'linux/amd64' }, /^platform: expected/],
      [{ compression: 'lz4' }, /^compression: expected gzip, zstd or none/],
      [{ normalize: ['clamp-mtime', 'nonsense'] }, /^normalize: unknown pass "nonsense"/],
      [{ sourceDateEpoch: 1.5 }, /^sourceDateEpoch: expected a whole number/],
      [{ sourceDateEpoch: -1 }, /^sourceDateEpoch: expected a whole number/],
      [{ config: { Env: ['NOEQUALS'] } }, /^config\.Env: "NOEQUALS": expected KEY=VALUE/],
      [{ annotations: { a: 1 } }, /^annotations: expected an object of string values/],
      [{ output: 'nowhere' }, /^output "nowhere": expected oci:DIR/],
    ];
    for (const [over, re] of cases) {
      await assert.rejects(buildRootfs({ ...base, ...over } as Parameters<typeof buildRootfs>[0]), (e: unknown) => e instanceof ReproError && e.exitCode === 2 && re.test(e.message), JSON.stringify(over));
      assert.equal(existsSync(out), false, JSON.stringify(over));
    }
    // A directory needs a time; the message names the option (the CLI names --source-date-epoch).
    await assert.rejects(buildRootfs({ rootfs: join(dir, 'rootfs'), output: `oci:${out}` }), /rootfs .* is a directory: .* or pass sourceDateEpoch N/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
