/**
 * A client for one registry host, per the OCI distribution spec: a `/v2/` ping decides the scheme
 * (HTTPS; plain HTTP only when the caller allows insecure registries) and the authentication
 * scheme; requests then carry Basic credentials or a bearer token for their scope, fetched from the
 * challenge's realm and cached. All HTTP goes through the one client in `fetch/http.ts` (retries,
 * backoff, redirects, no credentials across origins). Credentials and tokens never reach a message.
 */
import { ReproError, type ErrorCode, option } from '../../model/errors.js';
import { DEFAULT_RETRY, request, safeUrl, type Deadlines, type HttpResponse, type RetryPolicy } from '../../fetch/http.js';
import { challengeScopes, parseChallenge, type Challenge } from './challenge.js';
import { lookupCredentials, type Credentials } from './credentials.js';
import { apiHost } from './name.js';

export interface RegistryOptions {
  /** Explicit credentials (`--creds`); otherwise `authFiles` are searched. */
  credentials?: Credentials;
  /** Auth files to search, in order (the CLI passes REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json). */
  authFiles?: string[];
  /** The environment credential helpers (`docker-credential-NAME`) run in; default: this process's. */
  helperEnv?: NodeJS.ProcessEnv;
  /** Allow plain HTTP and unverified TLS certificates (`--tls-verify=false`). */
  insecure?: boolean;
  retry?: RetryPolicy;
  /** Blobs up to this size are uploaded with one PUT; larger ones in chunks. Default 32 MiB. */
  monolithicLimit?: number;
  /** Chunk size for chunked uploads. Default 256 MiB from a file, 16 MiB (held in memory) from a stream. */
  chunkSize?: number;
  /** A retry is about to happen (for a progress line): never includes credentials. */
  onRetry?: (message: string) => void;
  /** Bytes moved so far for one blob. */
  onProgress?: (what: string, done: number, total: number) => void;
  /** Something worth saying that is not an error (a credential store that is not installed). */
  onWarning?: (message: string) => void;
  /** Abandons every request of the client (its retries and waits too). */
  signal?: AbortSignal;
  /** The largest blob accepted from this registry (its declared size); default DEFAULT_MAX_BLOB_SIZE. */
  maxBlobSize?: number;
  /** Deadlines of every request (default: a document read whole within `DOCUMENT_DEADLINE_MS`; for tests). */
  deadlines?: Deadlines;
}

/** 32 GiB: above the largest layers seen in practice, far below what fills a disk by surprise. */
export const DEFAULT_MAX_BLOB_SIZE = 32 * 2 ** 30;

/**
 * The longest a response read whole may take: a manifest or index (4 MiB at most), a token, an
 * error's body. A registry that drips bytes, never idle for the idle timeout, is cut off here;
 * blobs are streamed, bounded by the minimum speed instead (`MIN_SPEED`).
 */
export const DOCUMENT_DEADLINE_MS = 120_000;

export interface RegistryRequest {
  method?: string;
  /** A path starting with `/v2/`, or an absolute URL the registry handed out (upload locations). */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | (() => AsyncIterable<Uint8Array>);
  /** Token scopes this request needs, e.g. `repository:team/app:pull`. */
  scopes: string[];
  retry?: RetryPolicy;
  noRetryStatuses?: number[];
  /** Abandons this request (with the client's own signal, if it has one). */
  signal?: AbortSignal;
}

interface Ping {
  base: string;
  challenge?: Challenge;
}

const TOKEN_LIMIT = 1 << 20;

export class RegistryClient {
  readonly registry: string;
  readonly host: string;
  private readonly opts: RegistryOptions;
  private pinged?: Promise<Ping>;
  private creds?: Promise<Credentials | undefined>;
  private readonly tokens = new Map<string, Promise<string>>();

  constructor(registry: string, opts: RegistryOptions = {}) {
    this.registry = registry;
    this.host = apiHost(registry);
    this.opts = opts;
  }

