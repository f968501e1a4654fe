/**
 * The fuzz campaign behind `npm run fuzz [-- --seconds N] [--target NAME]`: fast-check generates
 * inputs for every target (targets.ts) from three sources: the committed corpus mutated (bit flips,
 * byte sets, inserts, deletes, truncation, hostile numbers written over fields, tar checksums
 * recomputed so that mutated headers get past the checksum), tar archives generated field by field
 * (names with any bytes, numbers in octal, base-256 or garbage, pax records with any keys and
 * values, every type flag), and raw random bytes. A crash (anything but success or a one-line
 * ReproError, or a time-out) is shrunk, saved into the corpus as `crash-*` (so the replay test keeps
 * it as a regression test) and reported. Jazzer.js would add coverage guidance, but its native
 * fuzzer does not load here (4.0.0 needs glibc 2.38; 2.1.0 downloads its binary at install).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { encodePaxRecords } from '../../src/archive/tar-header.js';
import { TARGETS, cleanupScratch, runOne, type Target } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The corpus in the source tree (this file runs from dist/test/fuzz). */
export const CORPUS = join(here, '..', '..', '..', 'test', 'fuzz', 'corpus');

export function corpusOf(target: string): Array<[string, Buffer]> {
  let names: string[];
  try {
    names = readdirSync(join(CORPUS, target)).sort();
  } catch {
    return [];
  }
  return names.map((n) => [n, readFileSync(join(CORPUS, target, n))]);
}

// ---- mutations --------------------------------------------------------------------------------

const HOSTILE_NUMBERS = ['-1', '0', '777777777777', '99999999999999999999', '1e23', '1.5', ' ', '\0', '0x10', '-0', 'NaN', 'Infinity', '4294967295', '9007199254740993', '00000000000', '\xff\xff\xff\xff\xff\xff\xff\xff', '\x80\0\0\0\0\0\0\x01'];

type Mutation =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'set'; at: number; v: number }
  | { k: 'insert'; at: number; bytes: Uint8Array }
  | { k: 'delete'; at: number; n: number }
  | { k: 'truncate'; at: number }
  | { k: 'number'; at: number; s: string }
  | { k: 'tarsum' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('number' as const), at: fc.nat(), s: fc.constantFrom(...HOSTILE_NUMBERS) }),
  fc.constant({ k: 'tarsum' as const }),
);

/** Recomputes the checksum of every block that looks like a ustar header. */
export function fixTarChecksums(b: Buffer): void {
  for (let off = 0; off + 512 <= b.length; off += 512) {
    if (b.toString('latin1', off + 257, off + 262) !== 'ustar') continue;
    b.fill(0x20, off + 148, off + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += b[off + i]!;
    b.write(sum.toString(8).padStart(6, '0'), off + 148, 6, 'ascii');
    b[off + 154] = 0;
  }
}

function applyMutations(seed: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : ('at' in m ? m.at % b.length : 0);
    switch (m.k) {
      case 'flip': if (b.length) b[at] = b[at]! ^ (1 << m.bit); break;
      case 'set': if (b.length) b[at] = m.v; break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]); break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'number': b.write(m.s, at, 'latin1'); break;
      case 'tarsum': fixTarChecksums(b); break;
    }
  }
  return b;
}

// ---- tar archives field by field ----------------------------------------------------------------

const nameBytes = fc.oneof(
  fc.stringMatching(/^[a-z./]{0,40}$/).map((s) => Buffer.from(s)),
  fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u)),
  fc.integer({ min: 90, max: 5000 }).map((n) => Buffer.from(`${'d/'.repeat(n >> 1)}f`)),
);
const numberField = (width: number): fc.Arbitrary<Buffer> => fc.oneof(
  fc.nat().map((n) => Buffer.from(`${n.toString(8).padStart(width - 1, '0').slice(-(width - 1))}\0`, 'latin1')),
  fc.constantFrom(...HOSTILE_NUMBERS).map((s) => Buffer.from(s.padEnd(width, '\0').slice(0, width), 'latin1')),
  fc.uint8Array({ minLength: width, maxLength: width }).map((u) => { const b = Buffer.from(u); b[0] = b[0]! | 0x80; return b; }),
);
const PAX_KEYS = ['path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'atime', 'uname', 'gname', 'hdrcharset', 'SCHILY.xattr.user.x', 'SCHILY.xattr.security.capability', 'LIBARCHIVE.xattr.user.%41', 'LIBARCHIVE.xattr.%E0%A4%A', 'GNU.sparse.size', 'comment'];
const paxValue = fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS).map((s) => Buffer.from(s, 'latin1')), nameBytes, fc.nat().map((n) => Buffer.from(String(n))));
const TYPEFLAGS = [0x30, 0x00, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x78, 0x67, 0x4c, 0x4b, 0x53, 0x56, 0x44, 0x4d, 0x41, 0xff];

