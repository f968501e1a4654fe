/**
 * Fuzz targets: every parser of untrusted bytes, driven the way the program drives it. The one
 * property: a target either succeeds or fails with a ReproError (a stable code, one line, a
 * documented exit status), within a time limit. Anything else (a TypeError, RangeError, a plain
 * Error, a hang) is a crash. Used by the fuzz campaign (`npm run fuzz`) and by the replay test that
 * runs the committed corpus and every crash found so far on each `npm test`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompressStream } from '../../src/archive/compress.js';
import { decodePaxRecords } from '../../src/archive/tar-header.js';
import { readTar } from '../../src/archive/tar-reader.js';
import { goTarReencode, isGoTarArchive } from '../../src/archive/go-tar-summary.js';
import { cleanMemberPath } from '../../src/archive/paths.js';
import type { Entry } from '../../src/archive/entry.js';
import { readEntryBytes } from '../../src/archive/content.js';
import { orderEntries, tarChunks } from '../../src/archive/tar-writer.js';
import { parseDescriptor } from '../../src/model/descriptor.js';
import { parseConfig } from '../../src/model/config.js';
import { parseManifest } from '../../src/model/manifest.js';
import { parseIndex } from '../../src/model/oci-index.js';
import { ReproError } from '../../src/model/errors.js';
import { parseJsonBytes } from '../../src/model/json.js';
import { memberEntry } from '../../src/sources/rootfs/tarball.js';
import { completeTree } from '../../src/sources/rootfs/tree.js';
import { readDeb, dataTarStream } from '../../src/sources/debian/deb.js';
import { parseParagraphs } from '../../src/sources/debian/control.js';
import { parsePackages } from '../../src/sources/debian/packages.js';
import { parseRelease } from '../../src/sources/debian/release.js';
import { parseDesc } from '../../src/sources/arch/desc.js';
import { parsePkgInfo } from '../../src/sources/arch/pkginfo.js';
import { mtreeFileList } from '../../src/sources/arch/mtree.js';
import { readSyncDb } from '../../src/sources/arch/syncdb.js';
import { archRecords } from '../../src/sources/arch/records.js';
import { parseLicenseExpression, writeLicenseExpression } from '../../src/sources/license-expression.js';
import { addToIndex } from '../../src/transports/layout/write.js';
import { documentMediaType } from '../../src/transports/registry/manifests.js';
import { openDockerArchive } from '../../src/transports/archive/docker-archive.js';
import { openOciArchive } from '../../src/transports/archive/oci-archive.js';
import { parseContainerfile, resolveContainerfile } from '../../src/pipeline/containerfile/index.js';
import { generateKeyPairSync } from 'node:crypto';
import { DSSE_MEDIA_TYPE, INTOTO_MEDIA_TYPE, envelopeVerifies, parseEnvelope, parseStatement } from '../../src/sbom/intoto.js';
import { checkAttestation } from '../../src/sbom/attestations.js';

/** A key for the attestation target's signature checks (any key: the property is no crash). */
const FUZZ_KEY = generateKeyPairSync('ed25519').publicKey;

/** Decompressed output read per input at most: a bomb is cut short here, not a crash. */
const OUTPUT_CAP = 32 << 20;

async function drain(source: AsyncIterable<Buffer>, cap = OUTPUT_CAP): Promise<number> {
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > cap) break;
  }
  return n;
}

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

let scratch: string | undefined;
/** A file holding `data`, for parsers that read files. */
function asFile(data: Buffer, name: string): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'fuzz-'));
  const p = join(scratch, name);
  writeFileSync(p, data);
  return p;
}
export function cleanupScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/**
 * What a rootfs build does with an archive: members resolved into entries, parents completed,
 * the layer tar written. Then the round trip: our tar read back must say exactly what the entries
 * said (a wrong byte here is a crash, not an error).
 */
async function tarAsRootfs(data: Buffer): Promise<void> {
  const file = asFile(data, 'fuzz.tar');
  const entries = new Map<string, Entry>();
  let inodes = 0;
  for await (const { member, body } of readTar(one(data), 'fuzz.tar')) {
    await drain(body());
    const where = `fuzz.tar: member at ${member.headerOffset}`;
    const path = cleanMemberPath(member.name, where);
    if (path === '') continue;
    const e = memberEntry(member, path, file, where, entries, () => `i${inodes++}`);
    if (e) entries.set(path, e);
  }
  completeTree(entries, 'fuzz.tar');
  const ordered = orderEntries(entries.values());
  const layer = Buffer.concat([...tarChunks(ordered, 'layer')]);
  const back: string[] = [];
  for await (const { member, body } of readTar(one(layer), 'layer')) {
    const content = Buffer.concat(await collect(body()));
    back.push(JSON.stringify([member.name.replace(/\/$/, ''), member.typeflag, member.mode, member.uid, member.gid, member.mtime, member.size, member.linkname, member.devmajor, member.devminor, [...member.xattrs].map(([k, v]) => [k, v.toString('hex')]), content.toString('hex')]));
  }
  const want = ordered.map((e) => JSON.stringify([e.path, TYPEFLAG[e.type], e.mode, e.uid, e.gid, e.mtime, e.type === 'file' ? e.size : 0,
    e.linkname ?? '', e.devmajor ?? 0, e.devminor ?? 0, [...(e.xattrs ?? [])].map(([k, v]) => [k, v.toString('hex')]), e.type === 'file' ? readEntryBytes(e).toString('hex') : '']));
  for (let i = 0; i < Math.max(want.length, back.length); i++) {
    if (want[i] !== back[i]) throw new Error(`round trip: entry ${i}: wrote ${want[i]}, read back ${back[i]}`);
  }
}

