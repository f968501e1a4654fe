/**
 * Image-level differences, one per pair: compression only, layer count (flattened filesystems
 * with whiteouts), config fields, annotations, JSON encoding, platforms, transports; identical
 * pairs; what --semantic, --ignore and --ignore-path suppress.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diff } from '../../src/diff/image-diff.js';
import type { DiffResult } from '../../src/diff/types.js';
import { buildRootfs } from '../../src/pipeline/rootfs.js';
import { makeTar, type RawMember } from '../helpers/tar-maker.js';
import { runCli } from '../helpers/cli.js';
import { writeLayout, writeMultiPlatformLayout, type ImageSpec } from './images.js';

let work: string;
let n = 0;
before(() => { work = mkdtempSync(join(tmpdir(), 'diff-image-')); });
after(() => rmSync(work, { recursive: true, force: true }));

const dir = (): string => join(work, `l${n++}`);
const FILES: RawMember[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/a', data: 'a\n' },
  { name: 'etc/b', data: 'b\n' },
  { name: 'opt/', type: 'dir' },
  { name: 'opt/app/', type: 'dir' },
  { name: 'opt/app/x', data: 'x\n' },
  { name: 'opt/app/y', data: 'y\n' },
];
const tar = (members: RawMember[] = FILES): Buffer => makeTar(members);
const spec = (extra: Partial<ImageSpec> = {}): ImageSpec => ({ layers: [{ tar: tar() }], ...extra });
const seen = (r: DiffResult): string[][] => r.differences.map((d) => [d.location.level, d.location.path ?? '', d.field, d.finding]);

test('identical images exit 0 and report nothing', async () => {
  const a = writeLayout(dir(), spec());
  const b = writeLayout(dir(), spec());
  const r = await diff(a, b);
  assert.equal(r.identical, true);
  assert.deepEqual(r.differences, []);
  const cli = runCli(['diff', a, b]);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /^identical$/m);
});

test('compression only: "compression differs, content identical", no entries listed', async () => {
  const a = writeLayout(dir(), { layers: [{ tar: tar(), gzipLevel: 1 }] });
  const b = writeLayout(dir(), { layers: [{ tar: tar(), gzipLevel: 9 }] });
  const r = await diff(a, b);
  assert.deepEqual(seen(r), [['layer', '', 'compression', 'compression']]);
  assert.equal(r.findings[0]!.title, 'compression differs, content identical (1 layer)');
  assert.equal(r.a.entriesRead, 0);
});

test('different layer counts: flattened filesystems compared, whiteouts applied', async () => {
  const lower = tar();
  // B: the same files in two layers; the upper one deletes etc/b (whiteout) and adds etc/c.
  const upper = makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/.wh.b', data: '' }, { name: 'etc/c', data: 'c\n' }]);
  const a = writeLayout(dir(), spec());
  const b = writeLayout(dir(), { layers: [{ tar: lower }, { tar: upper }] });
  const r = await diff(a, b);
  assert.deepEqual(seen(r), [
    ['layers', '', 'layer-count', 'layer-count'],
    ['filesystem', 'etc/b', 'presence', 'removed'],
    ['filesystem', 'etc/c', 'presence', 'added'],
  ]);
});

test('an opaque whiteout empties its directory of what lower layers put there', async () => {
  const upper = makeTar([{ name: 'opt/app/', type: 'dir' }, { name: 'opt/app/.wh..wh..opq', data: '' }, { name: 'opt/app/y', data: 'y\n' }]);
  const r = await diff(writeLayout(dir(), spec()), writeLayout(dir(), { layers: [{ tar: tar() }, { tar: upper }] }));
  assert.deepEqual(seen(r), [
    ['layers', '', 'layer-count', 'layer-count'],
    ['filesystem', 'opt/app/x', 'presence', 'removed'],
  ]);
});

test('flattened comparison: content of a file replaced in an upper layer', async () => {
  const upper = makeTar([{ name: 'etc/', type: 'dir' }, { name: 'etc/a', data: 'A\n' }]);
  const r = await diff(writeLayout(dir(), spec()), writeLayout(dir(), { layers: [{ tar: tar() }, { tar: upper }] }));
  assert.deepEqual(seen(r), [['layers', '', 'layer-count', 'layer-count'], ['filesystem', 'etc/a', 'content', 'content']]);
  assert.match(r.differences[1]!.content!.diff ?? '', /^-a\n\+A$/m);
});

const CONFIG_CASES: Array<[string, Partial<ImageSpec>, string[][]]> = [
  ['runtime config Env', { config: { config: { Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'] } } }, [['config', '', 'config.config.Env[1]', 'runtime-config']]],
  ['created time', { created: '2024-01-01T00:00:00Z' }, [['config', '', 'config.created', 'created'], ['config', '', 'config.history[0].created', 'created']]],
  ['history', { config: { history: [{ created: '2023-11-14T22:13:20Z', created_by: 'other tool 2.0' }] } }, [['config', '', 'config.history[0].created_by', 'history']]],
  ['architecture', { platform: { os: 'linux', architecture: 'arm64' } }, [['index', '', 'descriptor.platform.architecture', 'platform'], ['config', '', 'config.architecture', 'platform']]],
  ['manifest annotation', { annotations: { 'org.example.revision': 'abc' } }, [['manifest', '', 'manifest.annotations["org.example.revision"]', 'annotations']]],
];

for (const [name, extra, expected] of CONFIG_CASES) {
  test(`one difference: ${name}`, async () => {
    const config = { config: { Env: ['PATH=/usr/bin'] } };
    const r = await diff(writeLayout(dir(), spec({ config })), writeLayout(dir(), spec({ ...extra, config: { ...config, ...extra.config } })));
    assert.deepEqual(seen(r), expected);
  });
}

test('config values: a JSON path per changed element', async () => {
  const r = await diff(
    writeLayout(dir(), spec({ config: { config: { Env: ['PATH=/usr/bin', 'A=1'], Labels: { 'org.x': '1' } } } })),
    writeLayout(dir(), spec({ config: { config: { Env: ['PATH=/usr/bin', 'A=2'], Labels: { 'org.x': '2' } } } })),
  );
  assert.deepEqual(r.differences.map((d) => [d.field, d.a, d.b]), [
    ['config.config.Env[1]', 'A=1', 'A=2'],
    ['config.config.Labels["org.x"]', '1', '2'],
  ]);
});

test('annotations: the image name (ref.name) and other annotations are told apart', async () => {
  const a = writeLayout(dir(), spec({ annotations: { 'org.opencontainers.image.created': '2023-11-14T22:13:20Z', 'org.example': 'x' } }), { tag: 'v1' });
  const b = writeLayout(dir(), spec({ annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example': 'y' } }), { tag: 'v2' });
  const r = await diff(a, b);
  assert.deepEqual(seen(r), [
    ['index', '', 'descriptor.annotations["org.opencontainers.image.ref.name"]', 'image-name'],
    ['manifest', '', 'manifest.annotations["org.example"]', 'annotations'],
    ['manifest', '', 'manifest.annotations["org.opencontainers.image.created"]', 'created'],
  ]);
  const s = await diff(a, b, { semantic: true });
  assert.deepEqual(seen(s), [['manifest', '', 'manifest.annotations["org.example"]', 'annotations']]);
});

test('JSON encoding: the same config values written differently', async () => {
  const a = writeLayout(dir(), spec());
  const b = dir();
  writeLayout(b, spec());
  // Re-write B's config pretty-printed and point the manifest and index at the new blobs.
  const blobs = join(b, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(b, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
  const mPath = join(blobs, index.manifests[0]!.digest.slice(7));
  const manifest = JSON.parse(readFileSync(mPath, 'utf8')) as { config: { digest: string; size: number } };
  const pretty = Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(blobs, manifest.config.digest.slice(7)), 'utf8')), null, 2));
  const { sha256 } = await import('../../src/model/digest.js');
  manifest.config = { ...manifest.config, digest: sha256(pretty), size: pretty.length };
  writeFileSync(join(blobs, sha256(pretty).slice(7)), pretty);
  const mBytes = Buffer.from(JSON.stringify(manifest));
  writeFileSync(join(blobs, sha256(mBytes).slice(7)), mBytes);
  index.manifests[0] = { ...index.manifests[0]!, digest: sha256(mBytes), size: mBytes.length };
  writeFileSync(join(b, 'index.json'), JSON.stringify(index));
  const r = await diff(a, `oci:${b}`);
  assert.deepEqual(seen(r), [['config', '', 'json-encoding', 'json-encoding']]);
  assert.equal((await diff(a, `oci:${b}`, { semantic: true })).identical, true);
});

test('multi-platform indexes: every platform compared, or the one --platform names', async () => {
  const amd = spec();
  const arm = { ...spec(), platform: { os: 'linux', architecture: 'arm64' } };
  const armChanged = { layers: [{ tar: tar([...FILES.slice(0, 2), { name: 'etc/b', data: 'B\n' }, ...FILES.slice(3)]) }], platform: { os: 'linux', architecture: 'arm64' } };
  const a = writeMultiPlatformLayout(dir(), [amd, arm]);
  const b = writeMultiPlatformLayout(dir(), [amd, armChanged]);
  const all = await diff(a, b);
  assert.deepEqual(all.differences.map((d) => [d.location.platform, d.location.path, d.field]), [['linux/arm64', 'etc/b', 'content']]);
  assert.equal((await diff(a, b, { platform: 'linux/amd64' })).identical, true);
  assert.equal((await diff(a, b, { platform: 'linux/arm64' })).differences.length, 1);
  const cli = runCli(['diff', a, writeLayout(dir(), amd)]);
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /multi-platform index; choose one with --platform \(linux\/amd64, linux\/arm64\)/);
});

test('--semantic ignores times, order, names, dialect, image name and created; not modes or content', async () => {
  const b: RawMember[] = [
    { name: './etc/', type: 'dir', mtime: 1 },
    { name: './etc/b', data: 'b\n', magic: 'gnu', mtime: 2 },
    { name: './etc/a', data: 'a\n', mtime: 3, mode: 0o100644 },
    { name: './opt/', type: 'dir' }, { name: './opt/app/', type: 'dir' },
    { name: './opt/app/x', data: 'x\n' }, { name: './opt/app/y', data: 'y\n' },
  ];
  const a = writeLayout(dir(), spec(), { tag: 'one' });
  const bb = writeLayout(dir(), { layers: [{ tar: makeTar(b) }], created: '2024-02-02T00:00:00Z' }, { tag: 'two' });
  const full = await diff(a, bb);
  const fields = new Set(full.differences.map((d) => d.field));
  for (const f of ['mtime', 'order', 'name', 'tar-format', 'mode-type-bits', 'config.created']) assert.ok(fields.has(f), `${f} reported without --semantic`);
  assert.equal((await diff(a, bb, { semantic: true })).identical, true);
  // A mode or content difference stays.
  const c = writeLayout(dir(), { layers: [{ tar: makeTar(b.map((m) => (m.name === './etc/a' ? { ...m, data: 'A\n' } : m))) }] });
  assert.deepEqual((await diff(a, c, { semantic: true })).differences.map((d) => [d.location.path, d.field]), [['etc/a', 'content']]);
});

test('--ignore FIELD and --ignore-path GLOB suppress exactly what they name', async () => {
  const b = FILES.map((m) => (m.name === 'etc/a' ? { ...m, mtime: 5, uid: 7 } : m.name === 'opt/app/x' ? { ...m, data: 'changed\n' } : m));
  const a = writeLayout(dir(), spec());
  const bb = writeLayout(dir(), { layers: [{ tar: makeTar(b) }] });
  const fields = (r: DiffResult): string[] => r.differences.map((d) => `${d.location.path}:${d.field}`);
  assert.deepEqual(fields(await diff(a, bb)), ['etc/a:uid', 'etc/a:mtime', 'opt/app/x:content']);
  assert.deepEqual(fields(await diff(a, bb, { ignore: ['mtime'] })), ['etc/a:uid', 'opt/app/x:content']);
  assert.deepEqual(fields(await diff(a, bb, { ignore: ['owners'] })), ['etc/a:mtime', 'opt/app/x:content']);
  assert.deepEqual(fields(await diff(a, bb, { ignorePaths: ['opt/**'] })), ['etc/a:uid', 'etc/a:mtime']);
  assert.equal((await diff(a, bb, { ignore: ['mtime', 'uid'], ignorePaths: ['opt/app/x'] })).identical, true);
  const cli = runCli(['diff', a, bb, '--ignore', 'nonsense']);
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /--ignore "nonsense": not a field/);
});

test('a JSON path in --ignore covers what is under it', async () => {
  const r = await diff(
    writeLayout(dir(), spec({ config: { config: { Env: ['A=1'], User: 'root' } } })),
    writeLayout(dir(), spec({ config: { config: { Env: ['A=2'], User: 'nobody' } } })),
    { ignore: ['config.config.Env'] },
  );
  assert.deepEqual(r.differences.map((d) => d.field), ['config.config.User']);
});

/** A root filesystem directory holding etc/hostname. */
function smallRootfs(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'box\n');
  return root;
}

