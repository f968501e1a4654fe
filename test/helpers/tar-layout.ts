/** An OCI layout (tag `t`) of one image whose layers are these uncompressed tars, for readers' tests. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Writes the layout at `root` and returns its reference (`oci:ROOT:t`). */
export function writeTarLayout(root: string, layers: Buffer[]): string {
  mkdirSync(join(root, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer): string => {
    const hex = sha(b);
    writeFileSync(join(root, 'blobs/sha256', hex), b);
    return hex;
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l)}`) } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${put(config)}`, size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${put(l)}`, size: l.length })),
  }));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${put(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 't' } }] };
  writeFileSync(join(root, 'index.json'), JSON.stringify(index));
  writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return `oci:${root}:t`;
}
