import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostAptSources } from '../../../src/sources/debian/mirrors.js';
import { ReproError } from '../../../src/model/errors.js';

test('host apt sources: absent files are no sources; a present but unreadable one is an error, not a mirror left out', () => {
  const etc = mkdtempSync(join(tmpdir(), 'apt-'));
  try {
    assert.deepEqual(hostAptSources(etc), []);
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\nComponents: main\n');
    writeFileSync(join(etc, 'sources.list.d', 'old.list.disabled'), 'deb http://ignored.test/debian bookworm main\n');
    assert.deepEqual(hostAptSources(etc), [{ uri: 'http://mirror.test/debian', suites: ['bookworm'] }]);
    // A folder where sources.list should be (EISDIR): before, silently no sources from it.
    mkdirSync(join(etc, 'sources.list'));
    assert.throws(() => hostAptSources(etc), (e: unknown) => e instanceof ReproError && e.message === `cannot read the apt sources ${join(etc, 'sources.list')}: is a directory`);
    rmSync(join(etc, 'sources.list'), { recursive: true });
    // A file where the folder sources.list.d should be (ENOTDIR) holds no sources.
    rmSync(join(etc, 'sources.list.d'), { recursive: true });
    writeFileSync(join(etc, 'sources.list.d'), '');
    writeFileSync(join(etc, 'sources.list'), 'deb http://one.test/debian trixie main\n');
    assert.deepEqual(hostAptSources(etc), [{ uri: 'http://one.test/debian', suites: ['trixie'] }]);
  } finally {
    rmSync(etc, { recursive: true, force: true });
  }
});
