/**
 * The one HTTP client for package mirrors and registries: Node's own http/https, redirects
 * followed (credentials dropped when a redirect leaves the origin), retries with exponential
 * backoff on dropped connections, timeouts, 5xx and 429 (honouring Retry-After), and bodies
 * streamed, never buffered whole unless asked for with a limit. No server holds a request for ever:
 * the idle timeout cuts a silent one, and deadlines one that sends a byte now and then (headers
 * complete within `HEADERS_DEADLINE_MS`, a body no slower than `MIN_SPEED`, a body read whole
 * complete within the deadline its caller gives).
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ReproError, escapeControl } from '../model/errors.js';
import { bareHost, proxyAuthorization, proxyFor } from './proxy.js';

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** Delay before the first retry; doubles each time up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 8000 };

/** The slowest a body may arrive: fewer than `bytes` in `ms` spent waiting for it cuts it. */
export interface MinSpeed {
  bytes: number;
  ms: number;
}

/**
 * What a server that sends a byte now and then, never idle for the idle timeout, may take. Each
 * cut is an `ETIMEDOUT`, retried as a dropped connection is.
 */
export interface Deadlines {
  /** Response headers complete this long after the request was sent (default `HEADERS_DEADLINE_MS`). */
  headersMs?: number;
  /** A body read whole (`bytes`, `text`) complete this long after the read began (default: none). */
  bodyMs?: number;
  /** Every body, streamed or read whole (default `MIN_SPEED`). */
  minSpeed?: MinSpeed;
}

/**
 * How long a response's headers may take once the request is sent (the 60 s Node's own http
 * server gives a client for its headers). Headers are a few hundred bytes, sent at once.
 */
export const HEADERS_DEADLINE_MS = 60_000;

/**
 * A body arriving at less than 1 KiB/s, over 60 s spent waiting for it, is cut (curl's
 * `--speed-limit 1024 --speed-time 60`). A streamed body (a layer, a package) has no deadline of
 * its own, since it may be gigabytes; this is what bounds one that drips. Only the time the reader
 * waits counts: a reader that is slow itself never makes the server look slow.
 */
export const MIN_SPEED: MinSpeed = { bytes: 60 * 1024, ms: 60_000 };

export interface HttpRequest {
  url: string | URL;
  method?: string;
  headers?: Record<string, string>;
  /** A body, or a function that makes it afresh for every attempt (streamed uploads). */
  body?: Buffer | (() => AsyncIterable<Uint8Array>);
  /** Idle timeout per attempt: no bytes for this long aborts it. Default 30 s. */
  timeoutMs?: number;
  maxRedirects?: number;
  retry?: RetryPolicy;
  /** Statuses returned to the caller as they are instead of being retried (e.g. 404 probes). */
  noRetryStatuses?: number[];
  /** Called before each retry, for progress lines and tests. */
  onRetry?: (attempt: number, reason: string, delayMs: number) => void;
  /** Accept any TLS certificate (registries used with --tls-verify=false). */
  insecureTls?: boolean;
  /** Aborts the request, its retries and their waits (an operation that no longer needs it). */
  signal?: AbortSignal;
  deadlines?: Deadlines;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that finally answered, after redirects. */
  url: string;
  body: AsyncIterable<Buffer>;
  /**
   * Reads the whole body, refusing more than `limit` bytes, and, with `deadlineMs` (default the
   * request's `deadlines.bodyMs`), a body not complete that long after the read began (a server
   * that sends a byte now and then, never idle long enough for the idle timeout, would otherwise
   * hold the read for ever). A read cut short is an `E_NETWORK` naming the URL.
   */
  bytes(limit?: number, deadlineMs?: number): Promise<Buffer>;
  text(limit?: number, deadlineMs?: number): Promise<string>;
  /** Drops the body without reading it (cut after `DISCARD_DEADLINE_MS` if it has not ended). */
  discard(): void;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const DEFAULT_BODY_LIMIT = 64 << 20;

/** Waits `ms`; an aborted `signal` ends the wait at once, with an error. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok, ko) => {
    if (signal?.aborted) {
      ko(aborted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      ko(aborted());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(): Error {
  return Object.assign(new Error('the request was abandoned'), { code: 'ABORT_ERR' });
}

/** The delay before retry `n` (1-based): exponential, capped, or what Retry-After asks (capped too). */
export function retryDelay(policy: RetryPolicy, n: number, retryAfter?: string): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  if (retryAfter !== undefined) {
    const secs = /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : NaN;
    if (Number.isFinite(secs)) return Math.min(policy.maxDelayMs, secs * 1000);
  }
  return backoff;
}