test('root filesystems: a directory against its tarball and an image built from it', async () => {
  const root = smallRootfs('rootfs');
  const out = join(work, 'built');
  await buildRootfs({ rootfs: root, output: `oci:${out}:t`, sourceDateEpoch: 1700000000, normalize: ['exclude'] });
  const tarPath = join(work, 'rootfs.tar');
  const { execFileSync } = await import('node:child_process');
  execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', tarPath, 'etc']);
  assert.equal((await diff(root, tarPath, { ignore: ['name', 'tar-format', 'uname', 'gname', 'tar-padding'] })).identical, true);
  const r = await diff(root, `oci:${out}:t`);
  assert.equal(r.a.kind, 'rootfs-dir');
  assert.equal(r.b.kind, 'image');
  assert.deepEqual(r.differences, []);
  // A directory holding an OCI layout is read as one.
  assert.equal((await diff(out, `oci:${out}:t`)).identical, true);
});

test('docker-archive and oci of the same build differ in media types only', async () => {
  const root = smallRootfs('rootfs2');
  const o = join(work, 'img.oci.tar');
  const d = join(work, 'img.docker.tar');
  for (const output of [`oci-archive:${o}`, `docker-archive:${d}`]) await buildRootfs({ rootfs: root, output, sourceDateEpoch: 1700000000 });
  const r = await diff(`oci-archive:${o}`, `docker-archive:${d}`);
  assert.ok(r.differences.length > 0);
  assert.deepEqual(r.findings.map((f) => f.id), ['media-type', 'created']);
  assert.deepEqual(r.differences.filter((d) => d.finding === 'media-type').map((d) => d.field), ['manifest.config.mediaType', 'manifest.mediaType', 'media-type']);
});

test('zstd layers: against gzip the same content is a compression difference; entries compared through zstd', async () => {
  const root = smallRootfs('rootfs3');
  const g = join(work, 'g');
  const z = join(work, 'z');
  const z2 = join(work, 'z2');
  await buildRootfs({ rootfs: root, output: `oci:${g}`, sourceDateEpoch: 1700000000, compression: 'gzip' });
  await buildRootfs({ rootfs: root, output: `oci:${z}`, sourceDateEpoch: 1700000000, compression: 'zstd' });
  const r = await diff(`oci:${g}`, `oci:${z}`);
  // The layer descriptors are compared with the layers, not in the manifest's JSON.
  assert.deepEqual(r.differences.map((d) => [d.location.level, d.field, d.finding]), [
    ['layer', 'media-type', 'media-type'],
    ['layer', 'compression', 'compression'],
  ]);
  writeFileSync(join(root, 'etc/hostname'), 'other\n');
  await buildRootfs({ rootfs: root, output: `oci:${z2}`, sourceDateEpoch: 1700000000, compression: 'zstd' });
  const c = await diff(`oci:${z}`, `oci:${z2}`);
  assert.deepEqual(c.differences.map((d) => [d.location.path, d.field]), [['etc/hostname', 'content']]);
});