  get options(): RegistryOptions {
    return this.opts;
  }

  /** The client's signal, joined with a request's own when it has one. */
  private signalFor(own?: AbortSignal): { signal?: AbortSignal } {
    const signals = [own, this.opts.signal].filter((x): x is AbortSignal => x !== undefined);
    if (signals.length === 0) return {};
    return { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) };
  }

  private get retry(): RetryPolicy {
    return this.opts.retry ?? DEFAULT_RETRY;
  }

  private get deadlines(): Deadlines {
    return { bodyMs: DOCUMENT_DEADLINE_MS, ...this.opts.deadlines };
  }

  private onRetry(what: string): (attempt: number, reason: string, delayMs: number) => void {
    return (attempt, reason, delay) => this.opts.onRetry?.(`${what}: ${reason}; retry ${attempt} in ${delay} ms`);
  }

  /** The base URL (`https://host` or, when allowed, `http://host`) after the `/v2/` ping. */
  async base(): Promise<string> {
    return (await this.ping()).base;
  }

  private ping(): Promise<Ping> {
    this.pinged ??= this.doPing();
    return this.pinged;
  }

  private async pingAt(base: string, retry: RetryPolicy): Promise<Ping> {
    const url = `${base}/v2/`;
    const res = await request({ url, retry, insecureTls: this.opts.insecure === true, deadlines: this.deadlines, ...this.signalFor(), onRetry: this.onRetry(`ping ${url}`) });
    res.discard();
    if (res.status === 200) return { base };
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers['www-authenticate']);
      if (!challenge) throw new ReproError('E_AUTH', `${url}: HTTP 401 without a WWW-Authenticate challenge`);
      return { base, challenge };
    }
    if (res.status === 404) throw new ReproError('E_NETWORK', `${url}: HTTP 404: not a registry speaking the distribution API v2`);
    throw new ReproError('E_NETWORK', `${url}: HTTP ${res.status}`);
  }

  private async doPing(): Promise<Ping> {
    const https = `https://${this.host}`;
    if (!this.opts.insecure) {
      try {
        return await this.pingAt(https, this.retry);
      } catch (e) {
        if (e instanceof ReproError && /EPROTO|wrong version number|ssl|tls|certificate/i.test(e.message)) {
          const why = /wrong version number|EPROTO/.test(e.message) ? 'the server does not speak TLS' : (e.message.split('\n')[0] ?? '');
          throw new ReproError('E_NETWORK', `${this.registry}: TLS handshake failed (${why}); for a plain-HTTP registry or an untrusted certificate pass ${option('registry.insecure')}`);
        }
        throw e;
      }
    }
    // Insecure: HTTPS without certificate checks first, then plain HTTP, as skopeo does.
    let first: unknown;
    try {
      return await this.pingAt(https, { ...this.retry, attempts: 1 });
    } catch (e) {
      // A refusal or a setting we cannot use (an unusable HTTPS_PROXY) is not a reason to fall back.
      if (e instanceof ReproError && (e.code === 'E_AUTH' || e.code === 'E_USAGE')) throw e;
      first = e;
    }
    try {
      return await this.pingAt(`http://${this.host}`, this.retry);
    } catch (e) {
      if (e instanceof ReproError && (e.code === 'E_AUTH' || e.code === 'E_USAGE')) throw e;
      const line = (x: unknown): string => ((x as Error).message ?? String(x)).split('\n')[0] ?? '';
      throw new ReproError('E_NETWORK', `${this.registry}: no registry answers: over HTTPS ${line(first)}; over HTTP ${line(e)}`);
    }
  }

  private credentials(repository: string): Promise<Credentials | undefined> {
    if (this.opts.credentials) return Promise.resolve(this.opts.credentials);
    this.creds ??= lookupCredentials(this.opts.authFiles ?? [], this.registry, repository, {
      ...(this.opts.helperEnv ? { env: this.opts.helperEnv } : {}),
      ...(this.opts.onWarning ? { onWarning: this.opts.onWarning } : {}),
    });
    return this.creds;
  }

  private async token(challenge: Challenge, scopes: string[], repository: string): Promise<string> {
    const key = tokenKey(scopes);
    let t = this.tokens.get(key);
    if (!t) {
      t = this.fetchToken(challenge, key.split(' ').filter((s) => s !== ''), repository);
      this.tokens.set(key, t);
      t.catch(() => this.tokens.delete(key));
    }
    return t;
  }

  private async fetchToken(challenge: Challenge, scopes: string[], repository: string): Promise<string> {
    const realm = challenge.params['realm'];
    if (!realm) throw new ReproError('E_AUTH', `${this.registry}: bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new ReproError('E_AUTH', `${this.registry}: bearer challenge realm is not a URL: ${JSON.stringify(safeUrl(realm))}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ReproError('E_AUTH', `${safeUrl(url)}: token realm is not http(s)`);
    const shown = safeUrl(url);
    if (challenge.params['service'] !== undefined) url.searchParams.set('service', challenge.params['service']);
    for (const s of scopes) url.searchParams.append('scope', s);
    const creds = await this.credentials(repository);
    if (creds && url.protocol === 'http:' && !this.opts.insecure) {
      throw new ReproError('E_AUTH', `${shown}: the token service is plain HTTP; refusing to send credentials without ${option('registry.insecure')}`);
    }
    let res: HttpResponse;
    if (creds?.identityToken !== undefined) {
      // An identity token is an OAuth2 refresh token: POSTed as a form (distribution's token spec, oauth.md).
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: 'repro-image', refresh_token: creds.identityToken });
      if (challenge.params['service'] !== undefined) form.set('service', challenge.params['service']);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      const body = Buffer.from(form.toString(), 'utf8');
      // Never redirected: the token is in the body, which a redirect would carry to another host.
      res = await request({ url: new URL(realm), method: 'POST', maxRedirects: 0, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }, body, retry: this.retry, insecureTls: this.opts.insecure === true, deadlines: this.deadlines, ...this.signalFor(), onRetry: this.onRetry(`token ${shown}`) });
    } else {
      const headers: Record<string, string> = creds ? { authorization: basic(creds) } : {};
      res = await request({ url, headers, retry: this.retry, insecureTls: this.opts.insecure === true, deadlines: this.deadlines, ...this.signalFor(), onRetry: this.onRetry(`token ${shown}`) });
    }
    if (res.status === 401 || res.status === 403) {
      res.discard();
      throw new ReproError('E_AUTH', `${this.registry}: the token service ${shown} refused ${describe(creds)} (HTTP ${res.status}); pass ${option('registry.credentials')} or log in`);
    }
    if (res.status !== 200) {
      res.discard();
      throw new ReproError('E_NETWORK', `${shown}: token request answered HTTP ${res.status}`);
    }
    // Read first: a body cut short is the network's failure (exit 3 naming the URL), not "not JSON".
    const text = await res.text(TOKEN_LIMIT);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ReproError('E_AUTH', `${shown}: token response is not JSON`);
    }
    const o = (body ?? {}) as Record<string, unknown>;
    const token = typeof o['token'] === 'string' ? o['token'] : o['access_token'];
    if (typeof token !== 'string' || token === '') throw new ReproError('E_AUTH', `${shown}: token response has no token`);
    return token;
  }

  private async authorization(ping: Ping, scopes: string[], repository: string, extra?: Challenge): Promise<string | undefined> {
    const c = extra ?? ping.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      const creds = await this.credentials(repository);
      if (creds?.identityToken !== undefined) throw new ReproError('E_AUTH', `${this.registry}: asks for Basic credentials, and the ones found are an identity token (only a bearer token service takes those); pass ${option('registry.credentials')}`);
      return creds ? basic(creds) : undefined;
    }
    if (c.scheme === 'bearer') return `Bearer ${await this.token(c, [...scopes, ...challengeScopes(c)], repository)}`;
    throw new ReproError('E_AUTH', `${this.registry}: unsupported authentication scheme ${JSON.stringify(c.scheme)}`);
  }

  /**
   * Sends a request with the authorization its scopes need; a 401 with a fresh bearer challenge
   * (a wider scope) is answered once with a new token. Other statuses are returned to the caller.
   */
  async send(req: RegistryRequest): Promise<HttpResponse> {
    const ping = await this.ping();
    const url = req.url.startsWith('/') ? `${ping.base}${req.url}` : req.url;
    const sameOrigin = new URL(url).origin === new URL(ping.base).origin;
    const repository = repositoryOfScopes(req.scopes);
    let challenge: Challenge | undefined;
    for (let round = 0; round < 2; round++) {
      const headers: Record<string, string> = { ...req.headers };
      const auth = sameOrigin ? await this.authorization(ping, req.scopes, repository, challenge) : undefined;
      if (auth) headers['authorization'] = auth;
      const res = await request({
        url,
        method: req.method ?? 'GET',
        headers,
        ...(req.body !== undefined ? { body: req.body } : {}),
        retry: req.retry ?? this.retry,
        ...(req.noRetryStatuses ? { noRetryStatuses: req.noRetryStatuses } : {}),
        insecureTls: this.opts.insecure === true, deadlines: this.deadlines, ...this.signalFor(req.signal),
        onRetry: this.onRetry(`${req.method ?? 'GET'} ${safeUrl(url)}`),
      });
      if (res.status !== 401 || !sameOrigin) return res;
      const next = parseChallenge(res.headers['www-authenticate']);
      res.discard();
      if (round > 0 || !next) break;
      if (next.scheme === 'bearer') {
        // A new challenge (wider scope, or an expired token): fetch a fresh token once.
        challenge = next;
        this.tokens.delete(tokenKey([...req.scopes, ...challengeScopes(next)]));
        continue;
      }
      if (next.scheme === 'basic' && !auth && (await this.credentials(repository))) {
        challenge = next;
        continue;
      }
      break;
    }
    const creds = await this.credentials(repository);
    throw new ReproError('E_AUTH', `${safeUrl(url)}: HTTP 401 unauthorized${creds ? ` for ${creds.identityToken !== undefined ? 'the identity token' : `user ${JSON.stringify(creds.username)}`}` : `; no credentials found (pass ${option('registry.credentials')}, or log in so that an auth file has them)`}`);
  }
}

