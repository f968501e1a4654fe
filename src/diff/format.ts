/**
 * How locations and values are written in text (and in finding examples): the same strings in
 * every renderer. Times are shown in UTC, never in the local zone. Pure.
 */
import { escapeControl, escapeName, escapeNameJson } from '../model/errors.js';
import type { Difference, Location, Value } from './types.js';

export function shortDigest(d: string): string {
  return d.startsWith('sha256:') ? `${d.slice(0, 19)}…` : d;
}

/**
 * e.g. `platform linux/arm64 / layer 2 (sha256:0123456789ab…) / usr/lib/os-release`. Paths,
 * platforms and labels come from the images: control characters and line separators are shown
 * escaped (`\u000a`), so that a name cannot start a line of its own in a report, and a path not
 * in composed form (NFC) with its non-ASCII characters escaped (`escapeName`).
 */
export function formatLocation(l: Location): string {
  const parts: string[] = [];
  if (l.platform) parts.push(`platform ${l.platform}`);
  if (l.level === 'layer') parts.push(`layer ${l.layer}${l.layerDigest ? ` (${shortDigest(l.layerDigest)})` : ''}`);
  else if (l.level === 'partition') parts.push(`partition ${l.partition}${l.partitionLabel !== undefined ? ` (${l.partitionLabel})` : ''}`);
  else parts.push(l.level);
  if (l.path !== undefined) parts.push(l.occurrence ? `${escapeName(l.path)} (occurrence ${l.occurrence})` : escapeName(l.path));
  return escapeControl(parts.join(' / '));
}

export function formatDifferencePlace(d: Difference): string {
  return `${formatLocation(d.location)}: ${d.field}`;
}

function utc(seconds: number): string {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().replace(/\.000Z$/, 'Z') : String(seconds);
}

/**
 * A value as one short line of text: JSON, with control characters and line separators escaped,
 * and names as `escapeName` shows them (a link target not in NFC never looks like the composed one).
 */
export function formatValue(field: string, v: Value | undefined): string {
  if (v === undefined) return '(absent)';
  if (field === 'mtime' && typeof v === 'number') return `${v} (${utc(v)})`;
  if (field === 'content' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
    return `${String(v['size'])} bytes ${shortDigest(String(v['sha256']))}`;
  }
  return escapeNameJson(JSON.stringify(v));
}
