/**
 * Registry image names, as the distribution reference grammar spells them
 * (`[HOST[:PORT]/]PATH[:TAG][@DIGEST]`), and the names Docker implies: a name without a host is on
 * docker.io, and a one-component name there is under `library/`. Pure; no I/O.
 */
import { isDigest, type Digest } from '../../model/digest.js';
import { ReproError } from '../../model/errors.js';

export interface RegistryName {
  /** `host[:port]` as written (docker.io for names without a host). */
  registry: string;
  /** The repository path, e.g. `library/debian` or `team/app`. */
  repository: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
/** Where docker.io's API actually answers. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$/;

function bad(s: string, why: string): ReproError {
  return new ReproError('E_BAD_REFERENCE', `docker://${s}: ${why}`);
}

/** Parses what follows `docker://`. */
export function parseRegistryName(s: string): RegistryName {
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(s, `invalid digest ${JSON.stringify(d)} (expected sha256: and 64 lowercase hex digits)`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(s, `invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase())) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) throw bad(s, `invalid registry host ${JSON.stringify(registry)}`);
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) {
    throw bad(s, `invalid repository name ${JSON.stringify(parts.join('/'))} (lowercase letters, digits and . _ - between them, / between components)`);
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw bad(s, 'repository name longer than 255 characters');
  const name: RegistryName = { registry, repository };
  if (tag !== undefined) name.tag = tag;
  if (digest !== undefined) name.digest = digest;
  return name;
}

export function formatRegistryName(n: RegistryName): string {
  return `${n.registry}/${n.repository}${n.tag === undefined ? '' : `:${n.tag}`}${n.digest === undefined ? '' : `@${n.digest}`}`;
}

/** The host the API is reached at for a registry name. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_API : registry;
}

/** The manifest reference to GET or PUT: the digest when there is one, else the tag, else `latest`. */
export function manifestReference(n: RegistryName): string {
  return n.digest ?? n.tag ?? 'latest';
}
