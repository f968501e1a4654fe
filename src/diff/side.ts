/**
 * One side of a comparison, opened through the image model: an image through any transport
 * (index, manifest and config read and checked against their digests), or a root filesystem (a
 * tarball, or a directory) that stands as a one-layer image without manifest or config. A blob
 * that does not match its descriptor is bad input for a diff (exit 2), never a "difference".
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSource } from '../image/file-source.js';
import { layerReader, type LayerReader } from '../image/layer.js';
import { manifestOf, resolveImage, viewImage, type ImageView } from '../image/read.js';
import type { ImageConfig } from '../model/config.js';
import type { Descriptor } from '../model/descriptor.js';
import type { Digest } from '../model/digest.js';
import { MismatchError, ioError } from '../model/errors.js';
import type { RawJson } from '../model/json.js';
import type { Manifest } from '../model/manifest.js';
import type { Platform } from '../model/platform.js';
import { openImage, type TransportOptions } from '../transports/index.js';
import { parseImageRef } from '../transports/reference.js';
import { asCorrupted } from './corrupted.js';
import { parseComparedJson } from './json-diff.js';
import { FileSource } from '../disk/io.js';
import { looksLikeDisk, openDisk, type OpenedDisk } from '../disk/open.js';
import { directoryMembers, layerMembers, type Member, type ReadStats } from './members.js';

/** A layer ready to be read any number of times. */
export interface SideLayer {
  /** 1-based. */
  number: number;
  descriptor?: Descriptor;
  diffId?: Digest;
  open(stats: ReadStats): AsyncIterable<Member>;
}

export interface LoadedImage {
  /** The manifest's descriptor (from the index, or made up for docker-archive). */
  descriptor: Descriptor;
  manifest: RawJson<Manifest>;
  manifestJson: unknown;
  config: RawJson<ImageConfig>;
  configJson: unknown;
  layers: SideLayer[];
}

export interface ImageSide {
  kind: 'image';
  label: 'A' | 'B';
  reference: string;
  view: ImageView;
}

export interface RootfsSide {
  kind: 'rootfs-tar' | 'rootfs-dir';
  label: 'A' | 'B';
  reference: string;
  path: string;
  layer: SideLayer;
}

export interface DiskSide {
  kind: 'disk';
  label: 'A' | 'B';
  reference: string;
  path: string;
  disk: OpenedDisk;
}

export type Side = ImageSide | RootfsSide | DiskSide;

/** A raw disk image (`disk:FILE`, or a file that starts with a GPT), opened; undefined otherwise. */
function openDiskSide(reference: string, label: 'A' | 'B'): DiskSide | undefined {
  const explicit = reference.startsWith('disk:');
  const path = explicit ? reference.slice('disk:'.length) : reference;
  if (!explicit) {
    const probe = FileSource.open(path, `${label} ${reference}`);
    let isDisk: boolean;
    try {
      isDisk = looksLikeDisk(probe);
    } finally {
      probe.close();
    }
    if (!isDisk) return undefined;
  }
  return { kind: 'disk', label, reference, path, disk: openDisk(path, `${label} ${reference}`) };
}

function sideLayer(layer: LayerReader): SideLayer {
  const s: SideLayer = { number: layer.number, open: (stats) => layerMembers(layer, stats) };
  if (layer.descriptor) s.descriptor = layer.descriptor;
  if (layer.diffId) s.diffId = layer.diffId;
  return s;
}

const TRANSPORT = /^(oci|oci-archive|docker-archive|dir|containers-storage):|^docker:\/\//;

async function isOciLayoutDir(path: string): Promise<boolean> {
  try {
    return (await stat(join(path, 'oci-layout'))).isFile() && (await stat(join(path, 'index.json'))).isFile();
  } catch {
    return false;
  }
}

/**
 * Opens `reference`: an image reference (oci:, oci-archive:, docker-archive:, dir:, containers-storage:, docker://), a
 * directory that holds an OCI layout, a root filesystem directory, or a root filesystem tarball.
 */
export async function openSide(reference: string, label: 'A' | 'B', onWarning?: (m: string) => void, transport: TransportOptions = {}): Promise<Side> {
  if (reference.startsWith('disk:')) return openDiskSide(reference, label)!;
  let ref = reference;
  if (!TRANSPORT.test(ref)) {
    let isDir: boolean;
    try {
      isDir = (await stat(ref)).isDirectory();
    } catch (e) {
      throw ioError(e, `${label} ${ref}`);
    }
    if (isDir && await isOciLayoutDir(ref)) {
      ref = `oci:${ref}`;
    } else {
      const disk = isDir ? undefined : openDiskSide(reference, label);
      if (disk) return disk;
      const where = `${label} ${reference}`;
      const layer: SideLayer = isDir
        ? { number: 1, open: (stats) => directoryMembers(reference, stats, onWarning) }
        : sideLayer(layerReader(() => fileSource(reference), { number: 1, where }));
      return { kind: isDir ? 'rootfs-dir' : 'rootfs-tar', label, reference, path: reference, layer };
    }
  }
  const where = `${label} ${reference}`;
  const opened = await openImage(parseImageRef(ref, label), transport);
  const view = await viewImage(opened, where).catch((e) => { throw asCorrupted(e, `${where}: index ${opened.target.digest}`); });
  return { kind: 'image', label, reference, view };
}

/** The manifest of a side for one platform (through an index; its only manifest without one). */
export function sideManifest(side: ImageSide, want: Platform | undefined): Descriptor {
  return manifestOf(side.view, want);
}

/** Reads and checks a manifest and its config; layers are opened later, when compared. */
export async function loadImage(side: ImageSide, descriptor: Descriptor): Promise<LoadedImage> {
  const { view } = side;
  const image = await resolveImage(view, descriptor).catch((e) => {
    const what = e instanceof MismatchError && e.blob.digest !== descriptor.digest ? `config ${e.blob.digest}` : `manifest ${descriptor.digest}`;
    throw asCorrupted(e, `${view.store.where}: ${what}`);
  });
  return {
    descriptor,
    manifest: image.manifest,
    manifestJson: parseComparedJson(image.manifest.bytes, `${view.where}: manifest ${descriptor.digest}`),
    config: image.config,
    configJson: parseComparedJson(image.config.bytes, `${view.where}: config ${image.config.digest}`),
    layers: image.layers.map(sideLayer),
  };
}
