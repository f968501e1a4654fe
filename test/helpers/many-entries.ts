/**
 * An OCI layout (tag `t`) of one uncompressed layer holding `n` tiny installed dpkg packages of
 * one file each, with their `.list` and `.md5sums` (3n + 8 entries), for the audit's memory
 * tests and measurements: an image of many entries, not of many bytes. The tar is written to the
 * blob as it is made, never held whole. Every entry is accounted for (package `pI` owns
 * `usr/share/many/fI`; the database is dpkg-database).
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { memberBytes, type RawMember } from './tar-maker.js';

const INFO = 'var/lib/dpkg/info/';

/** Writes the layout at `root` and returns its reference (`oci:ROOT:t`). */
export function writeManyEntriesLayout(root: string, n: number): string {
  mkdirSync(join(root, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer): string => {
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(root, 'blobs/sha256', hex), b);
    return hex;
  };
  const tmp = join(root, 'blobs/sha256/layer.tmp');
  const fd = openSync(tmp, 'w');
  const sha = createHash('sha256');
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (): void => {
    const b = Buffer.concat(pending);
    sha.update(b);
    writeSync(fd, b);
    size += b.length;
    pending = [];
    pendingBytes = 0;
  };
  const add = (m: RawMember): void => {
    for (const part of memberBytes({ mtime: 0, ...m })) {
      pending.push(part);
      pendingBytes += part.length;
    }
    if (pendingBytes > 4 << 20) flush();
  };
  const name = (i: number): string => `p${String(i).padStart(7, '0')}`;
  const data = (i: number): string => `${i}\n`;
  try {
    // In path order, parents first: usr/share/many/fI, then var/lib/dpkg/{info/*,status}.
    for (const d of ['usr/', 'usr/share/', 'usr/share/many/']) add({ name: d, type: 'dir' });
    for (let i = 0; i < n; i++) add({ name: `usr/share/many/f${name(i)}`, data: data(i) });
    for (const d of ['var/', 'var/lib/', 'var/lib/dpkg/', INFO]) add({ name: d, type: 'dir' });
    for (let i = 0; i < n; i++) {
      const path = `usr/share/many/f${name(i)}`;
      add({ name: `${INFO}${name(i)}.list`, data: `/${path}\n` });
      add({ name: `${INFO}${name(i)}.md5sums`, data: `${createHash('md5').update(data(i)).digest('hex')}  ${path}\n` });
    }
    const status: string[] = [];
    for (let i = 0; i < n; i++) status.push(`Package: ${name(i)}\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n`);
    add({ name: 'var/lib/dpkg/status', data: status.join('') });
    pending.push(Buffer.alloc(1024));
    flush();
  } finally {
    closeSync(fd);
  }
  const layerHex = sha.digest('hex');
  renameSync(tmp, join(root, 'blobs/sha256', layerHex));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${put(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size }],
  }));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${put(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 't' } }] };
  writeFileSync(join(root, 'index.json'), JSON.stringify(index));
  writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return `oci:${root}:t`;
}
