/**
 * `build --containerfile` in repro-image's own form (`--compat repro-image`, the default): the
 * target stage's tree in one layer by our tar writer, after the normalisation passes, with the
 * stage's config. Two builds under another umask, TZ and temp dir give one digest (a golden one);
 * the tree is the one the podman form's layers make, file for file; it is the image `build
 * --rootfs` makes of that tree with that config; `--compat foo` is a usage error naming it;
 * `verify --containerfile` proves our own build. A RUN case (dash and its libraries from this
 * host, under runc) runs where runc and root are there, and skips saying why elsewhere.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { flattenLayers, type FlatEntry } from '../../src/image/flatten.js';
import { readImage } from '../../src/image/read.js';
import { openLayout } from '../../src/transports/layout/read.js';
import { runCli } from '../helpers/cli.js';
import { makeTar } from '../helpers/tar-maker.js';
import { writeContext } from '../helpers/podman-contexts.js';

const work = mkdtempSync(join(tmpdir(), 'cf-canon-'));
after(() => rmSync(work, { recursive: true, force: true }));

const SDE = 1700000000;
const OLD = 1600000000;
/** The manifest digest of the small context's image (gzip, linux/amd64, SOURCE_DATE_EPOCH 1700000000). */
const GOLDEN = 'sha256:28bc1c4243783580148222198a5b62b2eacf69a449b61a047482c29d231a6f4e';

const CONTAINERFILE = [
  'FROM scratch',
  'ADD base.tar /',
  'COPY app.txt /srv/app.txt',
  'COPY conf/ /etc/app/',
  'LABEL org.example.name="small" org.example.version=1',
  'ENV LANG=C.UTF-8 A=1',
  'WORKDIR /srv',
  'USER 1000:1000',
  'EXPOSE 8080',
  'VOLUME /data',
  'STOPSIGNAL SIGINT',
  'ENTRYPOINT ["/usr/bin/tool"]',
  'CMD ["--serve"]',
  '',
].join('\n');

/** The small context, with fixed modes and times (the same bytes under any umask). */
function smallContext(dir: string): string {
  mkdirSync(join(dir, 'conf'), { recursive: true });
  writeFileSync(join(dir, 'Containerfile'), CONTAINERFILE);
  writeFileSync(join(dir, 'base.tar'), makeTar([
    { name: 'etc/', type: 'dir', mtime: OLD },
    { name: 'etc/machine-id', data: 'e3b0c44298fc1c149afbf4c8996fb924\n', mtime: OLD },
    { name: 'usr/', type: 'dir', mtime: OLD },
    { name: 'usr/bin/', type: 'dir', mtime: OLD },
    { name: 'usr/bin/tool', data: '#!/bin/sh\necho tool\n', mode: 0o755, mtime: OLD },
    { name: 'usr/bin/alias', type: 'symlink', linkname: 'tool', mtime: OLD },
    { name: 'var/', type: 'dir', mtime: OLD },
    { name: 'var/cache/', type: 'dir', mtime: OLD },
    { name: 'var/cache/ldconfig/', type: 'dir', mode: 0o700, mtime: OLD },
    { name: 'var/cache/ldconfig/aux-cache', data: 'host-specific', mode: 0o600, mtime: OLD },
  ]));
  writeFileSync(join(dir, 'app.txt'), 'app\n');
  writeFileSync(join(dir, 'conf/a.conf'), 'a=1\n');
  writeFileSync(join(dir, 'conf/b.conf'), 'b=2\n');
  for (const [p, m] of [['app.txt', 0o644], ['conf/a.conf', 0o600], ['conf/b.conf', 0o644], ['conf', 0o755], ['base.tar', 0o644], ['Containerfile', 0o644]] as const) {
    chmodSync(join(dir, p), m);
    utimesSync(join(dir, p), OLD, OLD);
  }
  return join(dir, 'Containerfile');
}

/** The flattened tree of an image (no layer numbers: they differ between the forms by design). */
async function tree(layout: string): Promise<Array<[string, Omit<FlatEntry, 'layer'>]>> {
  const img = await readImage(await openLayout(layout, undefined), layout);
  const flat = await flattenLayers(img.layers, { hash: true });
  return [...flat.entries].map(([p, { layer: _l, ...e }]) => [p, e] as [string, Omit<FlatEntry, 'layer'>]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function configOf(layout: string, digest: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(layout, 'blobs/sha256', digest.slice(7)), 'utf8')) as Record<string, unknown>;
}

