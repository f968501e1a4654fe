/** Images for the registry tests, made with our own CLI, and the reference tool (skopeo) to check them. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, runCli, runCliAsync as runCliAsyncWith, type RunResult } from '../../helpers/cli.js';
import { makeRootfs, requireTool } from './harness.js';

export const EPOCH = '1700000000';

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Builds with our CLI; returns the manifest digest. */
export function build(rootfs: string, output: string, extra: string[] = []): string {
  const r = runCli(['build', '--rootfs', rootfs, '--output', output, '--source-date-epoch', EPOCH, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

export function skopeo(args: string[]): Buffer {
  requireTool('/usr/bin/skopeo', 'skopeo');
  const r = spawnSync('skopeo', args, { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `skopeo ${args.join(' ')}: ${r.stderr?.toString()}`);
  return r.stdout;
}

interface IndexJson { manifests: Array<{ digest: string; mediaType: string; annotations?: Record<string, string> }> }

export function layoutIndex(dir: string): IndexJson {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as IndexJson;
}

/** The digest index.json gives for a tag (or its only entry). */
export function layoutDigest(dir: string, tag?: string): string {
  const idx = layoutIndex(dir);
  const hits = tag === undefined ? idx.manifests : idx.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.equal(hits.length, 1, `one entry for ${tag ?? '(only)'} in ${dir}/index.json`);
  return hits[0]!.digest;
}

export function blobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/**
 * A layout with a two-platform index tagged `multi` (linux/amd64 and linux/arm64 images with
 * different content). The index JSON is deliberately not canonical (indented, keys in their own
 * order), so that a copy which re-serialised it would change its digest.
 */
export function makeIndexLayout(work: string, layout: string): { index: string; amd64: string; arm64: string } {
  const a = join(work, 'rootfs-amd64');
  const b = join(work, 'rootfs-arm64');
  makeRootfs(a, 'amd64');
  makeRootfs(b, 'arm64');
  const amd64 = build(a, `oci:${layout}:amd64`, ['--platform', 'linux/amd64']);
  const arm64 = build(b, `oci:${layout}:arm64`, ['--platform', 'linux/arm64', '--compression', 'zstd']);
  const size = (d: string): number => readFileSync(blobPath(layout, d)).length;
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd64, size: size(amd64), platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm64, size: size(arm64), platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
    annotations: { 'org.example.note': 'not canonical on purpose' },
  }, null, 3));
  const digest = sha256(index);
  writeFileSync(blobPath(layout, digest), index);
  const idx = layoutIndex(layout);
  idx.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } } as IndexJson['manifests'][number]);
  writeFileSync(join(layout, 'index.json'), JSON.stringify(idx));
  return { index: digest, amd64, arm64 };
}

/**
 * Runs the CLI without blocking this process's event loop: needed when a server the CLI talks to
 * (the fault proxy, the token service) lives in the test process itself. The shared helper, with
 * the environment as the second argument.
 */
export function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runCliAsyncWith(args, { env });
}

/** skopeo without blocking this process (for when the token service runs in it). */
export async function skopeoAsync(args: string[]): Promise<Buffer> {
  requireTool('/usr/bin/skopeo', 'skopeo');
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`skopeo ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}
