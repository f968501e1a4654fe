/**
 * Finding an image's OCI 1.1 referrers in an opened source: a store that has its own listing (a
 * registry: the referrers API or the fallback tag) answers; a layout or an oci-archive is
 * searched: every manifest its index.json lists (other than the subject) whose `subject` is the
 * image's manifest. Each of those manifests is read once per opened source, however many
 * subjects are asked about (an index's platforms, `copy --all` over a layout of many images).
 */
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { parseManifest } from '../model/manifest.js';
import { isIndexType, isManifestType } from '../model/media-types.js';
import { parseIndex } from '../model/oci-index.js';
import type { OpenedImage } from './store.js';
import { readDocument } from './verified.js';

export interface Referrers {
  descriptors: Descriptor[];
  /** `referrers-api`, `fallback-tag`, `index.json` or `none`. */
  via: string;
}

/** The manifests an index.json lists that have a subject: each as a referrer's descriptor. */
type Subjects = Array<{ subject: Digest; referrer: Descriptor }>;

/** Per opened source, its index.json's manifests with a subject, read on the first ask (a failed read is not kept). */
const scanned = new WeakMap<OpenedImage, Promise<Subjects>>();

async function scan(opened: OpenedImage): Promise<Subjects> {
  const out: Subjects = [];
  for (const d of opened.index?.value.manifests ?? []) {
    if (!isManifestType(d.mediaType)) continue;
    const m = parseManifest(await readDocument(opened.store, d), `${opened.store.where}: manifest ${d.digest}`, d.mediaType);
    const subject = m.value.subject?.digest;
    if (subject === undefined || subject === d.digest) continue;
    const artifactType = d.artifactType ?? m.value.artifactType;
    const annotations = d.annotations ?? m.value.annotations;
    out.push({ subject, referrer: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) } });
  }
  return out;
}

export async function listReferrers(opened: OpenedImage, subject: Digest): Promise<Referrers> {
  if (opened.store.referrers) return opened.store.referrers(subject);
  let all = scanned.get(opened);
  if (!all) {
    all = scan(opened);
    scanned.set(opened, all);
    all.catch(() => scanned.delete(opened));
  }
  const out = (await all).filter((s) => s.subject === subject).map((s) => s.referrer);
  out.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return { descriptors: out, via: opened.index ? 'index.json' : 'none' };
}

/** What an opened reference names, and through an index each of its manifests: the subjects whose referrers `inspect --referrers` and `attestations` list. */
export async function referrerSubjects(opened: OpenedImage): Promise<Descriptor[]> {
  const subjects: Descriptor[] = [opened.target];
  if (isIndexType(opened.target.mediaType)) {
    const idx = parseIndex(await readDocument(opened.store, opened.target), `${opened.store.where}: index ${opened.target.digest}`);
    subjects.push(...idx.value.manifests);
  }
  return subjects;
}