/** Redacts userinfo and query strings (tokens) from a URL for messages. */
export function safeUrl(u: string | URL): string {
  try {
    const url = new URL(String(u));
    url.username = '';
    url.password = '';
    // Put back after serialising: the URL class would percent-encode the ellipsis.
    const query = url.search ? '?…' : '';
    const hash = url.hash;
    url.search = '';
    url.hash = '';
    return `${url.toString()}${query}${hash}`;
  } catch {
    return String(u);
  }
}

const CONNECT_TIMEOUT_MS = 30000;
/** The request's abort signal, handed to the tunnel agent through the request options. */
const TUNNEL_SIGNAL = Symbol('tunnelSignal');

/**
 * An https agent whose connections are tunnels through an HTTP proxy (CONNECT host:port), with
 * TLS to the destination inside. Connections are kept alive and reused as with the global agent.
 */
class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }

  override createConnection(options: tls.ConnectionOptions & { host?: string; port?: number; [TUNNEL_SIGNAL]?: AbortSignal }, done: (err: Error | null, socket?: Duplex) => void): undefined {
    const host = options.host ?? 'localhost';
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port ?? 443}`;
    const auth = proxyAuthorization(this.proxy);
    const signal = options[TUNNEL_SIGNAL];
    let settled = false;
    const finish = (err: Error | null, socket?: Duplex): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      done(err, socket);
    };
    const connect = http.request({
      host: bareHost(this.proxy),
      port: this.proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
      agent: false,
    });
    const fail = (e: Error): void => {
      connect.destroy();
      finish(e);
    };
    // From the start, not from the socket: a proxy address that drops packets must time out too.
    const timer = setTimeout(() => fail(Object.assign(new Error(`the proxy ${safeUrl(this.proxy)} did not answer CONNECT ${target} for ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    // The request that asked for this tunnel was abandoned: so is the tunnel.
    const onAbort = (): void => fail(Object.assign(new Error('the request was abandoned'), { code: 'ABORT_ERR' }));
    if (signal?.aborted) {
      onAbort();
      return undefined;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        finish(Object.assign(new Error(`the proxy ${safeUrl(this.proxy)} answered HTTP ${res.statusCode} to CONNECT ${target}`), { code: res.statusCode === 407 ? 'EPROXYAUTH' : 'EPROXY' }));
        return;
      }
      // The options keep the destination's host: the certificate is checked against it (and SNI
      // is what Node chose for it: none for an IP address), never against the proxy's name.
      const { [TUNNEL_SIGNAL]: _signal, ...rest } = options;
      finish(null, tls.connect({ ...rest, socket }));
    });
    connect.once('error', (e) => finish(e));
    connect.end();
    return undefined;
  }
}

const tunnels = new Map<string, TunnelAgent>();

function tunnelTo(proxy: URL): TunnelAgent {
  let agent = tunnels.get(proxy.href);
  if (!agent) {
    agent = new TunnelAgent(proxy);
    tunnels.set(proxy.href, agent);
  }
  return agent;
}

