import type { ContainerConfig, HistoryEntry, ImageConfig } from '../model/config.js';
import { rfc3339 } from '../model/config.js';
import type { Digest } from '../model/digest.js';
import type { Platform } from '../model/platform.js';

export const CREATED_BY = 'repro-image build';

/** The image config of a build: every time is SOURCE_DATE_EPOCH, no tool version, no host facts. */
export function imageConfig(p: { platform: Platform; sourceDateEpoch: number; diffIds: Digest[]; container: ContainerConfig; layerComments?: string[]; baseHistory?: HistoryEntry[] }): ImageConfig {
  const created = rfc3339(p.sourceDateEpoch);
  const cfg: ImageConfig = {
    architecture: p.platform.architecture,
    os: p.platform.os,
    created,
    rootfs: { type: 'layers', diff_ids: p.diffIds },
    // One history entry per layer; a single layer's says no more than it always has.
    // A base's history comes first, as it is.
    history: [...(p.baseHistory ?? []), ...(p.layerComments ? p.layerComments.map((comment) => ({ created, created_by: CREATED_BY, comment })) : [{ created, created_by: CREATED_BY }])],
  };
  if (p.platform.variant) cfg.variant = p.platform.variant;
  const c = Object.fromEntries(Object.entries(p.container).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  if (Object.keys(c).length > 0) cfg.config = c as ContainerConfig;
  return cfg;
}
