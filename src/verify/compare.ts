/**
 * What differs between a rebuilt image and a published one, at the level the image's JSON shows:
 * manifest (media type, annotations), config (each field, each runtime setting), layers (count,
 * digest, media type, size) and their diff_ids. Pure: it takes the exact bytes already read.
 * It stops where the bytes of a layer would have to be opened; that is the `diff` command's work,
 * which `verify` runs after this when it is given one (see VerifyOptions.deepDiff).
 */
import { canonicalize } from '../model/canonical-json.js';
import type { ImageConfig } from '../model/config.js';
import type { RawJson } from '../model/json.js';
import type { Manifest } from '../model/manifest.js';

/** What compareImages looks at of each image (a ResolvedImage of the image model has it). */
export interface ImageDocuments {
  manifest: RawJson<Manifest>;
  config: RawJson<ImageConfig>;
}

export interface VerifyFinding {
  /** Where: `manifest`, `manifest.annotations.KEY`, `config.FIELD`, `config.config.FIELD`, `layers[N].digest`, ... */
  path: string;
  rebuilt?: unknown;
  published?: unknown;
  /** One line for people. */
  message: string;
}

function same(a: unknown, b: unknown): boolean {
  return canonicalize(a ?? null) === canonicalize(b ?? null);
}

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = typeof v === 'string' ? v : canonicalize(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function fieldFindings(prefix: string, rebuilt: Record<string, unknown>, published: Record<string, unknown>, skip: string[] = []): VerifyFinding[] {
  const keys = [...new Set([...Object.keys(rebuilt), ...Object.keys(published)])].filter((k) => !skip.includes(k)).sort();
  const out: VerifyFinding[] = [];
  for (const k of keys) {
    const r = rebuilt[k];
    const p = published[k];
    if (same(r, p)) continue;
    out.push({ path: `${prefix}.${k}`, rebuilt: r, published: p, message: `${prefix}.${k}: rebuilt ${show(r)}, published ${show(p)}` });
  }
  return out;
}

export function compareImages(rebuilt: ImageDocuments, published: ImageDocuments): VerifyFinding[] {
  const out: VerifyFinding[] = [];
  const rm = rebuilt.manifest.value;
  const pm = published.manifest.value;
  if (rm.mediaType !== pm.mediaType) {
    out.push({ path: 'manifest.mediaType', rebuilt: rm.mediaType, published: pm.mediaType, message: `manifest media type: rebuilt ${rm.mediaType}, published ${pm.mediaType}` });
  }
  out.push(...fieldFindings('manifest.annotations', rm.annotations ?? {}, pm.annotations ?? {}));
  if (rebuilt.config.digest !== published.config.digest) {
    out.push({ path: 'config.digest', rebuilt: rebuilt.config.digest, published: published.config.digest, message: `config: rebuilt ${rebuilt.config.digest}, published ${published.config.digest}` });
    const rc = rebuilt.config.value as Record<string, unknown>;
    const pc = published.config.value as Record<string, unknown>;
    const fields = [
      ...fieldFindings('config', rc, pc, ['config', 'rootfs']),
      ...fieldFindings('config.config', (rc['config'] ?? {}) as Record<string, unknown>, (pc['config'] ?? {}) as Record<string, unknown>),
    ];
    out.push(...fields);
    if (fields.length === 0 && same(rebuilt.config.value.rootfs, published.config.value.rootfs)) {
      out.push({ path: 'config.bytes', message: 'config: the same fields, serialised differently (key order or whitespace)' });
    }
  }
  const rl = rm.layers;
  const pl = pm.layers;
  if (rl.length !== pl.length) out.push({ path: 'layers.length', rebuilt: rl.length, published: pl.length, message: `layers: rebuilt ${rl.length}, published ${pl.length}` });
  const rd = rebuilt.config.value.rootfs.diff_ids;
  const pd = published.config.value.rootfs.diff_ids;
  for (let i = 0; i < Math.max(rl.length, pl.length); i++) {
    const a = rl[i];
    const b = pl[i];
    const n = `layers[${i}]`;
    if (!a || !b) continue;
    if (a.digest === b.digest) continue;
    if (a.mediaType !== b.mediaType) out.push({ path: `${n}.mediaType`, rebuilt: a.mediaType, published: b.mediaType, message: `layer ${i + 1} media type: rebuilt ${a.mediaType}, published ${b.mediaType}` });
    const contentSame = rd[i] !== undefined && rd[i] === pd[i];
    out.push({
      path: `${n}.digest`,
      rebuilt: a.digest,
      published: b.digest,
      message: `layer ${i + 1}: rebuilt ${a.digest} (${a.size} bytes), published ${b.digest} (${b.size} bytes)`,
    });
    if (contentSame) {
      out.push({ path: `${n}.diffId`, rebuilt: rd[i], published: pd[i], message: `layer ${i + 1}: the same uncompressed content (diff_id ${rd[i]}), compressed differently` });
    } else if (rd[i] !== undefined || pd[i] !== undefined) {
      out.push({ path: `${n}.diffId`, rebuilt: rd[i], published: pd[i], message: `layer ${i + 1}: the uncompressed content differs: diff_id rebuilt ${rd[i] ?? '(none)'}, published ${pd[i] ?? '(none)'}` });
    }
  }
  if (out.length === 0 && rebuilt.manifest.digest !== published.manifest.digest) {
    out.push({ path: 'manifest.bytes', message: 'manifest: the same fields, serialised differently (key order or whitespace)' });
  }
  return out;
}