function tokenKey(scopes: string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

/** Who the credentials are, for a message (never the secret). */
function describe(c: Credentials | undefined): string {
  if (!c) return 'anonymous access';
  if (c.identityToken !== undefined) return 'the identity token';
  return `the credentials for user ${JSON.stringify(c.username)}`;
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** The repository named by the first `repository:NAME:ACTIONS` scope (for auth-file lookup). */
function repositoryOfScopes(scopes: string[]): string {
  const s = scopes.find((x) => x.startsWith('repository:'));
  if (!s) return '';
  return s.slice('repository:'.length, s.lastIndexOf(':'));
}

/** An error for a response the caller did not expect, with the registry's own error codes. */
export async function unexpected(res: HttpResponse, what: string): Promise<ReproError> {
  let detail = '';
  try {
    const body = JSON.parse(await res.text(1 << 16)) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    detail = (body.errors ?? []).map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(' ')).filter((x) => x).join('; ');
  } catch {
    // not a JSON error body
  }
  const code: ErrorCode = res.status === 401 || res.status === 403 ? 'E_AUTH' : res.status === 404 ? 'E_NOT_FOUND' : res.status >= 400 && res.status < 500 ? 'E_BAD_INPUT' : 'E_NETWORK';
  return new ReproError(code, `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''} from ${safeUrl(res.url)}`);
}
