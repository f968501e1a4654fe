import { ReproError } from '../model/errors.js';
import { formatRegistryName, parseRegistryName, type RegistryName } from './registry/name.js';

export type ImageRef =
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  | { transport: 'docker-archive'; path: string; tag?: string }
  | ({ transport: 'docker' } & RegistryName);

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._\-:@/+]*$/;

/**
 * Parses an image reference in the containers-transports(5) form skopeo uses:
 * `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:NAME[:TAG]]`,
 * `docker://[HOST/]REPO[:TAG][@DIGEST]`.
 * The path ends at the first colon after the transport, as in containers/image.
 */
export function parseImageRef(s: string, what = 'reference'): ImageRef {
  if (s.startsWith('docker://')) return { transport: 'docker', ...parseRegistryName(s.slice('docker://'.length)) };
  const colon = s.indexOf(':');
  const transport = colon < 0 ? '' : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  if (transport !== 'oci' && transport !== 'oci-archive' && transport !== 'docker-archive') {
    throw new ReproError('E_BAD_REFERENCE', `${what} ${JSON.stringify(s)}: expected oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or docker://HOST/REPO[:TAG|@DIGEST]`);
  }
  const sep = rest.indexOf(':');
  const path = sep < 0 ? rest : rest.slice(0, sep);
  const tag = sep < 0 ? undefined : rest.slice(sep + 1);
  if (path === '') throw new ReproError('E_BAD_REFERENCE', `${what} ${JSON.stringify(s)}: the path is empty`);
  if (tag !== undefined && !TAG_RE.test(tag)) {
    throw new ReproError('E_BAD_REFERENCE', `${what} ${JSON.stringify(s)}: invalid tag ${JSON.stringify(tag)}`);
  }
  return tag === undefined ? { transport, path } : { transport, path, tag };
}

export function formatImageRef(r: ImageRef): string {
  if (r.transport === 'docker') return `docker://${formatRegistryName(r)}`;
  return `${r.transport}:${r.path}${r.tag === undefined ? '' : `:${r.tag}`}`;
}

/** Whether a command-line target names an image (a transport prefix) rather than a file such as a spec. */
export function isImageReference(s: string): boolean {
  return /^(oci|oci-archive|docker-archive):|^docker:\/\//.test(s);
}
