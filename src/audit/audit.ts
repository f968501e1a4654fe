/**
 * `audit REF|SPEC`: every entry of an image's flattened file system accounted for (see
 * account.ts), each owning package's verdict from rebuilderd where asked (status's client), and
 * the report (report.ts). A spec is built first (into a scratch layout, from its lock and the
 * cache) and the image it makes is audited.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanMemberPath } from '../archive/paths.js';
import { checkDatabaseFiles } from '../sources/database-files.js';
import { resolveRecorded } from '../archive/recorded-path.js';
import type { RetryPolicy } from '../fetch/http.js';
import { withScratchDir } from '../fs/scratch.js';
import { flattenLayers, type FlatImage } from '../image/flatten.js';
import { readImage } from '../image/read.js';
import { ReproError, ioError } from '../model/errors.js';
import { formatPlatform, type Platform } from '../model/platform.js';
import type { GeneratedEntry, PackageRecord, RecordOptions } from '../sources/distribution.js';
import { TREE_READERS, type TreeReaders } from '../sources/trees.js';
import { openImage } from '../transports/open.js';
import { formatImageRef, isImageReference, parseImageRef } from '../transports/reference.js';
import type { RegistryOptions } from '../transports/registry/client.js';
import { accountEntries, ownedTree, ownership, planAccounts, settleAccounts, type AccountPlan } from './account.js';
import { buildReport, type AuditReport } from './report.js';

export interface AuditOptions {
  /** An image reference, or an image spec (built from its lock first). */
  target: string;
  /** rebuilderd instances to ask about the packages (none: packages are not checked). */
  rebuilders?: string[];
  platform?: Platform;
  registry?: RegistryOptions;
  retry?: RetryPolicy;
  /** For a spec: the package cache (required) and whether to stay offline. */
  cacheDir?: string;
  offline?: boolean;
  tmpDir?: string;
}

/** What the audit reads of the package records: their files, not their licenses nor dependencies (the report has neither). */
const AUDIT_RECORDS: RecordOptions = { licenses: false, dependencies: false };

/** The files read whole: the package records and the predictions' inputs. */
const needed = (path: string): boolean => TREE_READERS.some((d) => d.isRecordFile(path, AUDIT_RECORDS) || d.isGeneratorInput(path));

/** What a spec's `files:` put into the image it builds: step `spec files`, with the source file's digests. */
async function specFiles(target: string): Promise<GeneratedEntry[]> {
  const [{ loadSpec }, { confinedPath }] = await Promise.all([import('../spec/load.js'), import('../fs/confine.js')]);
  const loaded = loadSpec(target);
  return loaded.spec.files.map((f, i) => {
    const where = `${loaded.file}: files[${i}]`;
    const src = confinedPath(loaded.dir, f.src, `${where}.src`, 'the spec folder');
    let data: Buffer;
    try {
      data = readFileSync(src);
    } catch (e) {
      throw ioError(e, `${where}: cannot read ${src}`);
    }
    return {
      path: cleanMemberPath(f.dest.replace(/^\/+/, ''), where), step: 'spec files', type: 'file' as const,
      sha256: createHash('sha256').update(data).digest('hex'), md5: createHash('md5').update(data).digest('hex'),
    };
  });
}

