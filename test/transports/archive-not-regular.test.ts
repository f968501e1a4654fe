/**
 * oci-archive: and docker-archive: read a regular file only. A FIFO blocked the open for ever (not
 * even SIGTERM ended the process), /dev/zero was read for ever, a pipe (<(cat a.tar)) failed with
 * "ESPIPE: invalid seek" (exit 3).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tempDir } from './registry/harness.js';

let work: string;
before(() => { work = tempDir('repro-archive-fifo-'); });
after(() => rmSync(work, { recursive: true, force: true }));

test('a FIFO or a device as an archive is exit 2 at once, naming it', () => {
  const fifo = join(work, 'a.tar');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const link = join(work, 'link.tar');
  symlinkSync(fifo, link);
  mkdirSync(join(work, 'out'));
  for (const ref of [`oci-archive:${fifo}`, `docker-archive:${fifo}`, `oci-archive:${link}`, 'docker-archive:/dev/zero']) {
    const r = runCli(['inspect', ref], { timeout: 20000 });
    assert.equal(r.status, 2, `${ref}: exit ${r.status}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /: not a regular file \(an archive is read where its members lie; save it to a file first\)$/);
  }
});
