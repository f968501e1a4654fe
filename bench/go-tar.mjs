// go-tar: throughput of the Go tar dialect (src/archive/go-tar*.ts) on a real tree: the entries
// and contents of a Debian minbase root file system tarball (REPRO_DEBIAN_ROOTFS, made by
// .ci/debian-rootfs.sh), held in memory so that only the codec and the hash are measured.
// Prints MB/s (of tar bytes produced) for each path, median of RUNS (default 3).
// Usage: npm run build && REPRO_DEBIAN_ROOTFS=... node bench/go-tar.mjs
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { goTarStream } from '../dist/src/archive/go-tar.js';
import { goTarRead } from '../dist/src/archive/go-tar-reader.js';
import { goLayerStream } from '../dist/src/archive/go-tar-layer.js';
import { goSummaryStream, goTarReencode } from '../dist/src/archive/go-tar-summary.js';

const tarball = process.env.REPRO_DEBIAN_ROOTFS;
if (!tarball) throw new Error('set REPRO_DEBIAN_ROOTFS to a root file system tarball (.ci/debian-rootfs.sh prints one)');
const RUNS = Number(process.env.RUNS ?? 3);
const archive = readFileSync(tarball);
async function* one(b) { yield b; }

// The tree: every entry with its content as a view of the tarball in memory.
const TYPES = { 0x30: 'file', 0x31: 'hardlink', 0x32: 'symlink', 0x33: 'char', 0x34: 'block', 0x35: 'dir', 0x36: 'fifo' };
const entries = [];
let pos = 0;
for await (const e of goTarRead(one(archive), tarball)) {
  const h = e.header;
  const name = Buffer.from(h.name, 'latin1').toString('utf8').replace(/^\.\//, '');
  if (name === '' || name === '.') continue;
  const chunks = [];
  for await (const c of e.body()) chunks.push(c);
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  entries.push({
    header: {
      name, type: TYPES[h.typeflag] ?? 'file', mode: Number(h.mode & 0o7777n), uid: Number(h.uid), gid: Number(h.gid),
      size: TYPES[h.typeflag] === 'file' || !TYPES[h.typeflag] ? body.length : 0, mtime: Number(h.modTime.sec),
      linkname: Buffer.from(h.linkname, 'latin1').toString('utf8').replace(/^\.\//, ''),
      devmajor: Number(h.devmajor), devminor: Number(h.devminor),
      ...(h.xattrs ? { xattrs: new Map([...h.xattrs].map(([k, v]) => [k, Buffer.from(v, 'latin1')])) } : {}),
    },
    body: () => [body],
  });
  pos += body.length;
}

async function measure(label, make, hash) {
  const times = [];
  let bytes = 0;
  for (let r = 0; r < RUNS; r++) {
    const h = hash ? createHash('sha256') : undefined;
    bytes = 0;
    const t0 = performance.now();
    for await (const c of make()) {
      bytes += c.length;
      h?.update(c);
    }
    h?.digest();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  console.log(`${label.padEnd(48)} ${(bytes / 1e6).toFixed(1).padStart(7)} MB  ${(ms / 1000).toFixed(3).padStart(6)} s  ${(bytes / 1e6 / (ms / 1000)).toFixed(0).padStart(6)} MB/s`);
}

console.log(`${entries.length} entries, ${(pos / 1e6).toFixed(1)} MB of content (${tarball}); node ${process.version}; median of ${RUNS}`);
await measure('sha256 of the tarball alone (baseline)', async function* () { for (let i = 0; i < archive.length; i += 1 << 20) yield archive.subarray(i, i + (1 << 20)); }, true);
await measure('goTarStream (layer writer), bytes counted', () => goTarStream(entries), false);
await measure('goTarStream + sha256', () => goTarStream(entries), true);
await measure('goLayerStream (storage + buildah clamp) + sha256', () => goLayerStream(entries, { sourceDateEpoch: 1700000000 }), true);
await measure('goSummaryStream (COPY dir summary) + sha256', () => goSummaryStream(entries, 'tree'), true);
await measure('goTarReencode (ADD summary of the tarball) + sha256', () => goTarReencode(one(archive), tarball), true);

// A synthetic 170 MB tree of many small files (the header path under load): 60,000 files whose
// sizes follow a log-uniform spread from 0 to 30 kB, in 600 directories, with names of 30-120 bytes.
{
  const content = Buffer.alloc(1 << 20, 0x61);
  const synthetic = [];
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  let total = 0;
  for (let d = 0; d < 600; d++) {
    const dir = `usr/share/${'pkg'.padEnd(10 + (d % 40), 'x')}-${d}`;
    synthetic.push({ header: { name: `${dir}/`, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1600000000 } });
    for (let f = 0; f < 100; f++) {
      const size = Math.min(65536, Math.floor(Math.exp(rnd() * Math.log(30000)))) - 1;
      const body = content.subarray(0, Math.max(0, size));
      total += body.length;
      synthetic.push({ header: { name: `${dir}/file-${f}${'.txt'.repeat(1 + (f % 20))}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 1500000000 + f }, body: () => [body] });
    }
  }
  console.log(`\nsynthetic tree: ${synthetic.length} entries, ${(total / 1e6).toFixed(1)} MB of content`);
  await measure('goTarStream (layer writer), bytes counted', () => goTarStream(synthetic), false);
  await measure('goTarStream + sha256', () => goTarStream(synthetic), true);
  await measure('goLayerStream (storage + buildah clamp) + sha256', () => goLayerStream(synthetic, { sourceDateEpoch: 1700000000 }), true);
  await measure('goSummaryStream (COPY dir summary) + sha256', () => goSummaryStream(synthetic, 'tree'), true);
}
