/**
 * Registry credentials: given explicitly (`--creds USER:PASS`), or looked up in auth files in the
 * containers-auth.json(5) / Docker config.json format (`{"auths": {"HOST[/NS]": {"auth": base64(USER:PASS)}}}`).
 * Secrets never appear in an error message: errors name the file and the key, never the value.
 */
import { readFile } from 'node:fs/promises';
import { ReproError } from '../../model/errors.js';
import { asObject } from '../../model/json.js';
import { DOCKER_HUB } from './name.js';

export interface Credentials {
  username: string;
  password: string;
}

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

/** Finds credentials for a registry in the parsed content of one auth file. */
export function credentialsIn(doc: unknown, registry: string, repository: string, file: string): Credentials | undefined {
  const root = asObject(doc, file);
  if (root['auths'] === undefined) return undefined;
  const auths = asObject(root['auths'], `${file}: auths`);
  const stripped = new Map<string, unknown>();
  for (const [k, v] of Object.entries(auths)) stripped.set(k.replace(/^https?:\/\//, '').replace(/\/+$/, ''), v);
  for (const key of authKeys(registry, repository)) {
    const entry = auths[key] ?? stripped.get(key.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
    if (entry === undefined) continue;
    const o = asObject(entry, `${file}: auths.${key}`);
    if (typeof o['username'] === 'string' && typeof o['password'] === 'string' && o['username'] !== '') {
      return { username: o['username'], password: o['password'] };
    }
    if (typeof o['auth'] !== 'string') continue;
    const decoded = Buffer.from(o['auth'], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ReproError('E_BAD_INPUT', `${file}: auths.${key}.auth is not base64 of USER:PASSWORD`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** Looks through auth files in order; files that do not exist are skipped. */
export async function lookupCredentials(files: string[], registry: string, repository: string): Promise<Credentials | undefined> {
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
    if (found) return found;
  }
  return undefined;
}
