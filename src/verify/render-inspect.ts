/** `inspect`'s report as text for people. */
import { formatPlatform } from '../model/platform.js';
import type { InspectResult } from './inspect.js';

/** 1536 → `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

export function renderInspect(r: InspectResult): string {
  const lines: string[] = [`Reference:  ${r.reference}`];
  if (r.index) lines.push(`Index:      ${r.index.digest}  (${r.index.size} bytes, ${r.index.value.manifests.length} entries)`);
  if (r.nestedIndex) lines.push(`Image index: ${r.nestedIndex.descriptor.digest}  (${r.nestedIndex.value.manifests.length} manifests)`);
  for (const m of r.manifests) {
    lines.push(`Manifest:   ${m.descriptor.digest}  ${m.descriptor.mediaType}  (${m.descriptor.size} bytes)`);
    for (const [k, val] of Object.entries(m.manifest?.annotations ?? {})) lines.push(`  annotation ${k}=${val}`);
    if (m.configDescriptor) lines.push(`Config:     ${m.configDescriptor.digest}  (${m.configDescriptor.size} bytes)`);
    const c = m.config;
    if (c) {
      lines.push(`  platform   ${formatPlatform({ os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) })}`);
      if (c.created) lines.push(`  created    ${c.created}`);
      const cc = c.config ?? {};
      if (cc.Entrypoint) lines.push(`  entrypoint ${JSON.stringify(cc.Entrypoint)}`);
      if (cc.Cmd) lines.push(`  cmd        ${JSON.stringify(cc.Cmd)}`);
      for (const e of cc.Env ?? []) lines.push(`  env        ${e}`);
      if (cc.WorkingDir) lines.push(`  workdir    ${cc.WorkingDir}`);
      if (cc.User) lines.push(`  user       ${cc.User}`);
      for (const [k, val] of Object.entries(cc.Labels ?? {})) lines.push(`  label      ${k}=${val}`);
    }
    lines.push(`Layers:     ${m.layers.length}`);
    m.layers.forEach((l, i) => {
      lines.push(`  ${i + 1}  ${l.descriptor.digest}  ${l.descriptor.mediaType}  ${formatBytes(l.descriptor.size)}${l.ok ? '  ok' : '  MISMATCH'}`);
      if (l.diffId) lines.push(`     diff_id ${l.diffId}  (${formatBytes(l.uncompressedSize ?? 0)} uncompressed)`);
    });
  }
  lines.push(r.problems.length === 0 ? `Verified:   ${r.blobsVerified} blobs match their digests and sizes` : `FAILED:     ${r.problems.length} problem(s)`);
  return `${lines.join('\n')}\n`;
}
