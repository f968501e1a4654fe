/**
 * A fault-injecting HTTP proxy for the registry tests, on 127.0.0.1: it forwards requests to the
 * registry unchanged (Host header included, so upload Locations point back at the proxy) and, for
 * requests that match a rule, answers 500 or 429, drops the connection half-way through a response
 * or an upload, truncates a body (with a matching Content-Length), serves wrong bytes, or redirects
 * to another origin (`localhost` instead of `127.0.0.1`) that serves the bytes like a storage
 * service would, with credentials of its own. `status400` refuses for good (a registry that will
 * not take a blob); `stall` reads the request and never answers.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'status500' | 'status429' | 'status400' | 'drop' | 'truncate' | 'corrupt' | 'redirect' | 'drop-upload' | 'stall';

export interface Rule {
  method?: string;
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (then it is spent). */
  times: number;
  /**
   * Hold the fault's answer until a request that got this other fault has arrived, so that a test
   * of "one failure stops the others" does not depend on which request the client sends first.
   */
  after?: Fault;
}

export interface Logged {
  method: string;
  url: string;
  fault?: Fault;
  range?: string;
  /** Whether the request carried an Authorization header. */
  authorization: boolean;
  /** For requests to the redirect target ("storage"). */
  storage?: boolean;
}

export class FaultProxy {
  readonly rules: Rule[] = [];
  readonly log: Logged[] = [];
  /** Responses held by `stall`, ended at stop(). */
  private readonly stalled: ServerResponse[] = [];
  /** Answers held by a rule's `after`, keyed by the fault they wait for. */
  private readonly held: Array<{ after: Fault; answer: () => void }> = [];
  private server?: Server;
  private upstream = '';
  port = 0;
  /** Authorization the storage side adds itself (a presigned URL in real life). */
  storageAuthorization: string | undefined;

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  add(rule: Rule): void {
    this.rules.push(rule);
  }

  clear(): void {
    this.rules.length = 0;
    this.held.length = 0;
    this.log.length = 0;
  }

  async start(upstreamHost: string): Promise<void> {
    this.upstream = upstreamHost;
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const r of this.stalled.splice(0)) r.destroy();
    this.held.length = 0;
    this.server?.closeAllConnections();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }

  private take(req: IncomingMessage): Rule | undefined {
    const rule = this.rules.find((r) => r.times > 0 && (r.method === undefined || r.method === req.method) && r.path.test(req.url ?? ''));
    if (!rule) return undefined;
    rule.times--;
    return rule;
  }

  /** Answer now, or once a request with `after`'s fault has been logged. */
  private when(after: Fault | undefined, answer: () => void): void {
    if (after === undefined || this.log.some((l) => l.fault === after)) answer();
    else this.held.push({ after, answer });
  }

  private forward(req: IncomingMessage, path: string, headers: IncomingHttpHeaders, onResponse: (up: IncomingMessage) => void, onError: () => void): ReturnType<typeof request> {
    const [host, port] = this.upstream.split(':');
    const up = request({ host, port: Number(port), method: req.method, path, headers }, onResponse);
    up.on('error', onError);
    return up;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const storage = url.startsWith('/__storage');
    const rule = storage ? undefined : this.take(req);
    const fault = rule?.fault;
    const entry: Logged = { method: req.method ?? 'GET', url, authorization: req.headers.authorization !== undefined };
    if (fault) entry.fault = fault;
    if (req.headers.range) entry.range = String(req.headers.range);
    if (storage) entry.storage = true;
    this.log.push(entry);
    if (fault) {
      for (let i = this.held.length - 1; i >= 0; i--) {
        const h = this.held[i]!;
        if (h.after === fault) {
          this.held.splice(i, 1);
          h.answer();
        }
      }
    }
    const fail = (): void => { res.destroy(); };

    if (fault === 'status500' || fault === 'status429') {
      req.resume();
      req.on('end', () => {
        res.statusCode = fault === 'status500' ? 500 : 429;
        if (fault === 'status429') res.setHeader('retry-after', '0');
        res.end('{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}');
      });
      return;
    }
    if (fault === 'status400') {
      req.resume();
      req.on('end', () => this.when(rule?.after, () => {
        res.statusCode = 400;
        res.end('{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"injected refusal"}]}');
      }));
      return;
    }
    if (fault === 'stall') {
      req.resume();
      this.stalled.push(res);
      return;
    }
    if (fault === 'redirect') {
      req.resume();
      res.statusCode = 307;
      res.setHeader('location', `http://localhost:${this.port}/__storage${url}`);
      res.end();
      return;
    }
    const headers = { ...req.headers };
    let path = url;
    if (storage) {
      path = url.slice('/__storage'.length);
      delete headers.authorization;
      if (this.storageAuthorization) headers.authorization = this.storageAuthorization;
      headers.host = `127.0.0.1:${this.port}`;
    }
    const up = this.forward(req, path, headers, (upRes) => {
      if (fault === undefined || fault === 'drop-upload') {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const parts: Buffer[] = [];
      upRes.on('data', (c: Buffer) => parts.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(parts);
        const half = Math.floor(body.length / 2);
        if (fault === 'drop') {
          res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'content-length': String(body.length) });
          res.write(body.subarray(0, half));
          setTimeout(() => res.socket?.destroy(), 20);
        } else if (fault === 'truncate') {
          res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'content-length': String(half) });
          res.end(body.subarray(0, half));
        } else {
          const wrong = Buffer.from(body);
          if (wrong.length > 0) wrong[half] = (wrong[half]! + 1) & 0xff;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(wrong);
        }
      });
    }, fail);
    if (fault === 'drop-upload') {
      // Pass half of the request body on, then cut both connections.
      const total = Number(req.headers['content-length'] ?? 0);
      let sent = 0;
      req.on('data', (c: Buffer) => {
        const room = Math.max(0, Math.floor(total / 2) - sent);
        if (room > 0) up.write(c.subarray(0, room));
        sent += Math.min(room, c.length);
        if (sent >= Math.floor(total / 2)) {
          req.pause();
          setTimeout(() => {
            up.destroy();
            req.socket.destroy();
          }, 50);
        }
      });
      return;
    }
    req.pipe(up);
  }
}
