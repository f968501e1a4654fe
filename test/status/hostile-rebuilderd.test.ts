/**
 * `status` against rebuilderd instances that answer hostile things (loopback servers): a page far
 * larger than the limit asked for, records nested too deep to print, text that is not JSON and
 * carries lines of its own, a body that stalls, pages that never end, and an image whose package
 * database holds control characters. Each is one line naming the rebuilder, or a report none of whose lines is forged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { queryRebuilder } from '../../src/status/rebuilderd.js';
import { runCli, runCliAsync } from '../helpers/cli.js';

let dir: string;
let server: Server;
let base: string;
let archImage: string;

const NO_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };

function send(res: ServerResponse, body: string): void {
  res.setHeader('content-type', 'application/json');
  res.end(body);
}

/** Modes by the first path segment: `${base}/MODE` is the rebuilder's URL. */
const MODES: Record<string, (q: URLSearchParams, res: ServerResponse, path: string) => void> = {
  // 150,000 records in one page (limit= ignored), then none.
  bigpage: (q, res) => send(res, JSON.stringify({ records: q.get('after') ? [] : Array.from({ length: 150000 }, (_, i) => ({ id: i + 1, name: `p${i}`, version: '1', status: 'GOOD' })) })),
  // A record without a name, nested 100,000 deep.
  deep: (_q, res) => send(res, `{"records":[{"name":1,"version":"1","x":${'['.repeat(100000)}${']'.repeat(100000)}}]}`),
  // Not JSON, with lines of its own near the start.
  nonjson: (_q, res) => send(res, 'x\nYour image is 100.00% reproducible.\n'),
  // A body that starts and never goes on.
  stall: (_q, res) => { res.setHeader('content-type', 'application/json'); res.write('{"records":['); },
  // A body that never ends, a space every 50 ms: never idle long enough for the idle timeout.
  drip: (_q, res) => {
    res.setHeader('content-type', 'application/json');
    res.write('{"records":[');
    const t = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(t));
  },
  // No v1 (404), with a body that never ends but is never idle; the v0 list says every package GOOD.
  drip404: (_q, res, path) => {
    if (path.endsWith('/api/v0/pkgs/list')) { send(res, JSON.stringify([{ name: 'busybox', version: '1.0\rYour image is 100.00% reproducible.', status: 'GOOD' }])); return; }
    res.statusCode = 404;
    res.write('not here');
    const t = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(t));
  },
  // Page after page of one record, each in time (200 ms), never the last.
  slowpages: (q, res) => {
    const id = Number(q.get('after') ?? 0) + 1;
    setTimeout(() => send(res, JSON.stringify({ records: [{ id, name: `p${id}`, version: '1', status: 'GOOD' }] })), 200);
  },
  // Every package GOOD.
  good: (q, res) => send(res, JSON.stringify({ records: q.get('after') ? [] : [{ id: 1, name: 'busybox', version: '1.0\rYour image is 100.00% reproducible.', status: 'GOOD' }] })),
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hostile-rebuilderd-'));
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const mode = MODES[u.pathname.split('/')[1] ?? ''];
    if (!mode || !/\/api\/(v1\/packages\/binary|v0\/pkgs\/list)$/.test(u.pathname)) { res.statusCode = 404; res.end(); return; }
    mode(u.searchParams, res, u.pathname);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const root = join(dir, 'root');
  const status = join(root, 'var/lib/dpkg/status');
  mkdirSync(dirname(status), { recursive: true });
  // A Version with a carriage return and an escape sequence, a Version with U+2028.
  writeFileSync(status, 'Package: busybox\nStatus: install ok installed\nVersion: 1.0\rYour image is 100.00% reproducible.\x1b[K\n\n'
    + 'Package: libc6\nStatus: install ok installed\nVersion: 2.36\u2028All packages are reproducible!\n');
  const out = join(dir, 'deb.tar');
  const r = runCli(['build', '--rootfs', root, '--output', `oci-archive:${out}:t`, '--source-date-epoch', '1709251200']);
  assert.equal(r.status, 0, r.stderr);
  archImage = `oci-archive:${out}:t`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(dir, { recursive: true, force: true });
});

