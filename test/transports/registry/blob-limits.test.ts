/**
 * Issue 13, item 4: a registry that declares a huge blob cannot fill the disk. A blob larger than
 * the maximum blob size (default 32 GiB, --max-blob-size) is refused before a byte of it is asked
 * for; within the maximum, the declared sizes are checked against the destination's free space
 * before writing; a refusal leaves nothing behind. The registry is a small node:http server on
 * 127.0.0.1 whose layer endpoint would stream zeros.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../../helpers/cli.js';

const TiB = 2 ** 40;
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha('x')] }, config: {} }));
const layerDigest = sha('a layer that is never sent');
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: TiB }],
}));

let server: Server;
let host: string;
let work: string;
let layerRequests = 0;
let layerBytes = 0;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'blob-limits-'));
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (url.startsWith('/v2/big/manifests/')) {
      return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha(manifest) }).end(req.method === 'HEAD' ? undefined : manifest);
    }
    if (url === `/v2/big/blobs/${sha(config)}`) return void res.writeHead(200).end(config);
    if (url === `/v2/big/blobs/${layerDigest}`) {
      layerRequests++;
      // Bounded: 16 MiB of zeros at most, then the connection ends.
      res.writeHead(200, { 'content-length': String(TiB) });
      const chunk = Buffer.alloc(1 << 20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 16 && res.write(chunk)) { sent++; layerBytes += chunk.length; }
        if (sent >= 16) res.destroy();
      };
      res.on('drain', pump);
      pump();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
  rmSync(work, { recursive: true, force: true });
});

test('item 4: a blob declared larger than the maximum blob size is refused before a byte is fetched', async () => {
  const dest = join(work, 'out1');
  const r = await runCliAsync(['copy', '--src-tls-verify=false', `docker://${host}/big:t`, `oci:${dest}:t`]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr.trim(), new RegExp(`big@${layerDigest}: the blob is declared as 1\\.0 TiB \\(${TiB} bytes\\), more than the maximum blob size of 32\\.0 GiB \\(--max-blob-size\\)$`));
  assert.equal(layerRequests, 0);
  assert.equal(existsSync(dest), false);
  assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('.')), [], 'nothing left beside the output');
});

test('item 4: within the maximum, the declared size is checked against the free space before writing', async () => {
  for (const dest of [`oci:${join(work, 'out2')}:t`, `oci-archive:${join(work, 'out2.tar')}:t`]) {
    const r = await runCliAsync(['copy', '--src-tls-verify=false', '--max-blob-size', '2T', `docker://${host}/big:t`, dest]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr.trim(), /out2(\.tar)?: (writing|spooling) \d+ blobs.* needs 1\.0 TiB, and only [0-9.]+ [KMGT]iB are free there$/);
    assert.equal(layerRequests, 0);
    assert.deepEqual(readdirSync(work).filter((n) => n !== 'out1'), [], 'nothing left behind');
  }
});

test('item 4: --max-blob-size is checked as a size', async () => {
  const r = await runCliAsync(['copy', '--max-blob-size', 'lots', `docker://${host}/big:t`, `oci:${join(work, 'x')}`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--max-blob-size: expected a size such as 4G or 500M, got "lots"/);
  assert.equal(layerBytes, 0);
});
