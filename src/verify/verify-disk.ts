/**
 * `verify … --against disk:PUBLISHED.raw`: rebuild a disk image from its spec (or root filesystem
 * and disk definition) into a scratch file and check it against a published one: the verdict is
 * whether the two files' SHA-256 are equal; on a mismatch the findings are the `diff` engine's
 * (partition table, file system metadata, then file by file).
 */
import { join } from 'node:path';
import { rm, stat } from 'node:fs/promises';
import { hashFile } from '../disk/assemble.js';
import { makeScratchDir } from '../fs/scratch.js';
import { ReproError, ioError, option } from '../model/errors.js';
import type { DiskBuildOptions, DiskBuildResult } from '../pipeline/disk.js';
import type { VerifyFinding } from './compare.js';
import { toolInfo, type ToolInfo } from './tool.js';

export interface VerifyDiskOptions {
  /** How to rebuild: buildDisk's options without an output. */
  build: Omit<DiskBuildOptions, 'output'>;
  /** The published disk: `disk:FILE` or a path. */
  against: string;
  /** On a mismatch, run the diff engine over both disks (default true). */
  deepDiff?: boolean;
  maxDifferences?: number;
}

export interface VerifyDiskResult {
  verdict: 'reproduced' | 'not-reproduced';
  tool: ToolInfo;
  inputs: { spec?: string; rootfs?: string; lock?: { path: string; digest: string }; sourceDateEpoch: number; sourceDateEpochFrom: DiskBuildResult['sourceDateEpochFrom'] };
  rebuilt: { sha256: string; size: number; diskGuid: string; partitions: DiskBuildResult['disk']['partitions'] };
  published: { reference: string; sha256: string; size: number };
  findings: VerifyFinding[];
}

export async function verifyDisk(opts: VerifyDiskOptions): Promise<VerifyDiskResult> {
  const path = opts.against.startsWith('disk:') ? opts.against.slice('disk:'.length) : opts.against;
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ReproError('E_BAD_INPUT', `${option('against')} ${opts.against}: not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof ReproError) throw e;
    throw ioError(e, `${option('against')} ${opts.against}`);
  }
  const { buildDisk } = await import('../pipeline/disk.js');
  const tmp = await makeScratchDir(opts.build.tmpDir, 'repro-image-verify-');
  try {
    const rebuiltPath = join(tmp, 'rebuilt.raw');
    const built = await buildDisk({ ...opts.build, output: `disk:${rebuiltPath}` });
    const published = hashFile(path);
    const reproduced = published === built.disk.sha256;
    const findings: VerifyFinding[] = [];
    if (!reproduced) {
      if (size !== built.disk.size) findings.push({ path: 'disk.size', message: `disk size: rebuilt ${built.disk.size} bytes, published ${size}` });
      if (opts.deepDiff !== false) {
        const { diff } = await import('../diff/index.js');
        const d = await diff(`disk:${rebuiltPath}`, `disk:${path}`, { maxDifferences: opts.maxDifferences ?? 1000 });
        findings.push(...d.findings.map((f) => ({ path: `diff.${f.id}`, message: `${f.title}${f.examples.length > 0 ? ` (e.g. ${f.examples.slice(0, 3).join('; ')})` : ''}` })));
      }
    }
    const inputs: VerifyDiskResult['inputs'] = { sourceDateEpoch: built.sourceDateEpoch, sourceDateEpochFrom: built.sourceDateEpochFrom };
    if (opts.build.spec !== undefined) inputs.spec = opts.build.spec;
    if (opts.build.rootfs !== undefined) inputs.rootfs = opts.build.rootfs;
    if (built.lock) inputs.lock = built.lock;
    return {
      verdict: reproduced ? 'reproduced' : 'not-reproduced', tool: toolInfo(), inputs,
      rebuilt: { sha256: built.disk.sha256, size: built.disk.size, diskGuid: built.disk.diskGuid, partitions: built.disk.partitions },
      published: { reference: opts.against, sha256: published, size },
      findings,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
