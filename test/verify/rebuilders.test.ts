/**
 * Issue 17 part 5 and its scale-out, with real parts (the hermetic signed Debian repository,
 * Debian's docker-registry on 127.0.0.1, oci: layouts):
 * - `verify --jobs N --list FILE`: three entries (a layout, the registry, and an image that is not
 *   the spec's) → one line each in list order, the total, exit 1; --json; --attach from a list;
 *   a bad list is exit 2 naming the line.
 * - `verify SPEC --archive DIR` keeps the published documents as served, the inputs archive and the
 *   VSA as referrers of the published manifest; then, with the registry stopped, the mirror closed
 *   and an empty cache, `verify --from-archive DIR` gives the same verdict; a tampered archived
 *   manifest is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync, type RunResult } from '../helpers/cli.js';
import { makeKey, makeRepo, type Repo, type TestPackage } from '../helpers/debian-repo.js';
import { startRegistry, type StartedRegistry } from '../transports/registry/harness.js';

const PACKAGES: TestPackage[] = [
  { name: 'base-files', version: '1.0', fields: { Priority: 'required' }, files: { '/etc/base': 'base\n' } },
  { name: 'tool', version: '2.0', fields: { Depends: 'base-files' }, files: { '/usr/bin/tool': { data: '#!/bin/sh\necho tool\n', mode: 0o755 } } },
];

let dir: string;
let repo: Repo | undefined;
let registry: StartedRegistry | undefined;
let spec: string;
let imageDigest: string;
const TLS = '--tls-verify=false';

const run = (args: string[], cache = join(dir, 'cache')): Promise<RunResult> => runCliAsync(args, { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: undefined } });
async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface IndexJson { manifests: Array<{ digest: string; mediaType: string; artifactType?: string; annotations?: Record<string, string> }> }
const indexOf = (layout: string): IndexJson => JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as IndexJson;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rebuilders-'));
  const signer = makeKey(dir, 'archive');
  repo = await makeRepo(dir, PACKAGES, signer);
  registry = await startRegistry({ kind: 'none' });
  mkdirSync(join(dir, 'specs'));
  spec = join(dir, 'specs', 'tool.yaml');
  writeFileSync(spec, `name: tool\nsource:\n  distro: debian\n  suite: testing\n  mirrors: ["${repo.url}"]\n  keyring: ${signer.keyring}\npackages: [tool]\n`);
  await ok(['lock', spec]);
  imageDigest = (await ok(['build', spec, '--output', `oci:${join(dir, 'published')}:v1`])).trim();
  await ok(['copy', `oci:${join(dir, 'published')}:v1`, `docker://${registry.host}/rebuild/tool:v1`, TLS]);
  // An image that is not what the spec builds: the same spec with one more annotation.
  await ok(['build', spec, '--offline', '--annotation', 'org.example.extra=1', '--output', `oci:${join(dir, 'other')}:v1`]);
});

after(async () => {
  await registry?.stop();
  await repo?.close();
  spawnSync('gpgconf', ['--homedir', join(dir, 'gnupg-archive'), '--kill', 'gpg-agent']);
  rmSync(dir, { recursive: true, force: true });
});

test('verify --jobs 2 --list: one line per image in list order, the total, exit 1 when one is not reproduced; --json', async () => {
  const list = join(dir, 'images.list');
  writeFileSync(list, [
    '# spec                 published image',
    `specs/tool.yaml oci:${join(dir, 'published')}:v1`,
    '',
    `specs/tool.yaml\tdocker://${registry!.host}/rebuild/tool:v1`,
    `${spec} oci:${join(dir, 'other')}:v1`,
  ].join('\n'));
  const r = await run(['verify', '--jobs', '2', '--list', list, TLS]);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4, r.stdout);
  assert.equal(lines[0], `reproduced ${imageDigest} oci:${join(dir, 'published')}:v1 (specs/tool.yaml, line 2)`);
  assert.equal(lines[1], `reproduced ${imageDigest} docker://${registry!.host}/rebuild/tool:v1 (specs/tool.yaml, line 4)`);
  assert.match(lines[2]!, new RegExp(`^not reproduced oci:${join(dir, 'other')}:v1 \\(${spec}, line 5\\): rebuilt ${imageDigest}, published sha256:[0-9a-f]{64}$`));
  assert.equal(lines[3], '3 images: 2 reproduced, 1 not reproduced, 0 errors');

  const j = await run(['verify', '--jobs', '3', '--list', list, TLS, '--json']);
  assert.equal(j.status, 1, j.stderr);
  const rec = JSON.parse(j.stdout) as { entries: Array<{ line: number; verdict: string; result?: { published: { manifest: string } } }>; summary: { total: number; reproduced: number; notReproduced: number; errors: number } };
  assert.deepEqual(rec.entries.map((e) => [e.line, e.verdict]), [[2, 'reproduced'], [4, 'reproduced'], [5, 'not-reproduced']]);
  assert.deepEqual({ ...rec.summary, text: undefined }, { total: 3, reproduced: 2, notReproduced: 1, errors: 0, text: undefined });

  // An entry that cannot be verified (no such image) is an error line; the others still run.
  writeFileSync(list, `specs/tool.yaml oci:${join(dir, 'published')}:v1\nspecs/tool.yaml oci:${join(dir, 'published')}:nope\n`);
  const e = await run(['verify', '--list', list]);
  assert.equal(e.status, 1, e.stderr);
  assert.match(e.stdout, /^reproduced sha256:[0-9a-f]{64} .*line 1\)\nerror oci:.*:nope \(specs\/tool\.yaml, line 2\): .*no image tagged "nope" \(exit 2\)\n2 images/);
  assert.match(e.stdout, /2 images: 1 reproduced, 0 not reproduced, 1 error\n$/);
});

test('verify --list with only reproduced images exits 0; --attach attaches one summary per image', async () => {
  const layout = join(dir, 'attach-layout');
  cpSync(join(dir, 'published'), layout, { recursive: true });
  const list = join(dir, 'attach.list');
  writeFileSync(list, `${spec} oci:${layout}:v1\n${spec} docker://${registry!.host}/rebuild/tool:v1\n`);
  const r = await run(['verify', '--jobs', '2', '--list', list, TLS, '--attach', '--verifier-id', 'https://rebuilder-a.example']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\n2 images: 2 reproduced, 0 not reproduced, 0 errors\n$/);
  for (const ref of [`oci:${layout}:v1`, `docker://${registry!.host}/rebuild/tool:v1`]) {
    const a = await run(['attestations', ref, TLS]);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /1 independent verifier reproduced this image \(digest level\), 0 failed\n$/);
  }
});

test('a bad list is exit 2 naming the file and line, before anything is rebuilt', async () => {
  const list = join(dir, 'bad.list');
  writeFileSync(list, `# ok\n${spec} oci:${join(dir, 'published')}:v1\n${spec} oci:x:v1 extra\n`);
  const r = await run(['verify', '--list', list]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${list}:3: expected "SPEC REF" \\(two fields separated by spaces\\), got 3 fields`));
  assert.equal(r.stdout, '');
  writeFileSync(list, `${spec} nonsense:ref\n`);
  const b = await run(['verify', '--list', list]);
  assert.equal(b.status, 2);
  assert.match(b.stderr, new RegExp(`${list}:1: `));
  writeFileSync(list, '# nothing\n\n');
  assert.equal((await run(['verify', '--list', list])).status, 2);
  const u = await run(['verify', '--list', list, '--against', 'oci:x']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--against does not apply with --list/);
  assert.equal((await run(['verify', spec, '--jobs', '2', '--against', 'oci:x'])).status, 2);
});

test('a proof rebuilt from a root filesystem is kept (annotated rootfs, no inputs archive); --from-archive says how to re-check it', async () => {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/hello'), 'hi\n');
  const built = (await ok(['build', '--rootfs', root, '--source-date-epoch', '1700000000', '--output', `oci:${join(dir, 'rootfs-image')}:r`])).trim();
  const archive = join(dir, 'proof-rootfs');
  assert.equal((await ok(['verify', '--rootfs', root, '--source-date-epoch', '1700000000', '--against', `oci:${join(dir, 'rootfs-image')}:r`, '--archive', archive])).trim(), `reproduced ${built}`);
  const entries = indexOf(archive).manifests;
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0]!.annotations, { 'dev.repro-image.verify.platform': 'linux/amd64', 'dev.repro-image.verify.rebuild': 'rootfs', 'org.opencontainers.image.ref.name': 'r' });
  const r = await run(['verify', '--from-archive', archive]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`rebuilt from a root filesystem, whose inputs the archive does not keep; re-check it with 'verify --rootfs PATH \\[build options\\] --against oci:${archive}'`));
  // ... which works.
  assert.equal((await run(['verify', '--rootfs', root, '--source-date-epoch', '1700000000', '--against', `oci:${archive}:r`])).status, 0);
});

test('a spec that copies files from its folder: --from-archive needs the spec given (its files are not in the inputs archive)', async () => {
  const withFiles = join(dir, 'specs', 'with-files.yaml');
  writeFileSync(join(dir, 'specs', 'motd'), 'welcome\n');
  writeFileSync(withFiles, readFileSync(spec, 'utf8').replace('name: tool', 'name: with-files') + 'files:\n  - {src: motd, dest: /etc/motd}\n');
  await ok(['lock', withFiles]);
  const built = (await ok(['build', withFiles, '--output', `oci:${join(dir, 'with-files')}:v1`])).trim();
  const archive = join(dir, 'proof-with-files');
  await ok(['verify', withFiles, '--against', `oci:${join(dir, 'with-files')}:v1`, '--archive', archive]);
  const r = await run(['verify', '--from-archive', archive], join(dir, 'cache-with-files'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /the archived spec copies files from its folder \(files:\), which the inputs archive does not keep; give the spec: 'verify SPEC --from-archive /);
  const g = await run(['verify', withFiles, '--from-archive', archive], join(dir, 'cache-with-files'));
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stdout, `reproduced ${built}\n`);
});

test('verify --archive keeps published documents, inputs and VSA; --from-archive with no registry, no mirror, no cache: same verdict; tampering refused', async () => {
  const archive = join(dir, 'proof');
  const vsa = join(dir, 'vsa.json');
  const ref = `docker://${registry!.host}/rebuild/tool:v1`;
  const first = await run(['verify', spec, '--against', ref, TLS, '--archive', archive, '--attest', vsa, '--verifier-id', 'https://rebuilder-b.example', '--json']);
  assert.equal(first.status, 0, first.stderr);
  const rec = JSON.parse(first.stdout) as { verdict: string; published: { manifest: string; archive: string; archiveInputs: string }; inputs: { specDigest: string } };
  assert.equal(rec.verdict, 'reproduced');
  assert.equal(rec.inputs.specDigest, sha(readFileSync(spec)));
  const index = indexOf(archive);
  const root = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'v1')!;
  assert.equal(root.digest, imageDigest, 'the published manifest, digest unchanged');
  assert.equal(root.annotations?.['dev.repro-image.verify.rebuild'], 'spec');
  assert.equal(root.annotations?.['dev.repro-image.verify.inputs'], rec.published.archiveInputs);
  assert.deepEqual(index.manifests.filter((m) => m.artifactType).map((m) => m.artifactType).sort(), ['application/vnd.in-toto+json', 'application/vnd.repro-image.inputs.v1']);
  // Every blob is what its name says; the manifest is byte for byte the one the registry served.
  const blob = (d: string): Buffer => readFileSync(join(archive, 'blobs/sha256', d.slice(7)));
  assert.equal(sha(blob(imageDigest)), imageDigest);
  assert.deepEqual(blob(imageDigest), readFileSync(join(dir, 'published/blobs/sha256', imageDigest.slice(7))));
  const vsaEntry = index.manifests.find((m) => m.artifactType === 'application/vnd.in-toto+json')!;
  const vsaManifest = JSON.parse(blob(vsaEntry.digest).toString()) as { subject: { digest: string }; layers: Array<{ digest: string }> };
  assert.equal(vsaManifest.subject.digest, imageDigest);
  assert.deepEqual(blob(vsaManifest.layers[0]!.digest), readFileSync(vsa));
  const listed = await run(['attestations', `oci:${archive}:v1`]);
  assert.match(listed.stdout, /1 independent verifier reproduced this image \(digest level\), 0 failed/);

  // A proof that failed is kept too, and fails again the same way.
  const failed = join(dir, 'proof-failed');
  const f1 = await run(['verify', spec, '--against', `oci:${join(dir, 'other')}:v1`, '--archive', failed, '--json']);
  assert.equal(f1.status, 1, f1.stderr);
  const failedRec = JSON.parse(f1.stdout) as { verdict: string; published: { manifest: string } };
  assert.equal(failedRec.verdict, 'not-reproduced');

  // Years later: no registry, no mirror, an empty cache.
  await registry!.stop();
  registry = undefined;
  await repo!.close();
  repo = undefined;
  const later = join(dir, 'cache-later');
  const plain = await run(['verify', spec, '--offline', '--against', `oci:${archive}:v1`], later);
  assert.equal(plain.status, 2, 'the cache is really empty');
  const again = await run(['verify', '--from-archive', archive], later);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `reproduced ${imageDigest}\n`);
  const json = await run(['verify', '--from-archive', archive, '--json'], join(dir, 'cache-later-2'));
  const r2 = JSON.parse(json.stdout) as { verdict: string; fromArchive: { inputs: string; spec: string }; published: { manifest: string } };
  assert.equal(r2.verdict, 'reproduced');
  assert.equal(r2.published.manifest, imageDigest);
  assert.deepEqual(r2.fromArchive.inputs, rec.published.archiveInputs);
  assert.equal(r2.fromArchive.spec, 'archived');
  const f2 = await run(['verify', '--from-archive', failed, '--json'], join(dir, 'cache-later-failed'));
  assert.equal(f2.status, 1, f2.stderr);
  const f2Rec = JSON.parse(f2.stdout) as { verdict: string; published: { manifest: string }; rebuilt: { manifest: string }; findings: Array<{ path: string }> };
  assert.equal(f2Rec.verdict, 'not-reproduced');
  assert.equal(f2Rec.published.manifest, failedRec.published.manifest);
  assert.equal(f2Rec.rebuilt.manifest, imageDigest);
  assert.ok(f2Rec.findings.some((f) => f.path === 'manifest.annotations.org.example.extra'), JSON.stringify(f2Rec.findings));
  // The spec given instead of the archived one (its folder would supply files:).
  assert.equal((await run(['verify', spec, '--from-archive', archive], join(dir, 'cache-later-3'))).status, 0);

  // A changed byte in the archived manifest: refused (exit 1), not "not reproduced".
  const tampered = join(dir, 'proof-tampered');
  cpSync(archive, tampered, { recursive: true });
  const m = join(tampered, 'blobs/sha256', imageDigest.slice(7));
  writeFileSync(m, blob(imageDigest).toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
  const t = await run(['verify', '--from-archive', tampered], join(dir, 'cache-tampered'));
  assert.equal(t.status, 1, t.stderr);
  assert.match(t.stderr, new RegExp(`${imageDigest.slice(7)}|${imageDigest}`));
  assert.equal(t.stdout, '');
  // A consistent rewrite (new manifest, index.json pointing at it) is compared, and is not reproduced.
  const rewritten = join(dir, 'proof-rewritten');
  cpSync(archive, rewritten, { recursive: true });
  const mb = Buffer.from(blob(imageDigest).toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
  writeFileSync(join(rewritten, 'blobs/sha256', sha(mb).slice(7)), mb);
  const idx = indexOf(rewritten);
  for (const e of idx.manifests) if (e.digest === imageDigest) Object.assign(e, { digest: sha(mb), size: mb.length });
  writeFileSync(join(rewritten, 'index.json'), JSON.stringify(idx));
  const w = await run(['verify', '--from-archive', rewritten], join(dir, 'cache-rewritten'));
  assert.equal(w.status, 1, w.stderr);
  assert.match(w.stdout, /^not reproduced: rebuilt sha256:.*, published sha256:/);
  // A layout that is not a kept proof says what to do instead.
  const n = await run(['verify', '--from-archive', join(dir, 'published')]);
  assert.equal(n.status, 2);
  assert.match(n.stderr, /not a proof kept by 'verify SPEC --archive DIR'/);
});
