/**
 * The read model: an image reference opened by a transport becomes an `ImageView` (the document it
 * names read and verified; for a multi-platform index, the index), and one image of it a
 * `ResolvedImage` (manifest and config verified against their descriptors, layers as readers).
 * diff, verify, inspect, status and copy all read images through here.
 */
import { parseConfig, type ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import { ReproError } from '../model/errors.js';
import type { RawJson } from '../model/json.js';
import { parseManifest, type Manifest } from '../model/manifest.js';
import { isIndexType, isManifestType } from '../model/media-types.js';
import { parseIndex, type ImageIndex } from '../model/oci-index.js';
import type { Platform } from '../model/platform.js';
import { layerReader, type LayerReader } from './layer.js';
import { platformOf, selectPlatform } from './select.js';
import type { OpenedImage } from './store.js';
import { readBlob, readDocument } from './verified.js';

export interface ImageView extends OpenedImage {
  /** Names the image in messages (the reference as given, perhaps with a label such as `A`). */
  where: string;
  /** The index the reference names, when it names one (multi-platform), verified. */
  nested?: RawJson<ImageIndex>;
}

export interface ResolvedImage {
  where: string;
  /** The manifest's descriptor (from the index that lists it, or the one the reference named). */
  descriptor: Descriptor;
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
  /** As the config declares it. */
  platform: Platform;
  layers: LayerReader[];
}

/** Reads what an opened reference names: a manifest is left for `resolveImage`, an index is read now. */
export async function viewImage(opened: OpenedImage, where: string): Promise<ImageView> {
  const view: ImageView = { ...opened, where };
  const t = opened.target;
  if (isIndexType(t.mediaType)) {
    view.nested = parseIndex(await readDocument(opened.store, t), `${where}: index ${t.digest}`);
  } else if (!isManifestType(t.mediaType)) {
    throw new ReproError('E_UNSUPPORTED', `${where}: ${t.digest} is a ${t.mediaType}, not an image manifest or index`);
  }
  return view;
}

/** The manifest a view stands for: through an index, the one for `platform` (or its only one). */
export function manifestOf(view: ImageView, platform: Platform | undefined): Descriptor {
  return view.nested ? selectPlatform(view.nested.value, platform, view.where) : view.target;
}

/** One image of a view: manifest and config read and verified; layers are read when asked. */
export async function resolveImage(view: ImageView, descriptor: Descriptor): Promise<ResolvedImage> {
  const { store, where } = view;
  const manifest = parseManifest(await readDocument(store, descriptor), `${where}: manifest ${descriptor.digest}`, descriptor.mediaType);
  const cd = manifest.value.config;
  const config = parseConfig(await readBlob(store, cd), `${where}: config ${cd.digest}`);
  const diffIds = config.value.rootfs.diff_ids;
  const layers = manifest.value.layers.map((d, i) => {
    const diffId = diffIds[i];
    return layerReader(() => store.blob(d.digest, d.size), {
      number: i + 1, where: `${where}: layer ${i + 1} ${d.digest}`, descriptor: d, ...(diffId ? { diffId } : {}),
    });
  });
  return { where, descriptor, manifest, config, platform: platformOf(config.value), layers };
}

/** Opened reference → the image for `platform` (through an index), in one step. */
export async function readImage(opened: OpenedImage, where: string, platform?: Platform): Promise<ResolvedImage & { view: ImageView }> {
  const view = await viewImage(opened, where);
  return { ...(await resolveImage(view, manifestOf(view, platform))), view };
}
