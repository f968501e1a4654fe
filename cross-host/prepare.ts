/**
 * What each host needs, made once and kept in the user's cache dir ($XDG_CACHE_HOME or ~/.cache,
 * under repro-image-test/; never in the checkout): the Node.js package from the npm registry,
 * checked against its pinned integrity and unpacked, and the project's dependencies installed by
 * `npm ci` for that host, its native addons (fs-xattr, zstd-napi) compiled by node-gyp against that
 * Node's headers for that CPU, with Debian's cross compilers for arm64 and s390x. Each is made in a
 * temporary folder beside its final name and renamed into place when complete.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { TOOLCHAIN, type Arch, type Host } from './hosts.js';

export function cacheRoot(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'repro-image-test');
}

export interface Ran { code: number; stdout: string; stderr: string; output: string }

/** Runs a program; `output` has stdout and stderr together as they came (for a log). */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const both: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => { out.push(d); both.push(d); });
    child.stderr.on('data', (d: Buffer) => { err.push(d); both.push(d); });
    child.on('error', (e) => resolve({ code: -1, stdout: '', stderr: `${cmd}: ${e.message}`, output: `${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => {
      const killed = signal ? `\n(killed by ${signal})` : '';
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + killed, output: Buffer.concat(both).toString() + killed });
    });
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The unpacked `node-linux-ARCH@VERSION` package (bin/node, include/node). */
export async function nodeDist(cache: string, host: Host): Promise<string> {
  const name = `node-linux-${host.arch}-${host.node}`;
  const dir = join(cache, 'node', name);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(join(cache, 'node'), { recursive: true });
  const tmp = mkdtempSync(join(cache, 'node', `.${name}-`));
  try {
    const r = await run('npm', ['pack', `node-linux-${host.arch}@${host.node}`, '--pack-destination', tmp, '--silent', '--no-audit', '--no-fund']);
    const tgz = join(tmp, `${name}.tgz`);
    if (r.code !== 0 || !existsSync(tgz)) throw new Error(`npm pack node-linux-${host.arch}@${host.node} failed:\n${tail(r.output)}`);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (integrity !== host.integrity) throw new Error(`${name}.tgz: integrity ${integrity}, pinned ${host.integrity}`);
    const unpacked = join(tmp, 'package');
    mkdirSync(unpacked);
    const t = await run('tar', ['-xzf', tgz, '-C', unpacked, '--strip-components=1']);
    if (t.code !== 0) throw new Error(`${name}.tgz: tar failed: ${tail(t.output)}`);
    writeFileSync(join(unpacked, '.complete'), `${host.integrity}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(unpacked, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** ELF e_machine and byte order of each architecture's shared objects. */
const ELF: Record<Arch, { machine: number; bigEndian: boolean }> = {
  x64: { machine: 62, bigEndian: false },
  arm64: { machine: 183, bigEndian: false },
  s390x: { machine: 22, bigEndian: true },
};

/** Throws unless `file` is an ELF shared object for `arch`. */
export function checkElf(file: string, arch: Arch): void {
  const head = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
  const bigEndian = head[5] === 2;
  const machine = bigEndian ? head.readUInt16BE(18) : head.readUInt16LE(18);
  const want = ELF[arch];
  if (machine !== want.machine || bigEndian !== want.bigEndian) {
    throw new Error(`${file}: ELF machine ${machine} (${bigEndian ? 'big' : 'little'}-endian), expected ${want.machine} for ${arch}`);
  }
}

export const ADDONS = ['node_modules/fs-xattr/build/Release/xattr.node', 'node_modules/zstd-napi/build/Release/binding.node'];

/** The compiler npm ci uses for this host, and its version line (part of the cache key). */
async function compiler(arch: Arch): Promise<{ env: NodeJS.ProcessEnv; version: string }> {
  const env: NodeJS.ProcessEnv = {};
  if (arch !== 'x64') {
    const t = TOOLCHAIN[arch].triplet;
    Object.assign(env, { CC: `${t}-gcc`, CXX: `${t}-g++`, AR: `${t}-ar`, LINK: `${t}-g++` });
  }
  const cxx = env['CXX'] ?? 'g++';
  const v = await run(cxx, ['--version']);
  if (v.code !== 0) throw new Error(`${cxx} is missing: ${tail(v.output, 2)} (Debian: ${arch === 'x64' ? 'g++' : `g++-${TOOLCHAIN[arch].triplet}`})`);
  return { env, version: v.output.split('\n')[0] ?? '' };
}

/**
 * The project's dependencies as `npm ci` installs them on such a host: node-gyp (run by npm) with
 * --arch and --nodedir set through npm's environment, and CC/CXX/AR/LINK set to the cross compiler.
 * Returns the folder holding node_modules.
 */
export async function addonInstall(cache: string, repo: string, host: Host, nodeDir: string, log: (s: string) => void): Promise<string> {
  const lock = readFileSync(join(repo, 'package-lock.json'));
  const pkg = readFileSync(join(repo, 'package.json'));
  const cc = await compiler(host.arch);
  const key = createHash('sha256').update(lock).update(pkg).update(`${host.arch} ${host.node} ${cc.version}`).digest('hex').slice(0, 16);
  const name = `${host.arch}-node${host.node}-${key}`;
  const dir = join(cache, 'addons', name);
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(join(cache, 'addons'), { recursive: true });
  const tmp = mkdtempSync(join(cache, 'addons', `.${name}-`));
  try {
    // The project's own lifecycle scripts (prepare builds dist/ from sources that are not here)
    // are not part of installing its dependencies: they are left out; the dependencies' install
    // scripts (node-gyp for the addons) still run.
    const manifest = JSON.parse(pkg.toString('utf8')) as Record<string, unknown>;
    delete manifest['scripts'];
    writeFileSync(join(tmp, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    copyFileSync(join(repo, 'package-lock.json'), join(tmp, 'package-lock.json'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...cc.env,
      npm_config_arch: host.arch,
      npm_config_nodedir: nodeDir,
      JOBS: '2',
    };
    log(`npm ci for ${host.arch} Node ${host.node} (${cc.version})`);
    const r = await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], { cwd: tmp, env });
    writeFileSync(join(cache, 'addons', `${name}.log`), r.output);
    if (r.code !== 0) throw new Error(`npm ci for ${host.arch} Node ${host.node} failed (log: ${join(cache, 'addons', `${name}.log`)}):\n${tail(r.output)}`);
    for (const a of ADDONS) checkElf(join(tmp, a), host.arch);
    writeFileSync(join(tmp, '.complete'), `${cc.version}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
