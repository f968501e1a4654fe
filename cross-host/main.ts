/**
 * `npm run test:cross-host`: the same digest on every host. Builds the golden fixture tree (every
 * entry type, long and non-ASCII names, hard links, setuid, security.capability, big ids, times
 * above and below SOURCE_DATE_EPOCH) with gzip, zstd and none on each host of hosts.ts (Node
 * versions on x64; arm64 and big-endian s390x under qemu-user), with 1 and 16 threads
 * (UV_THREADPOOL_SIZE and --threads) and from two different temp dirs, and asserts the committed
 * golden digests. On a host whose deflate probe chose the pure-JS reference, it also shows that
 * Node's own zlib would have given other bytes there (the probe is right); elsewhere, that the
 * reference gives the golden bytes too. Prints a table; exits 1 on any mismatch or failure.
 *
 * Needs root (the fixture has devices, owners and security.capability), npm with the registry,
 * g++, and for the other CPUs Debian's qemu-user, g++-aarch64-linux-gnu, g++-s390x-linux-gnu and
 * libc6/libstdc++6 of arm64 and s390x (dpkg --add-architecture); .ci/run installs them.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURE_EPOCH, makeFixture } from '../test/helpers/fixtures.js';
import { readGolden } from '../test/helpers/golden.js';
import { HOSTS, TOOLCHAIN, type Host } from './hosts.js';
import { ADDONS, addonInstall, cacheRoot, checkElf, nodeDist, run } from './prepare.js';
import { renderTable, type Row } from './table.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const COMPRESSIONS = ['gzip', 'zstd', 'none'] as const;
const golden = readGolden('rootfs-fixture.json') as Record<string, string>;

interface Variant { name: string; threads: number; rootfs: string; tmp: string }
interface Probe { arch: string; node: string; endianness: string; crc32: string; deflate: 'native' | 'reference'; zstd: string; xattr: string }
interface Prepared { host: Host; label: string; command: string[]; app: string }

const started = Date.now();
const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (s: string): void => { process.stderr.write(`[cross-host ${seconds()}] ${s}\n`); };

/** Runs `tasks` with at most `limit` at once, in order of the list. */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

/** Fails (never skips) when a tool for the other CPUs is missing. */
async function checkEmulation(): Promise<void> {
  const missing: string[] = [];
  for (const arch of new Set(HOSTS.map((h) => h.arch))) {
    if (arch === 'x64') continue;
    const t = TOOLCHAIN[arch];
    if ((await run(t.qemu, ['--version'])).code !== 0) missing.push(`${t.qemu} (Debian package qemu-user)`);
    if ((await run(`${t.triplet}-g++`, ['--version'])).code !== 0) missing.push(`${t.triplet}-g++ (g++-${t.triplet})`);
    if (!existsSync(`/usr/lib/${t.triplet}/libstdc++.so.6`)) missing.push(`libc6:${t.debian} and libstdc++6:${t.debian} (dpkg --add-architecture ${t.debian})`);
  }
  if (missing.length > 0) throw new Error(`cannot emulate the other CPUs; install: ${missing.join(', ')}`);
}

/**
 * A host's Node and a folder with this checkout's compiled code and that host's node_modules: for
 * x64 the checkout's own, as `npm ci` built them here (N-API addons: one build serves every Node
 * version); for another CPU, `npm ci` for that CPU against that Node's headers.
 */
async function prepare(cache: string, work: string, host: Host, dist: string): Promise<Prepared> {
  const label = host.arch === 'x64' ? 'x64' : `${host.arch} (qemu)`;
  let modules: string;
  if (host.arch === 'x64') {
    for (const a of ADDONS) checkElf(join(REPO, a), 'x64');
    modules = join(REPO, 'node_modules');
  } else {
    modules = join(await addonInstall(cache, REPO, host, dist, log), 'node_modules');
  }
  const app = join(work, `app-${host.arch}-${host.node}`);
  mkdirSync(join(app, 'dist'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(app, 'package.json'));
  cpSync(join(REPO, 'dist', 'src'), join(app, 'dist', 'src'), { recursive: true });
  cpSync(join(REPO, 'dist', 'cross-host', 'probe.js'), join(app, 'dist', 'cross-host', 'probe.js'));
  symlinkSync(modules, join(app, 'node_modules'));
  const node = join(dist, 'bin', 'node');
  const command = host.arch === 'x64' ? [node] : [TOOLCHAIN[host.arch].qemu, node];
  return { host, label, command, app };
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SOURCE_DATE_EPOCH: String(FIXTURE_EPOCH), ...extra };
  delete env['NODE_OPTIONS'];
  return env;
}

async function probe(p: Prepared): Promise<Probe> {
  const r = await run(p.command[0]!, [...p.command.slice(1), join(p.app, 'dist', 'cross-host', 'probe.js')], { env: childEnv({}) });
  if (r.code !== 0) throw new Error(`${p.label} Node ${p.host.node}: the probe failed: ${r.output.trim()}`);
  const found = JSON.parse(r.stdout) as Probe;
  if (found.arch !== p.host.arch || found.node !== `v${p.host.node}`) {
    throw new Error(`${p.label} Node ${p.host.node}: the probe ran on ${found.arch} ${found.node}`);
  }
  return found;
}