const TYPEFLAG: Record<Entry['type'], number> = { file: 0x30, dir: 0x35, symlink: 0x32, hardlink: 0x31, char: 0x33, block: 0x34, fifo: 0x36 };

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of source) out.push(c);
  return out;
}

export interface Target {
  name: string;
  run(data: Buffer): Promise<unknown>;
}

const text = (b: Buffer): string => b.toString('utf8');

export const TARGETS: Target[] = [
  { name: 'tar', run: tarAsRootfs },
  { name: 'pax', run: async (b) => decodePaxRecords(b, 0, 'fuzz') },
  // buildah's ADD summary pipe (Go's tar reader and writer, src/archive/go-tar*.ts).
  { name: 'go-tar', run: async (b) => (await isGoTarArchive(one(b))) && drain(goTarReencode(one(b), 'fuzz.tar')) },
  { name: 'gzip', run: (b) => drain(decompressStream('gzip', one(b), 'fuzz.gz')) },
  { name: 'zstd', run: (b) => drain(decompressStream('zstd', one(b), 'fuzz.zst')) },
  {
    name: 'deb',
    run: async (b) => {
      const path = asFile(b, 'fuzz.deb');
      const deb = await readDeb(path, 'fuzz.deb');
      for await (const { body } of readTar(dataTarStream(path, deb, 'fuzz.deb'), 'fuzz.deb: data')) await drain(body());
    },
  },
  {
    name: 'deb822',
    run: async (b) => {
      const t = text(b);
      parseParagraphs(t, 'fuzz');
      parsePackages(t, 'main', 'amd64', 'fuzz');
      try {
        parseRelease(t, 'fuzz');
      } catch (e) {
        if (!(e instanceof ReproError)) throw e;
      }
    },
  },
  { name: 'pacman-desc', run: async (b) => parseDesc(text(b), 'fuzz') },
  { name: 'pkginfo', run: async (b) => parsePkgInfo(text(b), 'fuzz') },
  { name: 'mtree', run: async (b) => mtreeFileList(text(b), 'fuzz') },
  { name: 'syncdb', run: (b) => readSyncDb(b, 'core', 'fuzz.db') },
  {
    // Each line a %LICENSE% entry: an expression read and written again reads back as itself, and
    // the package's records are made (an expression, or a note) whatever the lines are.
    name: 'license-expression',
    run: async (b) => {
      const lines = text(b).split('\n');
      for (const line of lines) {
        const node = parseLicenseExpression(line);
        if (node === undefined) continue;
        const written = writeLicenseExpression(node, (t) => t);
        const again = parseLicenseExpression(written);
        if (again === undefined || writeLicenseExpression(again, (t) => t) !== written) throw new Error(`round trip: ${JSON.stringify(line)} written ${JSON.stringify(written)}`);
      }
      const entries = lines.filter((l) => l.trim() !== '' && !l.startsWith('%')).join('\n');
      return archRecords(new Map([['var/lib/pacman/local/p-1-1/desc', Buffer.from(`%NAME%\np\n\n%VERSION%\n1-1\n\n%LICENSE%\n${entries}\n\n`)]]));
    },
  },
  {
    name: 'oci-json',
    run: async (b) => {
      documentMediaType(b, undefined);
      const results = [];
      for (const parse of [
        () => parseManifest(b, 'fuzz'),
        () => parseIndex(b, 'fuzz'),
        () => parseConfig(b, 'fuzz'),
        () => parseDescriptor(parseJsonBytes(b, 'fuzz'), 'fuzz'),
        () => addToIndex(b, 'fuzz', { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 1 }, 't'),
      ]) {
        try {
          results.push(parse());
        } catch (e) {
          if (!(e instanceof ReproError)) throw e;
        }
      }
      return results;
    },
  },
  {
    // What `attestations` reads from a referrer: a DSSE envelope or a bare in-toto Statement.
    name: 'intoto',
    run: async (b) => {
      const subject = `sha256:${'0'.repeat(64)}`;
      const results: unknown[] = [checkAttestation(b, DSSE_MEDIA_TYPE, subject, 'fuzz', FUZZ_KEY), checkAttestation(b, INTOTO_MEDIA_TYPE, subject, 'fuzz')];
      for (const parse of [() => envelopeVerifies(parseEnvelope(b, 'fuzz'), FUZZ_KEY), () => parseStatement(b, 'fuzz')]) {
        try {
          results.push(parse());
        } catch (e) {
          if (!(e instanceof ReproError)) throw e;
        }
      }
      return results;
    },
  },
  {
    name: 'containerfile',
    run: async (b) => {
      const parsed = parseContainerfile(b, 'fuzz/Containerfile');
      return resolveContainerfile(parsed, { baseImage: () => ({ env: ['PATH=/bin', 'NAME=v'] }), buildArgs: { NAME: 'cli' } });
    },
  },
  {
    name: 'image-archive',
    run: async (b) => {
      const path = asFile(b, 'fuzz-image.tar');
      for (const open of [() => openDockerArchive(path, undefined), () => openOciArchive(path, undefined)]) {
        try {
          await open();
        } catch (e) {
          if (!(e instanceof ReproError)) throw e;
        }
      }
    },
  },
];

export interface Outcome {
  ok: boolean;
  /** For a crash: what was thrown, or 'timeout'. */
  error?: string;
}

/** Runs a target on one input: ok when it succeeds or throws a ReproError within `timeoutMs`. */
export async function runOne(t: Target, data: Buffer, timeoutMs = 10_000): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((ok) => { timer = setTimeout(() => ok({ ok: false, error: 'timeout' }), timeoutMs); });
  const run = t.run(data).then(
    () => ({ ok: true }),
    (e: unknown) => (e instanceof ReproError && !e.message.includes('\n')
      ? { ok: true }
      : { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
