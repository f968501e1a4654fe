#!/usr/bin/env node
// soak: many builds and copies into ONE oci: layout by parallel writers, some killed with SIGKILL at
// a random moment, then a full integrity check of what is left. See bench/soak for the why.
//
//   OPS=1000 WRITERS=4 KILL=0.2 SEED=1 node bench/soak.mjs      (after `npx tsc -p .`)
//
// Checked at the end:
//   tags     every tag that a process reported written (exit 0, digest on stdout) is in index.json,
//            pointing at the digest that process printed;
//   blobs    every file in blobs/sha256 hashes to its name; every manifest, config and layer that a
//            tag reaches is there with its declared size; skopeo inspects a sample of the tags;
//   leftover nothing in the writers' TMPDIR, nothing beside the output but what the bench made,
//            nothing inside the layout but blobs/, index.json and oci-layout. Checked after one
//            last build (not killed): SIGKILL cannot be caught, so what a killed run leaves is the
//            next run's to remove (its owner is dead), and that build is the next run. What was
//            there before it is counted and reported too.
//
// SIGNALS=SIGKILL,SIGTERM,SIGINT picks each kill's signal at random from the list (default SIGKILL);
// a run ended by SIGINT/SIGTERM must exit 130/143 having removed its own temporary files.
// Exit status 0 only when all three hold.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const { makeTar } = await import(join(REPO, 'dist', 'test', 'helpers', 'tar-maker.js'));

const OPS = Number(process.env.OPS ?? 1000);
const WRITERS = Number(process.env.WRITERS ?? 4);
const KILL = Number(process.env.KILL ?? 0.2);
const MAX_KILL_DELAY_MS = Number(process.env.MAX_KILL_DELAY_MS ?? 700);
let seed = Number(process.env.SEED ?? 1);
const KEEP = process.env.KEEP === '1';
const SIGNALS = (process.env.SIGNALS ?? 'SIGKILL').split(',');
const EXIT_FOR = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** A small deterministic PRNG (mulberry32), so a run can be repeated with its SEED. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

if (!existsSync(CLI)) {
  console.error(`soak: ${CLI} is missing; run npx tsc -p . first`);
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'soak-'));
const inputs = join(work, 'inputs');
const writerTmp = join(work, 'tmp');
const out = join(work, 'out');
const src = join(work, 'src');
mkdirSync(inputs);
mkdirSync(writerTmp);

// Eight root filesystems: plain and gzip tarballs with a few files, one large enough (2 MiB) that a
// kill often lands while its layer is being written.
const variants = [];
for (let i = 0; i < 8; i++) {
  const members = [{ name: 'etc/', type: 'dir' }, { name: 'etc/variant', data: `variant ${i}\n` }, { name: 'usr/', type: 'dir' }, { name: 'usr/share/', type: 'dir' }];
  for (let j = 0; j < 20; j++) members.push({ name: `usr/share/f${j}`, data: `${i}:${j}\n`.repeat(50 + j) });
  if (i % 3 === 0) members.push({ name: 'usr/big.bin', data: Buffer.alloc(2 << 20, i) });
  const tar = makeTar(members);
  const file = join(inputs, i % 2 === 0 ? `v${i}.tar` : `v${i}.tar.gz`);
  writeFileSync(file, i % 2 === 0 ? tar : gzipSync(tar));
  variants.push(file);
}

function run(args, killAfter, sig = 'SIGKILL') {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, TMPDIR: writerTmp, SOURCE_DATE_EPOCH: '1700000000' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = killAfter === undefined ? undefined : setTimeout(() => { killed = child.kill(sig); }, killAfter);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const interrupted = killed && sig !== 'SIGKILL' && code === EXIT_FOR[sig] && /interrupted by /.test(stderr);
      // A signal that lands before the CLI installed its handler ends the process as the signal does.
      resolve({ code, signal, killed: killed && (signal === sig || interrupted), interrupted, early: killed && sig !== 'SIGKILL' && signal === sig, stdout, stderr });
    });
  });
}

// The copy sources: a layout with four tags, made before the soak.
for (let k = 0; k < 4; k++) {
  const r = await run(['build', '--rootfs', variants[k * 2 + 1], '--output', `oci:${src}:t${k}`]);
  if (r.code !== 0) throw new Error(`setup build failed: ${r.stderr}`);
}

