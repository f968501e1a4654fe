/**
 * Reading from a registry: the manifest or index a reference names (fetched and verified), and a
 * blob store over the repository whose blobs stream on demand (resumed when a connection breaks,
 * verified by whoever reads them) and whose documents come from the manifests endpoint.
 */
import { bytesSource } from '../../image/image.js';
import type { Descriptor } from '../../model/descriptor.js';
import type { Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';
import type { BlobStore, OpenedImage } from '../../image/store.js';
import { registryBlob } from './blob-reader.js';
import { DEFAULT_MAX_BLOB_SIZE, RegistryClient, type RegistryOptions } from './client.js';
import { formatBytes } from '../../fs/space.js';
import { fetchManifest, type FetchedManifest } from './manifests.js';
import { manifestReference, type RegistryName } from './name.js';
import { listRegistryReferrers } from './referrers.js';

export function registryStore(client: RegistryClient, repository: string, known: FetchedManifest[] = []): BlobStore {
  const docs = new Map<Digest, Buffer>(known.map((k) => [k.descriptor.digest, k.bytes]));
  return {
    where: `${client.registry}/${repository}`,
    async blob(digest: Digest, size?: number) {
      // A size is what a manifest declares; a registry can declare anything. Refused before a byte.
      const max = client.options.maxBlobSize ?? DEFAULT_MAX_BLOB_SIZE;
      if (size !== undefined && size > max) {
        throw new ReproError('E_BAD_INPUT', `${client.registry}/${repository}@${digest}: the blob is declared as ${formatBytes(size)} (${size} bytes), more than the maximum blob size of ${formatBytes(max)} (--max-blob-size)`);
      }
      return registryBlob(client, repository, digest, size, max);
    },
    referrers: (subject: Digest) => listRegistryReferrers(client, repository, subject),
    async document(d: Descriptor) {
      let bytes = docs.get(d.digest);
      if (!bytes) {
        bytes = (await fetchManifest(client, repository, d.digest)).bytes;
        if (bytes.length !== d.size) {
          throw new ReproError('E_SIZE_MISMATCH', `${client.registry}/${repository}@${d.digest}: the manifest is ${bytes.length} bytes, its descriptor says ${d.size}`);
        }
        docs.set(d.digest, bytes);
      }
      return bytesSource(bytes);
    },
  };
}

/** Opens `docker://REGISTRY/REPO[:TAG|@DIGEST]`: the target is what the registry serves for it. */
export async function openRegistry(name: RegistryName, opts: RegistryOptions = {}, client = new RegistryClient(name.registry, opts)): Promise<OpenedImage> {
  const root = await fetchManifest(client, name.repository, manifestReference(name));
  return {
    store: registryStore(client, name.repository, [root]),
    target: root.descriptor,
    origin: { registry: name.registry, repository: name.repository },
  };
}
