import { ReproError } from '../model/errors.js';
import type { Digest } from '../model/digest.js';
import type { IndexSelector } from '../image/select.js';
import { formatRegistryName, parseRegistryName, type RegistryName } from './registry/name.js';

/** A containers-storage store other than the default: `[driver@root+runroot:options]`. */
export interface StorageSpecifier {
  driver?: string;
  root: string;
  runRoot?: string;
  options?: string;
}

/** Which image of a layout's index.json: by tag (`:TAG`), by digest (`:@sha256:…`) or by position (`:@N`, skopeo's source index). */
export type LayoutSelector = IndexSelector;

export type ImageRef =
  | ({ transport: 'oci'; path: string } & LayoutSelector)
  | ({ transport: 'oci-archive'; path: string } & LayoutSelector)
  | { transport: 'docker-archive'; path: string; tag?: string }
  | { transport: 'dir'; path: string }
  | { transport: 'containers-storage'; name: string; store?: StorageSpecifier }
  | ({ transport: 'docker' } & RegistryName);

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._\-:@/+]*$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

const EXPECTED = 'expected oci:DIR[:TAG|:@DIGEST], oci-archive:FILE[:TAG|:@DIGEST], docker-archive:FILE[:NAME:TAG], dir:DIR, containers-storage:NAME or docker://HOST/REPO[:TAG|@DIGEST]';

function bad(what: string, s: string, why: string): ReproError {
  return new ReproError('E_BAD_REFERENCE', `${what} ${JSON.stringify(s)}: ${why}`);
}

/** `:TAG`, `:@sha256:…` or `:@N` after a layout's path. */
function layoutSelector(s: string, what: string, after: string): LayoutSelector {
  if (!after.startsWith('@')) {
    if (!TAG_RE.test(after)) throw bad(what, s, `invalid tag ${JSON.stringify(after)}`);
    return { tag: after };
  }
  const v = after.slice(1);
  if (DIGEST_RE.test(v)) return { digest: v as Digest };
  if (/^(0|[1-9][0-9]{0,8})$/.test(v)) return { sourceIndex: Number(v) };
  throw bad(what, s, `after ":@" expected a manifest digest (sha256: and 64 hex digits) or a position in index.json, got ${JSON.stringify(v)}`);
}

/** `[driver@root+runroot:options]NAME` (containers-transports(5)). */
function storageRef(s: string, rest: string, what: string): ImageRef {
  let store: StorageSpecifier | undefined;
  let name = rest;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw bad(what, s, 'the store specifier [driver@root+runroot:options] has no closing ]');
    const spec = rest.slice(1, end);
    name = rest.slice(end + 1);
    const m = /^(?:([a-z0-9_]+)@)?(\/[^+:]*)(?:\+(\/[^:]*))?(?::(.*))?$/.exec(spec);
    if (!m) throw bad(what, s, 'the store specifier is [driver@ROOT+RUNROOT:options] with absolute paths');
    store = { root: m[2]! };
    if (m[1] !== undefined) store.driver = m[1];
    if (m[3] !== undefined) store.runRoot = m[3];
    if (m[4] !== undefined && m[4] !== '') store.options = m[4];
  }
  if (name === '') throw bad(what, s, 'no image name or ID');
  if (/[\s\0]/.test(name) || name.startsWith('-')) throw bad(what, s, 'an image name holds no spaces and does not start with "-"');
  return store ? { transport: 'containers-storage', name, store } : { transport: 'containers-storage', name };
}

/**
 * Parses an image reference in the containers-transports(5) form skopeo uses:
 * `oci:DIR[:TAG|:@DIGEST|:@N]`, `oci-archive:FILE[:TAG|:@DIGEST|:@N]`,
 * `docker-archive:FILE[:NAME[:TAG]]`, `dir:DIR`, `containers-storage:[STORE]NAME`,
 * `docker://[HOST/]REPO[:TAG][@DIGEST]`. The path ends at the first colon after the transport,
 * as in containers/image.
 */
export function parseImageRef(s: string, what = 'reference'): ImageRef {
  if (s.startsWith('docker://')) return { transport: 'docker', ...parseRegistryName(s.slice('docker://'.length)) };
  const colon = s.indexOf(':');
  const transport = colon < 0 ? '' : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  if (transport === 'containers-storage') return storageRef(s, rest, what);
  if (transport === 'dir') {
    if (rest === '') throw bad(what, s, 'the path is empty');
    return { transport: 'dir', path: rest };
  }
  if (transport !== 'oci' && transport !== 'oci-archive' && transport !== 'docker-archive') {
    throw new ReproError('E_BAD_REFERENCE', `${what} ${JSON.stringify(s)}: ${EXPECTED}`);
  }
  const sep = rest.indexOf(':');
  const path = sep < 0 ? rest : rest.slice(0, sep);
  const after = sep < 0 ? undefined : rest.slice(sep + 1);
  if (path === '') throw bad(what, s, 'the path is empty');
  if (transport !== 'docker-archive' && /@sha256$/.test(path) && after !== undefined && /^[0-9a-f]{64}$/.test(after)) {
    throw bad(what, s, `a digest follows a colon: write ${transport}:${path.slice(0, -'@sha256'.length)}:@sha256:${after}`);
  }
  if (after === undefined) return { transport, path };
  if (transport === 'docker-archive') {
    if (!TAG_RE.test(after)) throw bad(what, s, `invalid tag ${JSON.stringify(after)}`);
    return { transport, path, tag: after };
  }
  return { transport, path, ...layoutSelector(s, what, after) };
}

function formatStore(st: StorageSpecifier): string {
  return `[${st.driver ? `${st.driver}@` : ''}${st.root}${st.runRoot ? `+${st.runRoot}` : ''}${st.options ? `:${st.options}` : ''}]`;
}

export function formatImageRef(r: ImageRef): string {
  switch (r.transport) {
    case 'docker':
      return `docker://${formatRegistryName(r)}`;
    case 'dir':
      return `dir:${r.path}`;
    case 'containers-storage':
      return `containers-storage:${r.store ? formatStore(r.store) : ''}${r.name}`;
    case 'docker-archive':
      return `docker-archive:${r.path}${r.tag === undefined ? '' : `:${r.tag}`}`;
    default: {
      const sel = r.tag !== undefined ? `:${r.tag}` : r.digest !== undefined ? `:@${r.digest}` : r.sourceIndex !== undefined ? `:@${r.sourceIndex}` : '';
      return `${r.transport}:${r.path}${sel}`;
    }
  }
}

/** The tag a reference names, for writers that record one (layouts, archives). */
export function tagOf(r: ImageRef): string | undefined {
  return r.transport === 'oci' || r.transport === 'oci-archive' || r.transport === 'docker-archive' || r.transport === 'docker' ? r.tag : undefined;
}

/** Refuses a digest or position where an image is written: they name what is there already. */
export function checkWritable(r: ImageRef, what: string): void {
  if ((r.transport === 'oci' || r.transport === 'oci-archive') && (r.digest !== undefined || r.sourceIndex !== undefined)) {
    throw new ReproError('E_USAGE', `${what} ${formatImageRef(r)}: :@DIGEST and :@N name an image already there; write with :TAG or none`);
  }
}

/** Whether a command-line target names an image (a transport prefix) rather than a file such as a spec. */
export function isImageReference(s: string): boolean {
  return /^(oci|oci-archive|docker-archive):|^docker:\/\//.test(s);
}