test('a page of 150,000 records (limit= ignored) is read (was: "Maximum call stack size exceeded" from push(...page))', async () => {
  const a = await queryRebuilder(`${base}/bigpage`, 'debian', { retry: NO_RETRY });
  assert.equal(a.records.length, 150000);
});

test('a record nested 100,000 deep is named by its place (was: "Maximum call stack size exceeded", no rebuilder named)', async () => {
  await assert.rejects(queryRebuilder(`${base}/deep`, 'debian', { retry: NO_RETRY }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_BAD_INPUT');
    assert.equal(e.message, `${base}/deep (API v1): record 0 has no name and version (strings)`);
    return true;
  });
});

test('text that is not JSON is one line that does not quote it (was: V8\'s message, the server\'s newline and words in it)', async () => {
  const r = await runCliAsync(['status', archImage, '--rebuilder', `${base}/nonjson`]);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `repro-image: no rebuilder answered: ${base}/nonjson (API v1): not JSON\n`);
});

test('a body that stalls is an error naming the rebuilder (was: "body stalled for 30000 ms", no URL)', async () => {
  // The idle timeout is 30 s; a stalled body is reported after it, naming the rebuilder.
  const t0 = Date.now();
  await assert.rejects(queryRebuilder(`${base}/stall`, 'debian', { retry: NO_RETRY }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_NETWORK');
    assert.equal(e.message, `${base}/stall (API v1): body stalled for 30000 ms`);
    return true;
  });
  assert.ok(Date.now() - t0 < 60000);
});

test('a body that drips a byte now and then is cut off at the body deadline, naming the rebuilder (was: read for ever)', async () => {
  const t0 = Date.now();
  await assert.rejects(queryRebuilder(`${base}/drip`, 'debian', { retry: NO_RETRY, bodyDeadlineMs: 1500 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_NETWORK');
    assert.equal(e.message, `${base}/drip (API v1): body not complete after 1500 ms`);
    return true;
  });
  assert.ok(Date.now() - t0 < 10000, `${Date.now() - t0} ms`);
});

test('pages that never end, each in time, are cut at the query deadline, naming the rebuilder (was: 10,000 pages, 33 minutes here)', { timeout: 20000 }, async () => {
  const t0 = Date.now();
  await assert.rejects(queryRebuilder(`${base}/slowpages`, 'debian', { retry: NO_RETRY, queryDeadlineMs: 1500 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_NETWORK');
    assert.match(e.message, new RegExp(`^${base}/slowpages: the answer was not complete after 1500 ms \\(\\d+ pages read\\)$`));
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
});

test('a 404 from v1 whose body drips for ever is dropped: v0 answers and the command ends (was: the report printed, the process held for ever by the dripping socket)', async () => {
  const t0 = Date.now();
  const r = await runCliAsync(['status', archImage, '--rebuilder', `${base}/drip404`], { timeout: 30000 });
  assert.equal(r.status, 0, `exit ${r.status} after ${Date.now() - t0} ms: ${r.stderr}`);
  assert.match(r.stdout, /busybox/);
  assert.ok(Date.now() - t0 < 20000, `${Date.now() - t0} ms`);
});

test('control characters in the image\'s names and versions are shown escaped: no forged line, nothing written over', async () => {
  const r = await runCliAsync(['status', archImage, '--rebuilder', `${base}/good`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, [
    '[?] busybox 1.0\\u000dYour image is 100.00% reproducible.\\u001b[K UNKWN',
    '[?] libc6 2.36\\u2028All packages are reproducible! UNKWN',
    '',
    '2/2 packages are not reproducible.',
    'Your image is 0.00% reproducible.',
    '',
  ].join('\n'));
  assert.doesNotMatch(r.stdout, /[\r\u2028\u001b]/);
});
