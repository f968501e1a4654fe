import type { Image } from '../image/image.js';
import type { RawJson } from '../model/json.js';
import type { ImageIndex } from '../model/oci-index.js';
import { openDockerArchive, writeDockerArchive } from './archive/docker-archive.js';
import { openOciArchive, writeOciArchive } from './archive/oci-archive.js';
import { openLayout } from './layout/read.js';
import { writeLayout } from './layout/write.js';
import type { ImageRef } from './reference.js';
import type { OpenedImage } from './store.js';

export interface WriteResult {
  /** The index.json written, for transports that have one. */
  index?: RawJson<ImageIndex>;
}

/** Writes an image to a destination; `mtime` is the time archive members carry (SOURCE_DATE_EPOCH). */
export async function writeImage(ref: ImageRef, img: Image, mtime: number): Promise<WriteResult> {
  switch (ref.transport) {
    case 'oci':
      return { index: await writeLayout(ref.path, img, ref.tag) };
    case 'oci-archive':
      return { index: await writeOciArchive(ref.path, img, ref.tag, mtime) };
    case 'docker-archive':
      await writeDockerArchive(ref.path, img, ref.tag, mtime);
      return {};
  }
}

export function openImage(ref: ImageRef): Promise<OpenedImage> {
  switch (ref.transport) {
    case 'oci':
      return openLayout(ref.path, ref.tag);
    case 'oci-archive':
      return openOciArchive(ref.path, ref.tag);
    case 'docker-archive':
      return openDockerArchive(ref.path, ref.tag);
  }
}