const started = Date.now();
const reported = new Map(); // tag -> digest
const failures = [];
let next = 0;
let builds = 0;
let copies = 0;
let killed = 0;
let interrupted = 0;
let early = 0;
let killedAfterSuccess = 0;

async function writer() {
  for (;;) {
    const op = next++;
    if (op >= OPS) return;
    const isBuild = random() < 0.6;
    const tag = `${isBuild ? 'b' : 'c'}${op}`;
    const args = isBuild
      ? ['build', '--rootfs', variants[Math.floor(random() * variants.length)], '--output', `oci:${out}:${tag}`]
      : ['copy', `oci:${src}:t${Math.floor(random() * 4)}`, `oci:${out}:${tag}`];
    const killAfter = random() < KILL ? Math.floor(random() * MAX_KILL_DELAY_MS) : undefined;
    const sig = killAfter === undefined ? undefined : SIGNALS[Math.floor(random() * SIGNALS.length)];
    if (isBuild) builds++;
    else copies++;
    const r = await run(args, killAfter, sig);
    if (r.killed) {
      killed++;
      if (r.interrupted) interrupted++;
      if (r.early) early++;
      continue;
    }
    if (r.code === 0) {
      const digest = r.stdout.trim().split('\n').at(-1);
      if (!/^sha256:[0-9a-f]{64}$/.test(digest ?? '')) failures.push({ op, args, why: `exit 0 without a digest: ${JSON.stringify(r.stdout)}` });
      else reported.set(tag, digest);
      if (killAfter !== undefined) killedAfterSuccess++;
    } else {
      failures.push({ op, args, why: `exit ${r.code ?? r.signal}: ${r.stderr.trim()}` });
    }
  }
}

await Promise.all(Array.from({ length: WRITERS }, () => writer()));
const seconds = (Date.now() - started) / 1000;

// A writer killed while it held the layout's lock leaves its ticket; the next writer must go on
// (and remove it). One more build, not killed, is that next writer.
const staleLock = existsSync(join(out, '.index.json.lock'));
const leftBeforeLast = collectLeftovers();
const last = await run(['build', '--rootfs', variants[0], '--output', `oci:${out}:final`]);
if (last.code === 0) reported.set('final', last.stdout.trim());
else failures.push({ op: OPS, args: ['build', 'final'], why: `exit ${last.code}: ${last.stderr.trim()}` });

/** What is in the layout, beside it or in the writers' TMPDIR that is not the layout itself. */
function collectLeftovers() {
  const list = [];
  if (existsSync(out)) {
    for (const name of readdirSync(out)) if (!['blobs', 'index.json', 'oci-layout'].includes(name)) list.push(`out/${name}`);
    for (const name of readdirSync(join(out, 'blobs'))) if (name !== 'sha256') list.push(`out/blobs/${name}`);
    for (const name of readdirSync(join(out, 'blobs', 'sha256'))) if (!/^[0-9a-f]{64}$/.test(name)) list.push(`out/blobs/sha256/${name}`);
  }
  for (const name of readdirSync(work)) if (!['inputs', 'tmp', 'out', 'src'].includes(name)) list.push(name);
  for (const name of readdirSync(writerTmp)) list.push(`tmp/${name}`);
  return list;
}

// ---- integrity ------------------------------------------------------------------------------
const problems = [];
const leftovers = [];

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

let index = { manifests: [] };
try {
  index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
} catch (e) {
  problems.push(`index.json unreadable: ${e.message}`);
}
const inIndex = new Map(index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m]));
let missingTags = 0;
let wrongDigest = 0;
for (const [tag, digest] of reported) {
  const m = inIndex.get(tag);
  if (!m) {
    missingTags++;
    problems.push(`tag ${tag} was reported written (${digest}) and is missing`);
  } else if (m.digest !== digest) {
    wrongDigest++;
    problems.push(`tag ${tag} points at ${m.digest}, the writer printed ${digest}`);
  }
}

const blobDir = join(out, 'blobs', 'sha256');
let blobs = 0;
let corrupt = 0;
for (const name of readdirSync(blobDir)) {
  const path = join(blobDir, name);
  if (!/^[0-9a-f]{64}$/.test(name)) continue; // a leftover (below)
  blobs++;
  if ((await sha256File(path)) !== name) {
    corrupt++;
    problems.push(`blob ${name} does not match its digest`);
  }
}

