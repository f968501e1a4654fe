/**
 * containers-storage:NAME — the host's container store, reached only through podman's own CLI,
 * never by touching the store's files: an image is written by streaming an oci-archive into
 * `podman load` and read by streaming `podman save --format oci-archive` out.
 *
 * What survives: podman keeps a loaded manifest's bytes (its Digest is ours), but the store keeps
 * layers uncompressed and hands them out recompressed (by its own gzip), so an image read back has
 * other layer blobs and so another manifest. Its config — and with it the diff_ids, the digests of the uncompressed layers —
 * is the one loaded, byte for byte: compare images from a store by their config digest (the image
 * ID), as `verify` and `diff` do.
 *
 * A store other than podman's default is named as containers-transports(5) spells it,
 * `containers-storage:[DRIVER@ROOT+RUNROOT:OPTIONS]NAME`; each part becomes podman's own flag.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeScratchDir, removeOnExit } from '../../fs/scratch.js';
import { graphImage, spoolGraph, type ImageGraph } from '../../image/graph.js';
import type { OpenedImage } from '../../image/store.js';
import { digestHex, type Digest } from '../../model/digest.js';
import { ReproError, option } from '../../model/errors.js';
import { isManifestType } from '../../model/media-types.js';
import { ociArchiveChunks, openOciArchive } from '../archive/oci-archive.js';
import type { StorageSpecifier } from '../reference.js';

export interface PodmanOptions {
  /** The podman program (default `podman`, found on PATH). */
  command?: string;
  /** Global flags put before every podman command (e.g. `--storage-driver`, `--cgroup-manager`). */
  args?: string[];
  /** The environment podman runs in (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where scratch files go (default: the OS temp dir). */
  tmpDir?: string;
}

/** podman's global flags for a store specifier. */
export function storeArgs(store: StorageSpecifier | undefined): string[] {
  if (!store) return [];
  const args = ['--root', store.root];
  if (store.runRoot !== undefined) args.push('--runroot', store.runRoot);
  if (store.driver !== undefined) args.push('--storage-driver', store.driver);
  for (const o of store.options?.split(',').filter(Boolean) ?? []) args.push('--storage-opt', o);
  return args;
}

const MAX_STDERR = 64 << 10;

interface Run {
  args: string[];
  /** Chunks streamed into podman's stdin. */
  input?: Iterable<Buffer> | AsyncIterable<Buffer>;
  /** A file podman's stdout is written to (else stdout is collected and returned). */
  stdoutFile?: string;
}

/** The last line podman said on stderr (`Error: …`), for a one-line message. */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').replace(/^Error: /, '').slice(0, 500);
}

export async function podman(opts: PodmanOptions, store: StorageSpecifier | undefined, run: Run): Promise<string> {
  const command = opts.command ?? 'podman';
  const args = [...(opts.args ?? []), ...storeArgs(store), ...run.args];
  const fd = run.stdoutFile !== undefined ? openSync(run.stdoutFile, 'wx', 0o600) : undefined;
  try {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: [run.input ? 'pipe' : 'ignore', fd ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < MAX_STDERR) stderr += d; });
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    const fed = run.input ? pipeline(Readable.from(run.input), child.stdin!).catch((e: unknown) => e) : Promise.resolve(undefined);
    let code: number;
    try {
      code = await exited;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ReproError('E_UNSUPPORTED', `containers-storage: needs podman, and ${command} is not on PATH (apt-get install podman)`);
      }
      throw new ReproError('E_IO', `containers-storage: cannot run ${command}: ${(e as Error).message}`);
    }
    const feedError = await fed;
    if (code !== 0) {
      const said = lastLine(stderr);
      const what = `${command} ${run.args[0] ?? ''}`.trim();
      if (/image not known|no such image|not found/i.test(said)) throw new ReproError('E_NOT_FOUND', `containers-storage: ${what}: ${said}`);
      throw new ReproError('E_IO', `containers-storage: ${what} failed (exit ${code}): ${said || 'no message'}`);
    }
    if (feedError instanceof Error && (feedError as NodeJS.ErrnoException).code !== 'EPIPE') throw feedError;
    return stdout;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Loads a one-image graph into the store under `name`: an oci-archive streamed into `podman load`
 * (the archive's ref.name names it), then checked — the name must resolve to an image whose ID is
 * the config's digest — and, where podman named it otherwise, tagged.
 */
export async function writeStorage(name: string, store: StorageSpecifier | undefined, graph: ImageGraph, mtime: number, opts: PodmanOptions = {}): Promise<{ imageId: Digest }> {
  if (!isManifestType(graph.root.mediaType)) {
    throw new ReproError('E_USAGE', `containers-storage:${name}: a store holds one image per name, and the source is a multi-platform index; choose one with ${option('platform')}`);
  }
  const where = `containers-storage:${name}`;
  const image = await graphImage(graph, where);
  const imageId = image.config.digest;
  const scratch = await makeScratchDir(opts.tmpDir, 'repro-image-podman-');
  try {
    // Archive members are read from files: blobs that only stream are spooled first.
    const g = graph.blobs.every((b) => b.source.ref) ? graph : await spoolGraph(graph, join(scratch, 'blobs'));
    const { chunks } = ociArchiveChunks(g, name, mtime, where);
    await podman(opts, store, { args: ['load', '--quiet'], input: chunks });
    const id = await storedId(name, store, opts);
    if (id !== digestHex(imageId)) {
      await podman(opts, store, { args: ['tag', digestHex(imageId), name] });
    }
    return { imageId };
  } finally {
    const { rm } = await import('node:fs/promises');
    await rm(scratch, { recursive: true, force: true });
  }
}

async function storedId(name: string, store: StorageSpecifier | undefined, opts: PodmanOptions): Promise<string | undefined> {
  try {
    return (await podman(opts, store, { args: ['image', 'inspect', '--format', '{{.Id}}', name] })).trim();
  } catch (e) {
    if (e instanceof ReproError && e.code === 'E_NOT_FOUND') return undefined;
    throw e;
  }
}

/**
 * Reads an image from the store: `podman save --format oci-archive` streamed into a
 * scratch file (removed when the process exits), then read as an oci-archive. The manifest is the
 * one podman writes for its recompressed layers; config and diff_ids are the stored image's.
 */
export async function openStorage(name: string, store: StorageSpecifier | undefined, opts: PodmanOptions = {}): Promise<OpenedImage> {
  const scratch = await makeScratchDir(opts.tmpDir, 'repro-image-podman-');
  const cleanup = removeOnExit(scratch);
  const file = join(scratch, 'image.tar');
  try {
    // Not --uncompressed: podman 4.3 then writes uncompressed layers under the gzip media type.
    await podman(opts, store, { args: ['save', '--format', 'oci-archive', name], stdoutFile: file });
    const opened = await openOciArchive(file, undefined);
    // The archive's index.json is podman's wrapping, not part of the image: leave it out, as a
    // registry reference has none, so that nobody compares it.
    return { store: { ...opened.store, where: `containers-storage:${name}` }, target: opened.target };
  } catch (e) {
    cleanup.release();
    throw e;
  }
}