const tarMember = fc.record({
  name: nameBytes,
  linkname: nameBytes,
  prefix: fc.option(nameBytes, { nil: undefined }),
  mode: numberField(8), uid: numberField(8), gid: numberField(8), mtime: numberField(12), devmajor: numberField(8), devminor: numberField(8),
  typeflag: fc.constantFrom(...TYPEFLAGS),
  magic: fc.constantFrom('ustar\x0000', 'ustar  \0', '\0\0\0\0\0\0\0\0'),
  data: fc.uint8Array({ maxLength: 700 }),
  sizeField: fc.option(numberField(12), { nil: undefined }),
  pax: fc.option(fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PAX_KEYS), fc.string({ maxLength: 12 })), paxValue), { maxLength: 5 }), { nil: undefined }),
});

function header(m: { name: Buffer; linkname: Buffer; prefix: Buffer | undefined; mode: Buffer; uid: Buffer; gid: Buffer; mtime: Buffer; devmajor: Buffer; devminor: Buffer; typeflag: number; magic: string }, size: Buffer): Buffer {
  const h = Buffer.alloc(512);
  m.name.copy(h, 0, 0, 100);
  m.mode.copy(h, 100); m.uid.copy(h, 108); m.gid.copy(h, 116); size.copy(h, 124); m.mtime.copy(h, 136);
  h[156] = m.typeflag;
  m.linkname.copy(h, 157, 0, 100);
  h.write(m.magic, 257, 8, 'latin1');
  m.devmajor.copy(h, 329); m.devminor.copy(h, 337);
  m.prefix?.copy(h, 345, 0, 155);
  return h;
}