test('two builds of a small Containerfile under another umask, TZ, temp dir and context path give one digest, the golden one', () => {
  const digests: string[] = [];
  for (const [i, env] of [{ umask: '022', TZ: 'UTC', LC_ALL: 'C' }, { umask: '077', TZ: 'Pacific/Kiritimati', LC_ALL: 'tr_TR.UTF-8' }].entries()) {
    const ctx = join(work, `small-${i}`, i === 0 ? 'ctx' : 'a/much/longer/context path');
    const tmp = join(work, `tmp-${i}`);
    mkdirSync(tmp, { recursive: true });
    const file = smallContext(ctx);
    const out = join(work, `small-${i}`, 'out');
    const r = runCli(['build', '--containerfile', file, '--source-date-epoch', String(SDE), '--output', `oci:${out}`, '--json'], { umask: env.umask, env: { TZ: env.TZ, LC_ALL: env.LC_ALL, TMPDIR: tmp, SOURCE_DATE_EPOCH: undefined } });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { manifest: { digest: string }; config: { digest: string }; layers: unknown[]; compat: string; normalize: Array<{ name: string; changed: number }> };
    assert.equal(j.compat, 'repro-image');
    assert.equal(j.layers.length, 1, 'one layer: the whole tree');
    // The passes a rootfs build runs ran here too: the aux-cache is gone, machine-id emptied.
    assert.equal(j.normalize.find((p) => p.name === 'ldconfig-aux-cache')?.changed, 1);
    assert.equal(j.normalize.find((p) => p.name === 'machine-id')?.changed, 1);
    const cfg = configOf(out, j.config.digest);
    assert.deepEqual(cfg['config'], {
      Entrypoint: ['/usr/bin/tool'], Cmd: ['--serve'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'A=1'],
      ExposedPorts: { '8080/tcp': {} }, Labels: { 'org.example.name': 'small', 'org.example.version': '1' },
      StopSignal: 'SIGINT', User: '1000:1000', Volumes: { '/data': {} }, WorkingDir: '/srv',
    });
    assert.deepEqual(cfg['history'], [{ created: '2023-11-14T22:13:20Z', created_by: 'repro-image build' }]);
    assert.equal(readdirCount(tmp), 0, 'the temp dir is left empty');
    digests.push(j.manifest.digest);
  }
  assert.equal(digests[1], digests[0]);
  assert.equal(digests[0], GOLDEN);
});

function readdirCount(dir: string): number {
  return spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
}

test('the image is the one build --rootfs makes of the final tree with the same config', async () => {
  const ctx = join(work, 'rootfs-eq', 'ctx');
  const file = smallContext(ctx);
  const out = join(work, 'rootfs-eq', 'cf');
  const r = await buildContainerfile({ containerfile: file, compat: 'repro-image', sourceDateEpoch: SDE, output: `oci:${out}` });
  // The same tree by hand: the tar extracted, the copies made, as a rootfs directory.
  const root = join(work, 'rootfs-eq', 'root');
  mkdirSync(root, { recursive: true });
  assert.equal(spawnSync('tar', ['-xpf', join(ctx, 'base.tar'), '-C', root]).status, 0);
  mkdirSync(join(root, 'srv'));
  mkdirSync(join(root, 'etc/app'));
  cpSync(join(ctx, 'app.txt'), join(root, 'srv/app.txt'), { preserveTimestamps: true });
  cpSync(join(ctx, 'conf'), join(root, 'etc/app'), { recursive: true, preserveTimestamps: true });
  chmodSync(join(root, 'etc/app/a.conf'), 0o600);
  const rootfsOut = join(work, 'rootfs-eq', 'rootfs');
  const b = runCli(['build', '--rootfs', root, '--source-date-epoch', String(SDE), '--output', `oci:${rootfsOut}`,
    '--entrypoint', '["/usr/bin/tool"]', '--cmd', '["--serve"]',
    '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--env', 'LANG=C.UTF-8', '--env', 'A=1',
    '--expose', '8080', '--label', 'org.example.name=small', '--label', 'org.example.version=1',
    '--stop-signal', 'SIGINT', '--user', '1000:1000', '--volume', '/data', '--workdir', '/srv']);
  assert.equal(b.status, 0, b.stderr);
  assert.deepEqual(await tree(out), await tree(rootfsOut));
  assert.equal(b.stdout.trim(), r.manifest.digest);
});

