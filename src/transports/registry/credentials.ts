/**
 * Registry credentials: given explicitly (`--creds USER:PASS`), or looked up in auth files in the
 * containers-auth.json(5) / Docker config.json format. In each file, in order: a credential helper
 * named for the registry in `credHelpers`, then an `auths` entry (`{"HOST[/NS]": {"auth":
 * base64(USER:PASS)}}`, or `identitytoken`), then the `credsStore` helper. A helper is the program
 * `docker-credential-NAME`, run as `docker-credential-NAME get` with the server address on stdin,
 * answering `{"Username": ..., "Secret": ...}` (Username `<token>`: the secret is an identity token).
 * Secrets never appear in an error message: errors name the file, the key or the helper, never a value.
 */
import { readFile } from 'node:fs/promises';
import { ReproError } from '../../model/errors.js';
import { asObject } from '../../model/json.js';
import { DOCKER_HUB } from './name.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's "identity token"), exchanged at the token service instead of a password. */
  identityToken?: string;
}

/** Where a helper runs: its environment (PATH finds it) and how long it may take. */
export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Told when a `credsStore` helper is not installed (then passed over, as if it had nothing). */
  onWarning?: (message: string) => void;
}

const HELPER_OUTPUT_LIMIT = 1 << 16;
const HELPER_NOT_FOUND = /credentials not found/i;
/** The address Docker files Docker Hub's credentials under. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/** `USER:PASS` (the password may hold colons). */
export function parseCredsFlag(s: string): Credentials {
  const colon = s.indexOf(':');
  if (colon <= 0) throw new ReproError('E_USAGE', '--creds: expected USER:PASSWORD');
  return { username: s.slice(0, colon), password: s.slice(colon + 1) };
}

