/**
 * Issue 13, item 3, for Containerfiles: what a COPY/ADD source, a hard link in an ADDed archive, a
 * whiteout in a base image's layer or a stage's /etc/passwd names is looked up inside its root (the
 * context, the stage's root file system) as buildah's chrooted copier looks it up: a symlink cannot
 * lead to (and copy, link or remove) a file of the host.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildContainerfile } from '../../src/pipeline/containerfile/build.js';
import { resolveInRoot } from '../../src/fs/confine.js';
import { ReproError } from '../../src/model/errors.js';
import { readTar } from '../../src/archive/tar-reader.js';
import { makeTar } from '../helpers/tar-maker.js';

let work: string;
/** A file of "the host": outside every context and root. */
let secretDir: string;
const SECRET = 'host secret\n';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cf-confine-'));
  secretDir = join(work, 'host');
  mkdirSync(secretDir);
  writeFileSync(join(secretDir, 'secret'), SECRET);
  writeFileSync(join(secretDir, 'victim'), 'must survive\n');
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
function context(files: Record<string, string | { link: string } | Buffer>, containerfile: string): string {
  const ctx = join(work, `ctx-${n++}`);
  mkdirSync(ctx);
  for (const [p, v] of Object.entries(files)) {
    mkdirSync(join(ctx, p, '..'), { recursive: true });
    if (typeof v === 'object' && !Buffer.isBuffer(v)) symlinkSync(v.link, join(ctx, p));
    else writeFileSync(join(ctx, p), v);
  }
  writeFileSync(join(ctx, 'Containerfile'), containerfile);
  return ctx;
}

/** Every file's content in the built image's layers (uncompressed output). */
async function layerFiles(out: string, layers: Array<{ diffId: string }>): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const l of layers) {
    const bytes = readFileSync(join(out, 'blobs/sha256', l.diffId.slice(7)));
    for await (const { member, body } of readTar((async function* () { yield bytes; })(), 'layer')) {
      const chunks: Buffer[] = [];
      for await (const c of body()) chunks.push(c);
      files.set(member.name, Buffer.concat(chunks).toString('utf8'));
    }
  }
  return files;
}

async function build(ctx: string, extra: Partial<Parameters<typeof buildContainerfile>[0]> = {}): Promise<{ out: string; files: Map<string, string> }> {
  const out = join(work, `out-${n++}`);
  const r = await buildContainerfile({ containerfile: join(ctx, 'Containerfile'), compat: 'podman', sourceDateEpoch: 1, output: `oci:${out}:t`, compression: 'none', ...extra });
  return { out, files: await layerFiles(out, r.layers) };
}

const refused = (re: RegExp) => (e: unknown): boolean => e instanceof ReproError && e.exitCode === 2 && re.test(e.message) && !e.message.includes('\n');

test('item 3: resolveInRoot looks paths up as in a chroot', () => {
  const root = join(work, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../etc', join(root, 'rel'));
  symlinkSync('loop', join(root, 'loop'));
  assert.equal(resolveInRoot(root, 'abs/passwd', 'x'), join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, 'rel/passwd', 'x'), join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '../../../etc/shadow', 'x'), join(root, 'etc/shadow'));
  assert.equal(resolveInRoot(root, '/abs', 'x', false), join(root, 'abs'));
  assert.throws(() => resolveInRoot(root, 'loop/x', 'where'), refused(/where: loop\/x: too many levels of symbolic links/));
});

test('item 3: a COPY source through an absolute symlink in the context stays in the context', async () => {
  // Before: the host's meaning of the symlink (refused as leading outside, or the host's file).
  const ctx = context({ link: { link: secretDir }, [`${secretDir.slice(1)}/secret`]: 'context copy\n' }, 'FROM scratch\nCOPY link/secret /x\n');
  const { files } = await build(ctx);
  assert.equal(files.get('x'), 'context copy\n');
  const ctx2 = context({ link: { link: secretDir } }, 'FROM scratch\nCOPY link/secret /x\n');
  await assert.rejects(build(ctx2), refused(/Containerfile:2: link\/secret: no such file in the context/));
});

test('item 3: COPY --from a stage whose symlink points at a host path does not copy the host file', async () => {
  // Stage a holds d/s -> <host>/secret (COPY of a directory keeps its symlinks); stage b copies d/s.
  const ctx = context({ 'd/s': { link: join(secretDir, 'secret') } }, 'FROM scratch AS a\nCOPY d /d\nFROM scratch\nCOPY --from=a /d/s /x\n');
  const r = await build(ctx).then((b) => b.files, (e: unknown) => e);
  if (r instanceof Map) assert.notEqual(r.get('x'), SECRET, 'the host file was copied into the image');
  else assert.ok(refused(/Containerfile:4: \/d\/s: no such file in the stage/)(r), String(r));
});

test('item 3: a hard link in an ADDed archive cannot link a host file into the image', async () => {
  const escape = makeTar([{ name: 'h', type: 'hardlink', linkname: `../../../../../../../../..${secretDir}/secret` }]);
  await assert.rejects(build(context({ 'a.tar': escape }, 'FROM scratch\nADD a.tar /x/\n')), refused(/hard link "h" to .* escapes the destination/));
  // Through a symlink the archive itself made: looked up inside the destination, where it is not.
  const through = makeTar([{ name: 'l', type: 'symlink', linkname: secretDir }, { name: 'h', type: 'hardlink', linkname: 'l/secret' }]);
  const r = await build(context({ 'b.tar': through }, 'FROM scratch\nADD b.tar /x/\n')).then((b) => b.files, (e: unknown) => e);
  if (r instanceof Map) assert.notEqual(r.get('x/h'), SECRET, 'the host file was linked into the image');
  else assert.ok(refused(/h is a hard link to l\/secret, which is not there/)(r), String(r));
});

/** An OCI layout holding an image of these uncompressed layers. */
function layout(dir: string, layers: Buffer[]): string {
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer): string => {
    const h = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(dir, 'blobs/sha256', h), b);
    return `sha256:${h}`;
  };
  const diffIds = layers.map(put);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: put(config), size: config.length },
    layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffIds[i], size: l.length })),
  }));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: put(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'base' } }],
  }));
  return `oci:${dir}:base`;
}

test('item 3: a whiteout under a symlink of a base image layer removes nothing of the host', async () => {
  const base = layout(join(work, 'base'), [
    makeTar([{ name: 'l', type: 'symlink', linkname: secretDir }]),
    makeTar([{ name: 'l/.wh.victim', data: '' }]),
  ]);
  const ctx = context({}, 'FROM base\n');
  await build(ctx, { baseImages: { base } }).catch(() => undefined);
  assert.ok(existsSync(join(secretDir, 'victim')), 'the whiteout removed a file of the host');
});