test('the same tree as the podman form\'s layers make, file for file (the podman ground-truth shapes)', async () => {
  for (const shape of ['scratch-add', 'instructions'] as const) {
    const ctx = join(work, shape, 'ctx');
    writeContext(shape, ctx);
    const file = join(ctx, 'Containerfile');
    const ours = join(work, shape, 'ours');
    const podman = join(work, shape, 'podman');
    const o = await buildContainerfile({ containerfile: file, compat: 'repro-image', sourceDateEpoch: SDE, output: `oci:${ours}`, normalize: [] });
    const p = await buildContainerfile({ containerfile: file, compat: 'podman', sourceDateEpoch: SDE, output: `oci:${podman}`, compression: 'none' });
    assert.equal(o.layers.length, 1);
    assert.ok(p.layers.length >= 1);
    assert.deepEqual(await tree(ours), await tree(podman), shape);
    // The config carries what the stage's instructions set, as podman's does.
    const oc = configOf(ours, o.config.digest)['config'] as Record<string, unknown>;
    const pc = configOf(podman, p.config.digest)['config'] as Record<string, unknown>;
    for (const k of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal']) {
      if (pc[k] !== undefined && pc[k] !== null && pc[k] !== '') assert.deepEqual(oc[k], pc[k], `${shape}: ${k}`);
    }
  }
});

