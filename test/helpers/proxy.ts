/**
 * A forwarding HTTP proxy for tests, on 127.0.0.1: absolute-URI requests (plain HTTP through a
 * proxy) and CONNECT tunnels (HTTPS). Destinations are looked up in `routes` ("host:port" →
 * "127.0.0.1:port"), so that names that resolve nowhere (`*.invalid`) reach local servers only
 * through the proxy. With `credentials`, requests without that Proxy-Authorization get 407.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  /** The absolute URI, or host:port for CONNECT. */
  target: string;
  proxyAuthorization?: string;
}

export class TestProxy {
  readonly seen: SeenRequest[] = [];
  readonly routes = new Map<string, string>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly credentials?: { user: string; password: string }) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  private allowed(header: string | undefined): boolean {
    if (!this.credentials) return true;
    return header === `Basic ${Buffer.from(`${this.credentials.user}:${this.credentials.password}`).toString('base64')}`;
  }

  private destination(hostPort: string): { host: string; port: number } | undefined {
    const to = this.routes.get(hostPort);
    if (!to) return undefined;
    const i = to.lastIndexOf(':');
    return { host: to.slice(0, i), port: Number(to.slice(i + 1)) };
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const target = req.url ?? '';
      const auth = req.headers['proxy-authorization'];
      this.seen.push({ method: req.method ?? 'GET', target, ...(auth ? { proxyAuthorization: auth } : {}) });
      if (!this.allowed(auth)) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test proxy"' }).end();
        return;
      }
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        res.writeHead(400).end('not an absolute URI');
        return;
      }
      const dest = this.destination(url.host.includes(':') ? url.host : `${url.host}:80`);
      if (!dest) {
        res.writeHead(502).end(`no route to ${url.host}`);
        return;
      }
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      const up = httpRequest({ host: dest.host, port: dest.port, method: req.method, path: `${url.pathname}${url.search}`, headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    server.on('connect', (req, client: Socket, head: Buffer) => {
      const target = req.url ?? '';
      const auth = req.headers['proxy-authorization'];
      this.seen.push({ method: 'CONNECT', target, ...(auth ? { proxyAuthorization: auth } : {}) });
      if (!this.allowed(auth)) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\n\r\n');
        return;
      }
      const dest = this.destination(target);
      if (!dest) {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
        return;
      }
      const up = connect(dest.port, dest.host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      this.sockets.add(up);
      this.sockets.add(client);
      up.on('close', () => this.sockets.delete(up));
      client.on('close', () => this.sockets.delete(client));
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => (this.server ? this.server.close(() => ok()) : ok()));
  }
}