/** Audits an opened image reference; `extra` are entries known to be generated (a spec's files). */
async function auditImage(reference: string, opts: AuditOptions, extra: GeneratedEntry[] = []): Promise<AuditReport> {
  const ref = parseImageRef(reference);
  const platform = opts.platform ? (await import('../pipeline/validate.js')).checkPlatform(opts.platform) : undefined;
  const image = await readImage(await openImage(ref, opts.registry ? { registry: opts.registry } : {}), formatImageRef(ref), platform);
  // One read with md5 (what dpkg records, and pacman's mtree too); sha256 in a second read, only
  // of the files whose records have one (pacman) or that turned out modified (for the report).
  // What needs no digest (the package records, which entry each recorded path is, what the
  // build's steps made, and the accounts as far as they go without digests) is worked out while
  // the files are being hashed.
  let prepared: { perTree: Array<{ readers: TreeReaders; packages: PackageRecord[] }>; own: ReturnType<typeof ownership>; generated: Map<string, GeneratedEntry>; plan: AccountPlan; shaRecorded: string[] } | undefined;
  const prepare = async ({ entries, kept }: FlatImage): Promise<void> => {
    // Package records are read once (the second read, if any, keeps the same database files).
    checkDatabaseFiles(entries, kept);
    // A distribution's readers are loaded when the image has its database (else it has none of its packages).
    const present = TREE_READERS.filter((d) => {
      for (const p of kept.keys()) if (d.isDatabaseFile(p)) return true;
      return false;
    });
    const perTree = (await Promise.all(present.map((d) => d.readers()))).map((readers) => ({ readers, packages: readers.packageRecords(kept, AUDIT_RECORDS) }));
    const own = ownership(entries, perTree.flatMap((t) => t.packages));
    const generated = new Map<string, GeneratedEntry>();
    const tree = ownedTree(entries, own.owned);
    // A spec's files are placed after the install step, through the tree's symlinked directories.
    const linkOf = (p: string): string | undefined => { const e = entries.get(p); return e?.type === 'symlink' ? e.linkname : undefined; };
    for (const g of extra) {
      const path = resolveRecorded({ linkOf }, g.path);
      if (path !== undefined) generated.set(path, { ...g, path });
    }
    for (const { readers, packages } of perTree) {
      if (packages.length === 0) continue;
      for (const g of readers.generated({ entries: tree, all: entries, packages, read: (p) => kept.get(p) })) if (!generated.has(g.path)) generated.set(g.path, g);
    }
    // The second read's files: those whose records have a sha256, and those found modified.
    const shaRecorded: string[] = [];
    for (const [path, list] of own.owned) if (list.some((o) => o.file.sha256 !== undefined)) shaRecorded.push(path);
    // The kept files are read (records, predictions): let go of them before the accounts are made
    // (a Buffer each of an image's package database files, 600,000 in an image of 300,000 packages).
    kept.clear();
    prepared = { perTree, own, generated, plan: planAccounts(entries, own, generated), shaRecorded };
  };
  await flattenLayers(image.layers, { md5: true, keep: needed, meanwhile: prepare });
  if (!prepared) throw new Error('internal: audit: the image was read without its records');
  const { perTree, generated } = prepared;
  const records: PackageRecord[] = perTree.flatMap((t) => t.packages);
  let accounts = settleAccounts(prepared.plan);
  let missing = prepared.own.missing;
  const want = new Set(prepared.shaRecorded);
  // The accounts are made: the entry table, the ownership and the plan are let go of (held by
  // `prepared`) before the second read, if any, and the report.
  prepared = undefined;
  for (const a of accounts) if (a.kind === 'modified' && a.type === 'file') want.add(a.path);
  if (want.size > 0) {
    // The records are read: this read keeps no file (the first one kept the database and checked it).
    const flat = await flattenLayers(image.layers, { md5: true, sha256: (p) => want.has(p) });
    const own = ownership(flat.entries, records);
    accounts = accountEntries(flat.entries, own, generated);
    missing = own.missing;
  }
  const status = opts.rebuilders && opts.rebuilders.length > 0 ? await (await import('../status/status.js')).askRebuilders(records, opts.rebuilders, opts.retry) : undefined;
  return buildReport({ target: reference, manifest: image.descriptor.digest, platform: formatPlatform(image.platform) }, accounts, records, missing, status);
}

export async function audit(opts: AuditOptions): Promise<AuditReport> {
  if (isImageReference(opts.target)) return auditImage(opts.target, opts);
  if (!opts.cacheDir) throw new ReproError('E_USAGE', `audit ${opts.target}: a spec is built before it is audited, which needs the package cache (cacheDir)`);
  const { buildSpec } = await import('../pipeline/spec.js');
  const cacheDir = opts.cacheDir;
  return withScratchDir(opts.tmpDir, async (scratch) => {
    const out = `oci:${join(scratch, 'image')}:audit`;
    await buildSpec({ spec: opts.target, cacheDir, output: out, ...(opts.offline ? { offline: true } : {}), ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}) });
    const report = await auditImage(out, { ...opts, target: out }, await specFiles(opts.target));
    return { ...report, target: opts.target };
  });
}