const generatedTar: fc.Arbitrary<Buffer> = fc.array(tarMember, { minLength: 1, maxLength: 6 }).map((members) => {
  const parts: Buffer[] = [];
  for (const m of members) {
    if (m.pax) {
      const body = encodePaxRecords(new Map(m.pax.map(([k, v]) => [k, v])));
      const octal = Buffer.from(`${body.length.toString(8).padStart(11, '0')}\0`);
      parts.push(header({ ...m, name: Buffer.from('PaxHeader'), typeflag: 0x78, magic: 'ustar\x0000' }, octal), body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    const data = Buffer.from(m.data);
    parts.push(header(m, m.sizeField ?? Buffer.from(`${data.length.toString(8).padStart(11, '0')}\0`)), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  const b = Buffer.concat(parts);
  fixTarChecksums(b);
  return b;
});

// ---- Containerfiles from the tokens that matter to the lexer, parser and substitution ------------

const CF_TOKENS = [
  'FROM ', 'FROM scratch', 'FROM a AS b', 'FROM b', 'ARG ', 'ENV ', 'LABEL ', 'RUN ', 'CMD ', 'ENTRYPOINT ', 'COPY ', 'ADD ',
  'WORKDIR ', 'USER ', 'EXPOSE ', 'VOLUME ', 'STOPSIGNAL ', 'ONBUILD ', 'HEALTHCHECK ', 'SHELL ', '# escape=`', '# escape=\\', '#',
  '\\', '`', '\n', '\r\n', '\r', ' ', '\t', '\u00a0', '\ufeff', '"', "'", '$', '${', '}', ':-', ':+', ':?', '%', '/', '[', ']', ',', '=',
  'a=b', 'NAME', '$NAME', '${NAME:-x}', '--from=', '--from=0', '--chown=', '--chmod=755', '--platform=', '--mount=x', '--', '<<EOF',
  'EOF', '["a"]', '[1]', '{', '\\u0000', '\0', 'é', '😀', '\u2028', '0', 'SIGTERM', '..', '.', 'x'.repeat(300),
];
const containerfileSoup: fc.Arbitrary<Buffer> = fc.tuple(fc.boolean(), fc.array(fc.constantFrom(...CF_TOKENS), { minLength: 1, maxLength: 60 }))
  .map(([from, tokens]) => Buffer.from(`${from ? 'FROM scratch\n' : ''}${tokens.join('')}`));

// ---- per-target input arbitraries ---------------------------------------------------------------

const TAR_TARGETS = new Set(['tar', 'image-archive']);
const GZIPPED_TAR_TARGETS = new Set(['syncdb']);

export function inputsFor(t: Target): fc.Arbitrary<Buffer> {
  const corpus = corpusOf(t.name).map(([, b]) => b);
  const arbs: Array<fc.Arbitrary<Buffer>> = [fc.uint8Array({ maxLength: 2048 }).map((u) => Buffer.from(u))];
  if (corpus.length > 0) {
    const mutated = fc.tuple(fc.constantFrom(...corpus), fc.array(mutation, { minLength: 1, maxLength: 8 })).map(([s, ms]) => applyMutations(s, ms));
    arbs.push(mutated, mutated, mutated);
    if (GZIPPED_TAR_TARGETS.has(t.name)) arbs.push(mutated.map((b) => gzipSync(b)));
  }
  if (TAR_TARGETS.has(t.name)) arbs.push(generatedTar, generatedTar);
  if (GZIPPED_TAR_TARGETS.has(t.name)) arbs.push(generatedTar.map((b) => gzipSync(b)));
  if (t.name === 'containerfile') arbs.push(containerfileSoup, containerfileSoup);
  if (t.name === 'pax') arbs.push(fc.array(fc.tuple(fc.constantFrom(...PAX_KEYS), paxValue), { maxLength: 6 }).map((r) => encodePaxRecords(new Map(r))));
  return fc.oneof(...arbs);
}

// ---- the campaign ------------------------------------------------------------------------------

export interface TargetReport {
  target: string;
  executions: number;
  seconds: number;
  crash?: { file: string; error: string };
}

export async function fuzzTarget(t: Target, budgetMs: number, seed: number): Promise<TargetReport> {
  const started = Date.now();
  let executions = 0;
  let lastError = '';
  const result = await fc.check(
    fc.asyncProperty(inputsFor(t), async (data) => {
      executions++;
      const o = await runOne(t, data);
      if (!o.ok) {
        lastError = o.error ?? '';
        return false;
      }
      return true;
    }),
    { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false, seed },
  );
  const report: TargetReport = { target: t.name, executions, seconds: (Date.now() - started) / 1000 };
  if (result.failed && result.counterexample) {
    const data = result.counterexample[0];
    const name = `crash-${createHash('sha256').update(data).digest('hex').slice(0, 12)}`;
    mkdirSync(join(CORPUS, t.name), { recursive: true });
    writeFileSync(join(CORPUS, t.name, name), data);
    const again = await runOne(t, data);
    report.crash = { file: join('test', 'fuzz', 'corpus', t.name, name), error: (again.error ?? lastError).split('\n').slice(0, 4).join(' | ') };
  }
  return report;
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let seconds = 120;
  let only: string | undefined;
  let seed = Date.now() % 2 ** 31;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--target') only = argv[++i];
    else if (argv[i] === '--seed') seed = Number(argv[++i]);
  }
  const targets = TARGETS.filter((t) => only === undefined || t.name === only);
  if (targets.length === 0 || !(seconds > 0)) {
    process.stderr.write(`usage: npm run fuzz -- [--seconds N] [--target ${TARGETS.map((t) => t.name).join('|')}] [--seed N]\n`);
    return 2;
  }
  const budget = (seconds * 1000) / targets.length;
  process.stdout.write(`fuzzing ${targets.length} targets for ${seconds} s (seed ${seed})\n`);
  const reports: TargetReport[] = [];
  for (const t of targets) {
    const r = await fuzzTarget(t, budget, seed);
    reports.push(r);
    process.stdout.write(`${t.name.padEnd(14)} ${String(r.executions).padStart(9)} executions in ${r.seconds.toFixed(1)} s${r.crash ? `  CRASH saved as ${r.crash.file}: ${r.crash.error}` : ''}\n`);
  }
  cleanupScratch();
  const total = reports.reduce((n, r) => n + r.executions, 0);
  const crashes = reports.filter((r) => r.crash).length;
  process.stdout.write(`total: ${total} executions, ${crashes} crash${crashes === 1 ? '' : 'es'}\n`);
  return crashes > 0 ? 1 : 0;
}