let dangling = 0;
const need = (d, what) => {
  const p = join(blobDir, d.digest.slice(7));
  if (!existsSync(p) || statSync(p).size !== d.size) {
    dangling++;
    problems.push(`${what}: ${d.digest} (${d.size} bytes) is missing or has another size`);
    return false;
  }
  return true;
};
for (const m of index.manifests) {
  const tag = m.annotations?.['org.opencontainers.image.ref.name'];
  if (!need(m, `tag ${tag}: manifest`)) continue;
  const manifest = JSON.parse(readFileSync(join(blobDir, m.digest.slice(7)), 'utf8'));
  need(manifest.config, `tag ${tag}: config`);
  for (const l of manifest.layers) need(l, `tag ${tag}: layer`);
}

// skopeo reads a sample of the tags (it is a separate implementation of the layout format).
let skopeoChecked = 0;
if (spawnSync('skopeo', ['--version']).status === 0) {
  const tags = [...reported.keys()];
  for (let i = 0; i < Math.min(10, tags.length); i++) {
    const tag = tags[Math.floor(random() * tags.length)];
    const r = spawnSync('skopeo', ['inspect', `oci:${out}:${tag}`], { encoding: 'utf8' });
    skopeoChecked++;
    if (r.status !== 0) problems.push(`skopeo cannot inspect ${tag}: ${r.stderr.trim()}`);
  }
}

leftovers.push(...collectLeftovers());
const kindsOf = (list) => {
  const kinds = new Map();
  for (const l of list) {
    const kind = l.replace(/[0-9a-f]{64}/g, 'HEX').replace(/[0-9a-f]{16}/g, 'BOOT').replace(/\d+/g, 'N').replace(/-[A-Za-z0-9]{6}$/, '-XXXXXX');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${n} × ${k}`).join(', ');
};

const lines = [
  `soak: ${OPS} operations (${builds} builds, ${copies} copies) by ${WRITERS} writers into one layout in ${seconds.toFixed(1)} s (seed ${process.env.SEED ?? 1}, kill probability ${KILL})`,
  SIGNALS.some((x) => x !== 'SIGKILL')
    ? `  killed: ${killed} (${killed - interrupted - early} by SIGKILL, ${interrupted} by ${SIGNALS.filter((x) => x !== 'SIGKILL').join('/')} exiting ${SIGNALS.filter((x) => x !== 'SIGKILL').map((x) => EXIT_FOR[x]).join('/')}, ${early} by those before the CLI's handler was installed; plus ${killedAfterSuccess} whose kill came after they finished); lock left by a killed holder: ${staleLock ? 'yes, and the next writer went on' : 'no'}`
    : `  killed with SIGKILL: ${killed} (plus ${killedAfterSuccess} whose kill came after they finished); lock left by a killed holder: ${staleLock ? 'yes, and the next writer went on' : 'no'}`,
  `  left by killed runs before the last build: ${leftBeforeLast.length}${leftBeforeLast.length ? ` (${kindsOf(leftBeforeLast)})` : ''}; removed by it: ${leftBeforeLast.filter((l) => !leftovers.includes(l)).length}`,
  `  reported written: ${reported.size} tags; failed without a kill: ${failures.length}`,
  `  tags: ${missingTags} missing, ${wrongDigest} pointing elsewhere (index holds ${index.manifests.length} entries)`,
  `  blobs: ${blobs} checked, ${corrupt} not matching their digest; ${dangling} referenced but missing; skopeo inspected ${skopeoChecked} tags`,
  `  leftovers after it: ${leftovers.length}${leftovers.length ? ` (${kindsOf(leftovers)})` : ''}`,
];
for (const f of failures.slice(0, 10)) lines.push(`  failure: op ${f.op} ${f.args.join(' ')}: ${f.why}`);
for (const p of problems.slice(0, 20)) lines.push(`  problem: ${p}`);
const ok = failures.length === 0 && problems.length === 0 && leftovers.length === 0;
lines.push(`soak: ${ok ? 'PASS' : 'FAIL'}`);
console.log(lines.join('\n'));
if (KEEP) console.log(`kept: ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
