/**
 * The SBOM of the real-mirror example's committed lock (examples/debian-minimal: 15 bookworm
 * packages pinned by SHA-256): golden digests for both formats, read back by the formats' own
 * validators. Nothing is downloaded: a lock's SBOM is made from the lock alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';
import { checkPurlsAndLicenses, cyclonedxLibraryErrors, cyclonedxSchemaErrors, pyspdxtools } from '../helpers/sbom-check.js';

const SPEC = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/debian-minimal/image.yaml');
const golden = readGolden('sbom.json') as Record<string, string>;

test('the example lock\'s SBOMs have their golden digests and validate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sbom-example-'));
  try {
    const lock = JSON.parse(readFileSync(join(dirname(SPEC), 'image.lock.json'), 'utf8')) as { packages: Array<{ name: string; version: string; sha256: string }> };
    for (const format of ['spdx-json', 'cyclonedx-json'] as const) {
      const file = join(dir, `example.${format}.json`);
      const r = runCli(['sbom', SPEC, '--format', format, '--output', file], { env: { SOURCE_DATE_EPOCH: undefined } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), golden[`debian-example-lock-${format}`], `${format} golden digest`);
      const text = readFileSync(file, 'utf8');
      if (format === 'spdx-json') {
        const py = pyspdxtools(file);
        assert.equal(py.status, 0, py.output);
        assert.equal(py.output.trim(), '');
        const d = JSON.parse(text) as { packages: Array<{ name: string; checksums?: Array<{ checksumValue: string }> }> };
        for (const p of lock.packages) assert.equal(d.packages.find((x) => x.name === p.name)?.checksums?.[0]?.checksumValue, p.sha256, p.name);
      } else {
        const d = JSON.parse(text) as { components: Array<{ purl: string; name: string; version: string }> };
        assert.deepEqual(cyclonedxSchemaErrors(d), []);
        assert.equal(await cyclonedxLibraryErrors(text), null);
        checkPurlsAndLicenses(d.components.map((c) => c.purl), []);
        assert.deepEqual(d.components.map((c) => `${c.name}=${c.version}`), lock.packages.map((p) => `${p.name}=${p.version}`).sort());
        assert.ok(d.components.every((c) => c.purl.includes('distro=bookworm')));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