async function build(p: Prepared, v: Variant, compression: string, extra: string[] = []): Promise<{ digest: string; deflate?: string; error?: string }> {
  const out = mkdtempSync(join(v.tmp, '..', 'out-'));
  try {
    const args = [
      join(p.app, 'dist', 'src', 'cli', 'main.js'), 'build', '--rootfs', v.rootfs, '--output', `oci:${join(out, 'layout')}:t`,
      '--compression', compression, '--threads', String(v.threads), '--json', ...extra,
    ];
    const r = await run(p.command[0]!, [...p.command.slice(1), ...args], { env: childEnv({ UV_THREADPOOL_SIZE: String(v.threads), TMPDIR: v.tmp }) });
    if (r.code !== 0) return { digest: '-', error: r.output.trim().split('\n').slice(-3).join(' | ') };
    let json: { manifest?: { digest?: string }; deflate?: string };
    try {
      json = JSON.parse(r.stdout) as typeof json;
    } catch (e) {
      return { digest: '-', error: `build --json printed no JSON (${(e as Error).message}): ${r.stdout.slice(0, 200)}` };
    }
    return { digest: json.manifest?.digest ?? '-', ...(json.deflate ? { deflate: json.deflate } : {}) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function hostRows(p: Prepared, variants: Variant[]): Promise<Row[]> {
  const found = await probe(p);
  log(`${p.label} Node ${p.host.node}: ${found.endianness}, crc32 ${found.crc32}, deflate ${found.deflate}, zstd ${found.zstd}, fs-xattr ${found.xattr}`);
  const base = { host: p.label, node: p.host.node, endianness: found.endianness, crc32: found.crc32 };
  const tasks: Array<() => Promise<Row>> = [];
  for (const v of variants) {
    for (const c of COMPRESSIONS) {
      tasks.push(async () => {
        const r = await build(p, v, c);
        return { ...base, compression: c, threads: v.threads, tmp: v.name, deflate: r.deflate ?? '', digest: r.digest, expected: golden[c]!, match: r.digest === golden[c], ...(r.error ? { error: r.error } : {}) };
      });
    }
  }
  // The probe's verdict, proven: where it chose the reference, native zlib really gives other
  // bytes; where it chose native, the reference gives the golden bytes as well.
  const v = variants[0]!;
  const forced = found.deflate === 'reference' ? 'native' : 'reference';
  tasks.push(async () => {
    const r = await build(p, v, 'gzip', ['--deflate', forced]);
    const wantGolden = forced === 'reference';
    return {
      ...base, compression: `gzip, --deflate ${forced}`, threads: v.threads, tmp: v.name, deflate: r.deflate ?? '', digest: r.digest,
      expected: wantGolden ? golden['gzip']! : `not ${golden['gzip']}`,
      match: r.error === undefined && (r.digest === golden['gzip']) === wantGolden,
      ...(r.error ? { error: r.error } : {}),
    };
  });
  // Two builds at a time: each keeps about one core busy (more under qemu's translation).
  const rows = await pool(tasks, 2);
  const bad = rows.filter((r) => !r.match).length;
  log(`${p.label} Node ${p.host.node}: ${rows.length - bad}/${rows.length} as expected`);
  return rows;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('needs root: the fixture has device nodes, other owners and security.capability');
  if (process.arch !== 'x64') throw new Error(`runs on an x64 machine (the other CPUs under qemu-user), not ${process.arch}`);
  if (!existsSync(join(REPO, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run tsc -p . first (npm run test:cross-host does)');
  await checkEmulation();
  const cache = cacheRoot(process.env);
  const work = mkdtempSync(join(tmpdir(), 'repro-image-cross-host-'));
  const cleanup = (): void => rmSync(work, { recursive: true, force: true });
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  process.once('SIGTERM', () => { cleanup(); process.exit(143); });
  try {
    log(`cache ${cache}; work ${work}`);
    // Two fixture trees in two temp dirs, created in opposite orders.
    const a = join(work, 'a');
    const b = join(work, 'b', 'a second temp dir, deeper');
    const variants: Variant[] = [
      { name: 'A', threads: 1, rootfs: join(a, 'rootfs'), tmp: join(a, 'tmp') },
      { name: 'B', threads: 16, rootfs: join(b, 'rootfs'), tmp: join(b, 'tmp') },
    ];
    for (const v of variants) mkdirSync(v.tmp, { recursive: true });
    await makeFixture(variants[0]!.rootfs);
    await makeFixture(variants[1]!.rootfs, { reverse: true });

    // Downloads in parallel (network), then the addon builds one after another (CPU).
    const dists = await Promise.all(HOSTS.map((h) => nodeDist(cache, h)));
    log(`Node packages ready: ${HOSTS.map((h) => `${h.arch} ${h.node}`).join(', ')}`);
    const prepared: Prepared[] = [];
    for (const [i, h] of HOSTS.entries()) prepared.push(await prepare(cache, work, h, dists[i]!));
    log('addons ready');

    const rows: Row[] = [];
    for (const p of prepared) rows.push(...await hostRows(p, variants));
    process.stdout.write(renderTable(rows));
    const bad = rows.filter((r) => !r.match);
    for (const r of bad) process.stdout.write(`MISMATCH ${r.host} Node ${r.node} ${r.compression} threads ${r.threads} tmp ${r.tmp}: got ${r.digest}, expected ${r.expected}${r.error ? ` (${r.error})` : ''}\n`);
    process.stdout.write(`\n${prepared.length} hosts, ${rows.length} builds in ${seconds()}\ncross-host: ${rows.length - bad.length} passed, ${bad.length} failed\n`);
    return bad.length === 0 ? 0 : 1;
  } finally {
    cleanup();
  }
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`cross-host: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