/** Starts one request: direct, through an HTTP proxy (http: URLs), or through a CONNECT tunnel (https: URLs). */
function send(url: URL, method: string, headers: Record<string, string>, tlsOptions: https.RequestOptions, signal: AbortSignal | undefined): http.ClientRequest {
  const proxy = proxyFor(url);
  const common = signal ? { signal } : {};
  if (url.protocol === 'https:') {
    const tunnel = proxy ? { agent: tunnelTo(proxy), ...(signal ? { [TUNNEL_SIGNAL]: signal } : {}) } : {};
    return https.request(url, { method, headers, ...common, ...tlsOptions, ...tunnel });
  }
  if (!proxy) return http.request(url, { method, headers, ...common });
  const auth = proxyAuthorization(proxy);
  // The absolute URI without user, password or fragment; a user in the URL goes in Authorization,
  // as it would on a direct request.
  const target = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
  return http.request({
    host: bareHost(proxy),
    port: proxy.port || 80,
    method,
    path: target,
    headers: { ...headers, host: url.host, ...(auth ? { 'proxy-authorization': auth } : {}) },
    ...(url.username !== '' ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
    ...common,
  });
}

function once(req: HttpRequest, url: URL): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      reject(new ReproError('E_BAD_INPUT', `${safeUrl(url)}: unsupported URL scheme ${url.protocol}`));
      return;
    }
    const headers: Record<string, string> = { 'user-agent': 'repro-image', ...req.headers };
    // Unverified TLS needs no trust store: an empty CA list spares building one (~30 ms of CPU).
    const r = send(url, req.method ?? 'GET', headers, req.insecureTls ? { rejectUnauthorized: false, ca: [] } : {}, req.signal);
    const timeout = req.timeoutMs ?? 30000;
    r.setTimeout(timeout, () => r.destroy(Object.assign(new Error(`no response for ${timeout} ms`), { code: 'ETIMEDOUT' })));
    // From when the request is sent (an upload's time is not the server's), to its headers' end.
    const headersMs = req.deadlines?.headersMs ?? HEADERS_DEADLINE_MS;
    let headersTimer: NodeJS.Timeout | undefined;
    let answered = false;
    const headersDone = (): void => {
      answered = true;
      clearTimeout(headersTimer);
    };
    r.once('finish', () => {
      // A server may answer before the whole request is sent (a refused upload).
      if (answered) return;
      headersTimer = setTimeout(() => r.destroy(Object.assign(new Error(`response headers not complete ${headersMs} ms after the request was sent`), { code: 'ETIMEDOUT' })), headersMs);
    });
    r.once('close', headersDone);
    r.on('response', (res) => {
      headersDone();
      res.setTimeout?.(timeout, () => res.destroy(Object.assign(new Error(`body stalled for ${timeout} ms`), { code: 'ETIMEDOUT' })));
      resolve(res);
    });
    r.on('error', reject);
    const body = req.body;
    if (body === undefined) {
      r.end();
    } else if (Buffer.isBuffer(body)) {
      r.end(body);
    } else {
      (async () => {
        for await (const chunk of body()) {
          // A request destroyed (aborted, timed out) stops the pump, which closes the source.
          if (r.destroyed) return;
          if (!r.write(chunk)) {
            await new Promise<void>((ok) => {
              const done = (): void => {
                r.off('drain', done);
                r.off('close', done);
                ok();
              };
              r.on('drain', done);
              r.on('close', done);
            });
          }
        }
        if (!r.destroyed) r.end();
      })().catch((e) => r.destroy(e as Error));
    }
  });
}

/**
 * How long a body nobody reads (an error's, a redirect's) may take to drain, its connection kept
 * for reuse, before it is cut: one that drips a byte now and then, never idle for the idle timeout,
 * held its socket, and with it the process after its work was done, for ever.
 */
export const DISCARD_DEADLINE_MS = 5000;

function drain(res: IncomingMessage): void {
  res.resume();
  if (res.readableEnded) return;
  const t = setTimeout(() => res.destroy(), DISCARD_DEADLINE_MS);
  t.unref();
  const done = (): void => clearTimeout(t);
  res.once('end', done);
  res.once('close', done);
}

/**
 * The body, cut (`ETIMEDOUT`) when it arrives slower than `min`: the time spent waiting for chunks
 * is counted, and whenever it reaches `min.ms` the bytes that came in it must be at least
 * `min.bytes` in proportion. A chunk comes at least every idle timeout, so the check is never
 * later than that past the window.
 */
async function* metered(res: IncomingMessage, min: MinSpeed): AsyncGenerator<Buffer, void, undefined> {
  const chunks = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let waited = 0;
  let got = 0;
  try {
    for (;;) {
      const began = performance.now();
      const next = await chunks.next();
      if (next.done) return;
      waited += performance.now() - began;
      got += next.value.length;
      if (waited >= min.ms) {
        if (got * min.ms < min.bytes * waited) {
          const err = Object.assign(new Error(`body slower than ${min.bytes} bytes in ${min.ms} ms (${got} bytes in ${Math.round(waited)} ms)`), { code: 'ETIMEDOUT' });
          res.destroy(err);
          throw err;
        }
        waited = 0;
        got = 0;
      }
      yield next.value;
    }
  } finally {
    await chunks.return?.();
  }
}

