/**
 * A rebuilderd that answers on 127.0.0.1 with the v1 API (`/api/v1/packages/binary`: one page of
 * `{total, records}`), from records the test gives: the `status` and `audit` tests ask it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRecord {
  distribution: string;
  name: string;
  version: string;
  status: 'GOOD' | 'BAD' | 'UNKWN' | null;
}

export async function startRebuilderd(records: StubRecord[]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/api/v1/packages/binary') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const d = u.searchParams.get('distribution');
    const after = Number(u.searchParams.get('after') ?? -1);
    const all = records.map((r, i) => ({ id: i + 1, ...r })).filter((r) => r.distribution === d && r.id > after);
    const body = Buffer.from(JSON.stringify({ total: all.length, records: all }));
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', String(body.length));
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
