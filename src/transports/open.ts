/**
 * Opening an image reference for reading, whatever its transport. Kept apart from the writers
 * (index.ts): a command that only reads an image (audit, inspect, diff) does not load the modules
 * that write layouts, archives and image graphs. Each transport's reader is loaded when a
 * reference names it.
 */
import type { OpenedImage } from '../image/store.js';
import { openLayout } from './layout/read.js';
import type { ImageRef } from './reference.js';
import type { PodmanOptions } from './storage/podman.js';
import type { RegistryClient, RegistryOptions } from './registry/client.js';

export interface TransportOptions {
  /** Credentials, TLS and upload settings for docker:// references. */
  registry?: RegistryOptions;
  /** A client made beforehand for the reference's registry (see `connect`); used when the registry matches. */
  registryClient?: RegistryClient;
  /** How containers-storage: references run podman. */
  podman?: PodmanOptions;
}

/**
 * For a registry reference, makes its client and starts the `/v2/` ping (and any TLS fallback) at
 * once, so that those round trips overlap with other work, such as reading a copy's source. A
 * failed ping is reported when the client is first used. Other transports: the options as they are.
 */
export async function connect(ref: ImageRef, opts: TransportOptions = {}): Promise<TransportOptions> {
  if (ref.transport !== 'docker') return opts;
  const { RegistryClient } = await import('./registry/client.js');
  const client = new RegistryClient(ref.registry, opts.registry);
  client.base().catch(() => { /* the same failure is thrown to whoever uses the client */ });
  return { ...opts, registryClient: client };
}

/** The client made beforehand by `connect`, when it is for `registry`. */
export function clientFor(registry: string, opts: TransportOptions): RegistryClient | undefined {
  return opts.registryClient?.registry === registry ? opts.registryClient : undefined;
}

export async function openImage(ref: ImageRef, opts: TransportOptions = {}): Promise<OpenedImage> {
  switch (ref.transport) {
    case 'oci':
      return openLayout(ref.path, ref);
    case 'oci-archive':
      return (await import('./archive/oci-archive.js')).openOciArchive(ref.path, ref);
    case 'dir':
      return (await import('./dir/read.js')).openDir(ref.path);
    case 'containers-storage':
      return (await import('./storage/podman.js')).openStorage(ref.name, ref.store, opts.podman);
    case 'docker-archive':
      return (await import('./archive/docker-archive.js')).openDockerArchive(ref.path, ref.tag);
    case 'docker':
      return (await import('./registry/pull.js')).openRegistry(ref, opts.registry, clientFor(ref.registry, opts));
  }
}