function wrap(res: IncomingMessage, url: string, deadlines: Deadlines = {}): HttpResponse {
  const body = metered(res, deadlines.minSpeed ?? MIN_SPEED);
  const bytes = async (limit = DEFAULT_BODY_LIMIT, deadlineMs = deadlines.bodyMs): Promise<Buffer> => {
    const parts: Buffer[] = [];
    let n = 0;
    const timer = deadlineMs === undefined ? undefined
      : setTimeout(() => res.destroy(Object.assign(new Error(`body not complete after ${deadlineMs} ms`), { code: 'ETIMEDOUT' })), deadlineMs);
    try {
      for await (const c of body) {
        n += c.length;
        if (n > limit) {
          res.destroy();
          throw new ReproError('E_BAD_INPUT', `${safeUrl(url)}: response larger than ${limit} bytes`);
        }
        parts.push(c);
      }
    } catch (e) {
      // A read cut (a deadline, the idle timeout, a reset) is the server's failure, named by its
      // URL; the reason alone is the cause, for callers that name the server their own way.
      if (e instanceof ReproError) throw e;
      throw new ReproError('E_NETWORK', `${safeUrl(url)}: ${escapeControl((e as Error)?.message ?? String(e))}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    if (!res.complete) throw new ReproError('E_NETWORK', `${safeUrl(url)}: connection closed before the response ended`);
    return Buffer.concat(parts);
  };
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    url,
    body,
    bytes,
    text: async (limit, deadlineMs) => (await bytes(limit, deadlineMs)).toString('utf8'),
    discard: () => drain(res),
  };
}

function isTransient(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT' ||
    code === 'EAI_AGAIN' || code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'ECONNABORTED' ||
    code === 'UND_ERR_SOCKET' || (e as Error)?.message === 'socket hang up';
}

/**
 * Sends a request and returns the response once its headers arrive. Retries (per `retry`) on
 * transient network errors and on 408, 429 and 5xx, after which the last such response is
 * returned to the caller. Follows 301/302/303/307/308.
 */
export async function request(req: HttpRequest): Promise<HttpResponse> {
  const policy = req.retry ?? DEFAULT_RETRY;
  const maxRedirects = req.maxRedirects ?? 10;
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let url = new URL(String(req.url));
    let headers = { ...req.headers };
    let method = req.method ?? 'GET';
    let body = req.body;
    try {
      for (let hops = 0; ; hops++) {
        const res = await once({ ...req, method, headers, ...(body === undefined ? {} : { body }) }, url);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location) {
          drain(res);
          if (hops >= maxRedirects) {
            throw new ReproError('E_NETWORK', maxRedirects === 0 ? `${safeUrl(req.url)}: redirected (HTTP ${status}), which this request never follows` : `${safeUrl(req.url)}: more than ${maxRedirects} redirects`);
          }
          const next = new URL(location, url);
          if (next.origin !== url.origin) {
            // Never send credentials to another host (registries redirect blobs to storage).
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
          }
          if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !['content-length', 'content-type'].includes(k.toLowerCase())));
          }
          url = next;
          continue;
        }
        if (RETRY_STATUS.has(status) && !req.noRetryStatuses?.includes(status) && attempt < policy.attempts) {
          drain(res);
          const delay = retryDelay(policy, attempt, res.headers['retry-after'] as string | undefined);
          req.onRetry?.(attempt, `HTTP ${status}`, delay);
          lastError = new ReproError('E_NETWORK', `${safeUrl(url)}: HTTP ${status}`);
          await sleep(delay, req.signal);
          break;
        }
        return wrap(res, url.toString(), req.deadlines);
      }
    } catch (e) {
      if (req.signal?.aborted) throw new ReproError('E_NETWORK', `${safeUrl(url)}: abandoned`);
      if (e instanceof ReproError || !isTransient(e) || attempt >= policy.attempts) {
        if (e instanceof ReproError) throw e;
        throw new ReproError('E_NETWORK', `${safeUrl(url)}: ${(e as Error).message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`);
      }
      lastError = e;
      const delay = retryDelay(policy, attempt);
      req.onRetry?.(attempt, (e as Error).message, delay);
      await sleep(delay, req.signal).catch(() => { throw new ReproError('E_NETWORK', `${safeUrl(url)}: abandoned`); });
    }
  }
  throw lastError instanceof ReproError ? lastError : new ReproError('E_NETWORK', `${safeUrl(req.url)}: ${(lastError as Error)?.message ?? 'failed'}`);
}