/** The keys an auth file may file a registry under, most specific first. */
export function authKeys(registry: string, repository: string): string[] {
  const keys: string[] = [];
  const parts = repository.split('/');
  for (let n = parts.length; n >= 1; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`);
  keys.push(registry);
  if (registry === DOCKER_HUB) keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/** What one auth file says about a registry: credentials, a helper to ask, or nothing. */
export type FileAnswer = Credentials | { helper: string; key: string } | undefined;

function isHelperAnswer(a: FileAnswer): a is { helper: string; key: string } {
  return a !== undefined && 'helper' in a;
}

function helperName(v: unknown, where: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) {
    throw new ReproError('E_BAD_INPUT', `${where}: expected a credential helper name (docker-credential-NAME)`);
  }
  return v;
}

/** The `auths` entry for a registry, as credentials; undefined when there is none or it is empty (a credsStore marker). */
function authsEntry(root: Record<string, unknown>, registry: string, repository: string, file: string): Credentials | undefined {
  if (root['auths'] === undefined) return undefined;
  const auths = asObject(root['auths'], `${file}: auths`);
  const stripped = new Map<string, unknown>();
  for (const [k, v] of Object.entries(auths)) stripped.set(k.replace(/^https?:\/\//, '').replace(/\/+$/, ''), v);
  for (const key of authKeys(registry, repository)) {
    const entry = auths[key] ?? stripped.get(key.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
    if (entry === undefined) continue;
    const o = asObject(entry, `${file}: auths.${key}`);
    if (typeof o['identitytoken'] === 'string' && o['identitytoken'] !== '') {
      return { username: typeof o['username'] === 'string' ? o['username'] : '', password: '', identityToken: o['identitytoken'] };
    }
    if (typeof o['username'] === 'string' && typeof o['password'] === 'string' && o['username'] !== '') {
      return { username: o['username'], password: o['password'] };
    }
    if (typeof o['auth'] !== 'string' || o['auth'] === '') continue;
    const decoded = Buffer.from(o['auth'], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ReproError('E_BAD_INPUT', `${file}: auths.${key}.auth is not base64 of USER:PASSWORD`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** What the parsed content of one auth file says about a registry (helpers are named, not run). */
export function credentialsIn(doc: unknown, registry: string, repository: string, file: string): FileAnswer {
  const root = asObject(doc, file);
  if (root['credHelpers'] !== undefined) {
    const helpers = asObject(root['credHelpers'], `${file}: credHelpers`);
    const hosts = registry === DOCKER_HUB ? [registry, 'index.docker.io', 'registry-1.docker.io', DOCKER_HUB_SERVER] : [registry];
    for (const host of hosts) {
      if (helpers[host] !== undefined) return { helper: helperName(helpers[host], `${file}: credHelpers.${host}`), key: `credHelpers.${host}` };
    }
  }
  const inline = authsEntry(root, registry, repository, file);
  if (inline) return inline;
  if (root['credsStore'] !== undefined && root['credsStore'] !== '') return { helper: helperName(root['credsStore'], `${file}: credsStore`), key: 'credsStore' };
  return undefined;
}

/**
 * Runs `docker-credential-NAME get` for a registry: its credentials, or undefined when the helper
 * has none. A helper that is missing, fails, hangs or answers garbage is an error naming it.
 */
export async function runHelper(name: string, registry: string, where: string, opts: HelperOptions = {}): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const server = registry === DOCKER_HUB ? DOCKER_HUB_SERVER : registry;
  const shown = `${program} (${where})`;
  // Loaded here: most registry operations never run a helper.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 30000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (c: Buffer): void => {
      size += c.length;
      if (size > HELPER_OUTPUT_LIMIT) child.kill();
      else into.push(c);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.stdin.on('error', () => { /* a helper may exit without reading stdin: its exit status tells */ });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new ReproError('E_AUTH', e.code === 'ENOENT' ? `${shown}: the credential helper is not on PATH` : `${shown}: cannot run the credential helper (${e.code ?? e.message})`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0) {
        if (HELPER_NOT_FOUND.test(stdout) || HELPER_NOT_FOUND.test(Buffer.concat(err).toString('utf8'))) {
          resolve(undefined);
          return;
        }
        // The helper's own words are not shown: a broken helper might echo what it was given.
        const how = signal ? `was stopped by ${signal}${size > HELPER_OUTPUT_LIMIT ? ' (too much output)' : ''}` : `exited with status ${code}`;
        reject(new ReproError('E_AUTH', `${shown}: the credential helper ${how} for ${server}`));
        return;
      }
      let answer: Record<string, unknown>;
      try {
        answer = asObject(JSON.parse(stdout), shown);
      } catch {
        reject(new ReproError('E_AUTH', `${shown}: the credential helper's answer is not a JSON object`));
        return;
      }
      const user = answer['Username'];
      const secret = answer['Secret'];
      if (typeof user !== 'string' || typeof secret !== 'string') {
        reject(new ReproError('E_AUTH', `${shown}: the credential helper's answer lacks Username or Secret`));
        return;
      }
      if (secret === '') resolve(undefined);
      else if (user === '<token>') resolve({ username: '', password: '', identityToken: secret });
      else resolve({ username: user, password: secret });
    });
    child.stdin.end(server);
  });
}

/** Looks through auth files in order (those that do not exist are skipped), running helpers they name. */
export async function lookupCredentials(files: string[], registry: string, repository: string, helpers: HelperOptions = {}): Promise<Credentials | undefined> {
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new ReproError('E_BAD_INPUT', `${file}: cannot read the auth file (${code ?? (e as Error).message})`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      // Not the parser's message: V8 quotes a stretch of the text, which may be a secret.
      throw new ReproError('E_BAD_INPUT', `${file}: the auth file is not valid JSON`);
    }
    const found = credentialsIn(doc, registry, repository, file);
    if (isHelperAnswer(found)) {
      let got: Credentials | undefined;
      try {
        got = await runHelper(found.helper, registry, `${file}: ${found.key}`, helpers);
      } catch (e) {
        // A config copied from a desktop often names a store this machine lacks ("desktop",
        // "osxkeychain"); it must not break anonymous pulls. A helper named for this very
        // registry (credHelpers) is meant, and its absence stays an error.
        const missing = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
        if (!missing || found.key !== 'credsStore') throw e;
        helpers.onWarning?.(`${(e as Error).message}; looking further without it`);
      }
      if (got) return got;
      continue;
    }
    if (found) return found;
  }
  return undefined;
}
