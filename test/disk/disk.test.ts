/**
 * Whole disks from the CLI: the fixture disk (every partition format) has golden digests and the
 * same bytes under another temp dir, umask, TZ and thread pool size; sfdisk and sgdisk find the
 * table clean and the UUIDs are systemd-repart's (and the host's systemd-repart agrees); every
 * file system passes its own checker; veritysetup accepts our root hash and refuses the data
 * after one flipped byte.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_EPOCH, makeFixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { readGolden } from '../helpers/golden.js';
import { extract, FIXTURE_DISK_YAML, FIXTURE_SEED, have, run } from '../helpers/disk.js';
import { FileSource } from '../../src/disk/io.js';
import { readGpt } from '../../src/disk/gpt.js';

interface Result { disk: { sha256: string; size: number; diskGuid: string; partitions: Array<{ number: number; type: string; label: string; uuid: string; offset: number; size: number; format: string; rootHash?: string; fsUuid?: string; volumeId?: string; flags: string }> } }

let work: string;
let rootfs: string;
let diskYaml: string;
let first: Result;
let raw: string;
const golden = readGolden('disk-fixture.json') as { sha256: string; diskGuid: string; partitions: Array<{ label: string; uuid: string }>; rootHash: string };

function build(out: string, env: NodeJS.ProcessEnv = {}, umask?: string): Result {
  const r = runCli(['build', '--rootfs', rootfs, '--disk', diskYaml, '--output', `disk:${out}`, '--json'], { env: { SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH), ...env }, ...(umask ? { umask } : {}) });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Result;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'disk-'));
  rootfs = join(work, 'rootfs');
  await makeFixture(rootfs);
  diskYaml = join(work, 'disk.yaml');
  writeFileSync(diskYaml, FIXTURE_DISK_YAML);
  raw = join(work, 'fixture.raw');
  first = build(raw);
});
after(() => rmSync(work, { recursive: true, force: true }));

test('golden digests of the fixture disk: the raw file, the GUIDs, the verity root hash', () => {
  const d = first.disk;
  assert.equal(d.sha256, golden.sha256);
  assert.equal(d.diskGuid, golden.diskGuid);
  assert.deepEqual(d.partitions.map((p) => ({ label: p.label, uuid: p.uuid })), golden.partitions);
  assert.equal(d.partitions.find((p) => p.format === 'verity')?.rootHash, golden.rootHash);
  assert.deepEqual(d.partitions.map((p) => p.format), ['vfat', 'ext4', 'erofs', 'verity', 'none']);
  // The digest printed is the file's (holes hashed as zeros without being read: the same thing).
  assert.equal(`sha256:${createHash('sha256').update(readFileSync(raw)).digest('hex')}`, d.sha256);
  assert.equal(statSync(raw).size, d.size);
});

test('the same bytes under another temp dir, umask, TZ, locale and thread pool size', () => {
  const other = join(work, 'elsewhere');
  mkdirSync(other);
  const out = join(work, 'again.raw');
  const r = build(out, { TMPDIR: other, TZ: 'Pacific/Kiritimati', LANG: 'de_DE.UTF-8', LC_ALL: 'tr_TR.UTF-8', UV_THREADPOOL_SIZE: '1' }, '077');
  assert.equal(r.disk.sha256, first.disk.sha256);
  const r2 = build(join(work, 'again2.raw'), { UV_THREADPOOL_SIZE: '16', TZ: 'America/St_Johns' }, '002');
  assert.equal(r2.disk.sha256, first.disk.sha256);
});

test('sfdisk --verify and sgdisk -v are clean; the table holds the derived UUIDs, labels and flags', (t) => {
  if (!have('sfdisk') || !have('sgdisk')) { t.skip('fdisk or gdisk not installed'); return; }
  const v = run('sfdisk', ['--verify', raw]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /No errors detected/);
  const g = run('sgdisk', ['-v', raw]);
  assert.equal(g.status, 0, g.stdout + g.stderr);
  assert.match(g.stdout, /No problems found/);
  const j = JSON.parse(run('sfdisk', ['-J', raw]).stdout) as { partitiontable: { id: string; partitions: Array<{ uuid: string; name: string; start: number; size: number; attrs?: string }> } };
  assert.equal(j.partitiontable.id.toLowerCase(), first.disk.diskGuid);
  j.partitiontable.partitions.forEach((p, i) => {
    const ours = first.disk.partitions[i]!;
    assert.equal(p.uuid.toLowerCase(), ours.uuid);
    assert.equal(p.name, ours.label);
    assert.equal(p.start * 512, ours.offset);
    assert.equal(p.start % 2048, 0, 'MiB aligned');
  });
  assert.deepEqual(j.partitiontable.partitions.map((p) => p.attrs ?? ''), ['', 'GUID:59', 'GUID:60', 'GUID:60', '']);
});

test("the host's systemd-repart derives the same disk GUID, partition UUIDs and labels from the seed", (t) => {
  if (!have('systemd-repart')) { t.skip('systemd-repart not installed'); return; }
  const defs = join(work, 'repart.d');
  mkdirSync(defs);
  // Sizes fixed, no file systems: what repart derives does not depend on content (verity aside).
  const parts: Array<[string, string]> = [['esp', '3M'], ['root', '8M'], ['usr', '4M'], ['swap', '1M'], ['root', '1M']];
  parts.forEach(([type, size], i) => writeFileSync(join(defs, `${10 + i}-${type}.conf`), `[Partition]\nType=${type}\nSizeMinBytes=${size}\nSizeMaxBytes=${size}\n`));
  const img = join(work, 'repart.raw');
  const r = run('systemd-repart', ['--empty=create', '--size=32M', `--seed=${FIXTURE_SEED}`, `--definitions=${defs}`, '--dry-run=no', '--json=short', img]);
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout.trim().split('\n').pop()!) as Array<{ label: string; uuid: string }>;
  const yamlOurs = join(work, 'same.yaml');
  writeFileSync(yamlOurs, `seed: ${FIXTURE_SEED}\npartitions:\n${parts.map(([type, size]) => `  - type: ${type}\n    size: ${size}\n`).join('')}`);
  const empty = join(work, 'empty-root');
  mkdirSync(empty);
  const ours = runCli(['build', '--rootfs', empty, '--disk', yamlOurs, '--output', `disk:${join(work, 'ours.raw')}`, '--json', '--source-date-epoch', '0']);
  assert.equal(ours.status, 0, ours.stderr);
  const o = JSON.parse(ours.stdout) as Result;
  assert.deepEqual(o.disk.partitions.map((p) => ({ label: p.label, uuid: p.uuid })), theirs.map((p) => ({ label: p.label, uuid: p.uuid })));
  const id = JSON.parse(run('sfdisk', ['-J', img]).stdout) as { partitiontable: { id: string } };
  assert.equal(id.partitiontable.id.toLowerCase(), o.disk.diskGuid);
});

test('each file system passes its own checker', (t) => {
  if (!have('e2fsck') || !have('fsck.erofs') || !have('fsck.vfat')) { t.skip('checkers not installed'); return; }
  const [esp, root, usr] = first.disk.partitions;
  const part = (p: typeof esp, name: string): string => {
    const f = join(work, name);
    extract(raw, p!.offset, p!.size, f);
    return f;
  };
  const e = run('e2fsck', ['-fn', part(root, 'root.ext4')]);
  assert.equal(e.status, 0, e.stdout + e.stderr);
  const x = run('fsck.erofs', [part(usr, 'usr.erofs')]);
  assert.equal(x.status, 0, x.stdout + x.stderr);
  const v = run('fsck.vfat', ['-n', part(esp, 'esp.vfat')]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('veritysetup verify accepts the root hash, and refuses the data after one flipped byte', (t) => {
  if (!have('veritysetup')) { t.skip('cryptsetup-bin not installed'); return; }
  const usr = first.disk.partitions[2]!;
  const hash = first.disk.partitions[3]!;
  const data = join(work, 'usr.data');
  const tree = join(work, 'usr.hash');
  extract(raw, usr.offset, usr.size, data);
  extract(raw, hash.offset, hash.size, tree);
  const ok = run('veritysetup', ['verify', data, tree, hash.rootHash!]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  // The verity UUIDs are the root hash's halves, as systemd-repart sets them.
  assert.equal(usr.uuid.replace(/-/g, ''), hash.rootHash!.slice(0, 32));
  assert.equal(hash.uuid.replace(/-/g, ''), hash.rootHash!.slice(32));
  const fd = openSync(data, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 5000);
  b[0] = b[0]! ^ 0x01;
  writeSync(fd, b, 0, 1, 5000);
  closeSync(fd);
  const bad = run('veritysetup', ['verify', data, tree, hash.rootHash!]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout + bad.stderr, /corrupted|Verification failed/i);
});

test('4096-byte sectors: the table, the FAT (4 KiB logical sectors) and ext4 check clean', (t) => {
  if (!have('e2fsck') || !have('fsck.vfat')) { t.skip('checkers not installed'); return; }
  const yaml4k = join(work, 'disk4k.yaml');
  writeFileSync(yaml4k, FIXTURE_DISK_YAML.replace('partitions:', 'sectorSize: 4096\npartitions:'));
  const out = join(work, '4k.raw');
  const r = runCli(['build', '--rootfs', rootfs, '--disk', yaml4k, '--output', `disk:${out}`, '--json', '--source-date-epoch', String(FIXTURE_EPOCH)]);
  assert.equal(r.status, 0, r.stderr);
  const d = (JSON.parse(r.stdout) as Result).disk;
  assert.equal(d.diskGuid, first.disk.diskGuid);
  const file = FileSource.open(out);
  const table = readGpt(file)!;
  file.close();
  assert.equal(table.sectorSize, 4096);
  assert.deepEqual(table.problems, []);
  assert.equal(table.firstUsableLba, 6);
  const [esp, root] = d.partitions;
  extract(out, esp!.offset, esp!.size, join(work, 'esp4k'));
  const v = run('fsck.vfat', ['-n', join(work, 'esp4k')]);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  extract(out, root!.offset, root!.size, join(work, 'root4k'));
  assert.equal(run('e2fsck', ['-fn', join(work, 'root4k')]).status, 0);
  // With a loop device of 4 KiB sectors (where the host allows one), sgdisk checks the table too.
  const loop = have('losetup') && have('sgdisk') ? run('losetup', ['-f', '--show', '-b', '4096', '-r', out]) : { status: 1, stdout: '' };
  if (loop.status === 0) {
    const dev = loop.stdout.trim();
    try {
      const g = run('sgdisk', ['-v', dev]);
      assert.match(g.stdout, /No problems found/, g.stdout + g.stderr);
    } finally {
      run('losetup', ['-d', dev]);
    }
  }
});