test('--compat foo is a usage error naming the value; --buildah is podman\'s only; config flags and --sbom are refused', () => {
  const file = smallContext(join(work, 'usage'));
  const r = runCli(['build', '--containerfile', file, '--compat', 'foo', '--source-date-epoch', '1', '--output', `oci:${join(work, 'usage-out')}`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--compat: expected repro-image \(the default\) or podman, got "foo"/);
  const b = runCli(['build', '--containerfile', file, '--buildah', '1.41', '--source-date-epoch', '1', '--output', `oci:${join(work, 'usage-out')}`]);
  assert.equal(b.status, 2, b.stderr);
  assert.match(b.stderr, /--buildah applies to --compat podman only/);
  const n = runCli(['build', '--containerfile', file, '--compat', 'podman', '--normalize', 'none', '--source-date-epoch', '1', '--output', `oci:${join(work, 'usage-out')}`]);
  assert.equal(n.status, 2, n.stderr);
  assert.match(n.stderr, /--normalize applies to --compat repro-image only/);
  // Config flags and attachments a Containerfile build does not use are refused, not ignored.
  for (const [flag, value] of [['--label', 'a=b'], ['--cmd', '["sh"]'], ['--env', 'A=1'], ['--user', '1'], ['--sbom', 'spdx-json']] as const) {
    const f = runCli(['build', '--containerfile', file, flag, value, '--source-date-epoch', '1', '--output', `oci:${join(work, 'usage-out')}`]);
    assert.equal(f.status, 2, f.stderr);
    assert.match(f.stderr, new RegExp(`^repro-image: build: ${flag} does not apply to --containerfile`), flag);
  }
  assert.equal(existsSync(join(work, 'usage-out')), false);
});

test('verify --containerfile (the default form) against our own build: reproduced; a changed context file: not', () => {
  const ctx = join(work, 'verify', 'ctx');
  const file = smallContext(ctx);
  const out = join(work, 'verify', 'out');
  const b = runCli(['build', '--containerfile', file, '--source-date-epoch', String(SDE), '--output', `oci:${out}`]);
  assert.equal(b.status, 0, b.stderr);
  const digest = b.stdout.trim();
  // No --source-date-epoch: the published config's created time is used.
  const v = runCli(['verify', '--containerfile', file, '--against', `oci:${out}`], { env: { SOURCE_DATE_EPOCH: undefined } });
  assert.equal(v.status, 0, v.stderr + v.stdout);
  assert.equal(v.stdout, `reproduced ${digest}\n`);
  // A kept proof records the form, and --from-archive says how to repeat it.
  const kept = join(work, 'verify', 'kept');
  const k = runCli(['verify', '--containerfile', file, '--against', `oci:${out}`, '--archive', kept, '--source-date-epoch', String(SDE)]);
  assert.equal(k.status, 0, k.stderr + k.stdout);
  const index = JSON.parse(readFileSync(join(kept, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
  assert.equal(index.manifests[0]?.annotations?.['dev.repro-image.verify.compat'], 'repro-image');
  const fa = runCli(['verify', '--from-archive', kept]);
  assert.equal(fa.status, 2, fa.stderr);
  assert.match(fa.stderr, /re-check it with 'verify --containerfile FILE \[options\] --against oci:/);
  writeFileSync(join(ctx, 'app.txt'), 'changed\n');
  utimesSync(join(ctx, 'app.txt'), OLD, OLD);
  const w = runCli(['verify', '--containerfile', file, '--against', `oci:${out}`, '--json'], { env: { SOURCE_DATE_EPOCH: undefined } });
  assert.equal(w.status, 1, w.stderr);
  const j = JSON.parse(w.stdout) as { verdict: string; inputs: { compat: string }; findings: Array<{ message: string }> };
  assert.equal(j.verdict, 'not-reproduced');
  assert.equal(j.inputs.compat, 'repro-image');
  assert.ok(j.findings.some((f) => /srv\/app\.txt/.test(f.message)), JSON.stringify(j.findings));
});

/** dash and the libraries it needs, from this host, as a tar (the RUN case's root). */
function dashRoot(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (runc)';
  if (spawnSync('runc', ['--version']).status !== 0) return 'runc is not installed';
  const libs = spawnSync('sh', ['-c', 'ldd /bin/dash | grep -o "/[^ ]*"'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (!existsSync('/bin/dash') || libs.length === 0) return 'no dynamically linked /bin/dash here';
  const r = spawnSync('tar', ['-chf', join(dir, 'root.tar'), '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1600000000', '--transform', 's,^/*bin/dash,bin/sh,', '/bin/dash', ...libs], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot make the root: ${r.stderr}`;
  return undefined;
}

test('RUN (runc): two builds give one digest, however many RUN steps wrote the tree; the podman form\'s tree, file for file', async (t) => {
  const digests: string[] = [];
  for (const [i, steps] of [
    ['RUN echo one > /srv/one && echo two > /srv/two'],
    ['RUN echo one > /srv/one', 'RUN echo two > /srv/two'],
  ].entries()) {
    const ctx = join(work, `run-${i}`);
    mkdirSync(ctx, { recursive: true });
    const why = dashRoot(ctx);
    if (why) {
      t.skip(why);
      return;
    }
    writeFileSync(join(ctx, 'Containerfile'), ['FROM scratch', 'ADD root.tar /', 'COPY app.txt /srv/', ...steps, 'CMD ["/bin/sh"]', ''].join('\n'));
    writeFileSync(join(ctx, 'app.txt'), 'app\n');
    chmodSync(join(ctx, 'app.txt'), 0o644);
    utimesSync(join(ctx, 'app.txt'), OLD, OLD);
    const out = join(ctx, 'out');
    const o = await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'repro-image', sourceDateEpoch: SDE, output: `oci:${out}`, tmpDir: work });
    digests.push(o.manifest.digest);
    if (i === 0) {
      const p = await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: SDE, output: `oci:${join(ctx, 'podman')}`, compression: 'none' });
      // Only the passes may change the tree (none applies here: no aux-cache, machine-id, ...).
      assert.deepEqual(await tree(out), await tree(join(ctx, 'podman')));
      const names = (await tree(out)).map(([path]) => path);
      assert.ok(names.includes('srv/one') && names.includes('srv/two'), names.join(' '));
      assert.ok(!names.includes('proc') && !names.includes('dev') && !names.includes('sys'), 'runc\'s mount points are gone');
    }
  }
  // One RUN or two: the same tree, so the same image.
  assert.equal(digests.length, 2);
  assert.equal(digests[1], digests[0]);
});
