/**
 * What to show for a file whose content differs, and which finding explains it: a unified diff for
 * text, a hex view at the first difference for binaries, gzip files compared decompressed, and the
 * known patterns (.pyc header times, gzip header times, pacman install dates). Pure.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { compareSides, type ContentComparison, type ContentSide } from './content.js';
import { pathFinding } from './findings.js';
import type { ContentDetail } from './types.js';
import { escapeName } from '../model/errors.js';
import { unifiedDiff } from './unified.js';

export interface ContentVerdict {
  finding: string;
  detail: ContentDetail;
}

function isGzip(s: ContentSide): boolean {
  return s.sample.length >= 10 && s.sample[0] === 0x1f && s.sample[1] === 0x8b && s.sample[2] === 0x08;
}

function isText(s: ContentSide): boolean {
  if (s.sample.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(s.sample, { stream: !s.complete });
    return true;
  } catch {
    return false;
  }
}

/** Rows of `offset  hex  |ascii|`, 16 bytes a row. */
export function hexRows(offset: number, bytes: Buffer): string[] {
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = [...row].map((c) => c.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
    rows.push(`${(offset + i).toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return rows;
}

/** Cuts a diff at a line boundary so that it is at most `limit` bytes. */
function bounded(diff: string, limit: number): { text: string; cut: boolean } {
  if (Buffer.byteLength(diff) <= limit) return { text: diff, cut: false };
  const head = Buffer.from(diff).subarray(0, limit).toString('utf8');
  const nl = head.lastIndexOf('\n');
  return { text: nl >= 0 ? head.slice(0, nl + 1) : '', cut: true };
}

function pacmanSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of text.split(/\n\n+/)) {
    const m = /^%([A-Z0-9_]+)%\n?([\s\S]*)$/.exec(block.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** True when the only section of two pacman `desc` files that differs is %INSTALLDATE%. */
function onlyInstallDate(a: string, b: string): boolean {
  const sa = pacmanSections(a);
  const sb = pacmanSections(b);
  if (sa.get('INSTALLDATE') === sb.get('INSTALLDATE')) return false;
  const keys = new Set([...sa.keys(), ...sb.keys()]);
  for (const k of keys) if (k !== 'INSTALLDATE' && sa.get(k) !== sb.get(k)) return false;
  return true;
}

function side(data: Buffer, limit: number): ContentSide {
  return { size: data.length, sha256: `sha256:${createHash('sha256').update(data).digest('hex')}`, sample: data.subarray(0, limit), complete: data.length <= limit };
}

function gunzipBounded(s: ContentSide, limit: number): Buffer | undefined {
  if (!s.complete) return undefined;
  try {
    return gunzipSync(s.sample, { maxOutputLength: Math.max(limit * 4, 1 << 20) });
  } catch {
    return undefined;
  }
}

/** The detail of two contents: text diff or hex view. */
function render(cmp: ContentComparison, labels: [string, string], limit: number): ContentDetail {
  const truncated = !cmp.a.complete || !cmp.b.complete;
  const detail: ContentDetail = { kind: 'binary' };
  if (cmp.firstDiff !== undefined) detail.firstDifference = cmp.firstDiff;
  if (isText(cmp.a) && isText(cmp.b)) {
    detail.kind = 'text';
    const diff = unifiedDiff(cmp.a.sample.toString('utf8'), cmp.b.sample.toString('utf8'), labels);
    const { text, cut } = bounded(diff, limit);
    if (text !== '') detail.diff = text;
    else detail.note = `the first ${limit} bytes of each side are the same`;
    if (truncated || cut) detail.truncated = true;
    return detail;
  }
  if (cmp.window) detail.hex = { a: hexRows(cmp.window.offset, cmp.window.a), b: hexRows(cmp.window.offset, cmp.window.b) };
  else detail.note = `no byte of the first ${limit} differs; the difference lies further on`;
  if (truncated) detail.truncated = true;
  return detail;
}

/** Explains two differing contents of the file at `path`; `limit` is --max-content-diff. */
export function describeContent(path: string, cmp: ContentComparison, limit: number): ContentVerdict {
  // The path is the image's: a newline in it must not add a line to the diff's header.
  const labels: [string, string] = [`a/${escapeName(path)}`, `b/${escapeName(path)}`];
  const first = cmp.firstDiff;
  const last = cmp.lastDiff;
  const onlyIn = (lo: number, hi: number): boolean => cmp.a.size === cmp.b.size && first !== undefined && last !== undefined && first >= lo && last <= hi;
  if (isGzip(cmp.a) && isGzip(cmp.b)) {
    const headerMtime: [number, number] = [cmp.a.sample.readUInt32LE(4), cmp.b.sample.readUInt32LE(4)];
    // Bytes 4-7 are the gzip header's MTIME: if nothing else differs, the content is the same.
    if (onlyIn(4, 7)) {
      return { finding: 'gzip-header-time', detail: { ...render(cmp, labels, limit), kind: 'binary', gzip: { decompressedEqual: true, headerMtime } } };
    }
    const da = gunzipBounded(cmp.a, limit);
    const db = gunzipBounded(cmp.b, limit);
    if (da && db) {
      const inner = compareSides(side(da, limit), side(db, limit));
      if (inner.equal) {
        const detail = render(cmp, labels, limit);
        return { finding: headerMtime[0] !== headerMtime[1] ? 'gzip-header-time' : 'gzip-compression', detail: { ...detail, kind: 'binary', gzip: { decompressedEqual: true, headerMtime } } };
      }
      const detail = render(inner, [`${labels[0]} (gunzipped)`, `${labels[1]} (gunzipped)`], limit);
      return { finding: pathFinding(path) ?? 'content', detail: { ...detail, gzip: { decompressedEqual: false, headerMtime } } };
    }
  }
  if (/\.pyc$/.test(path) && onlyIn(8, 15)) {
    return { finding: 'pyc-timestamp', detail: render(cmp, labels, limit) };
  }
  const detail = render(cmp, labels, limit);
  if (/^var\/lib\/pacman\/local\/[^/]+\/desc$/.test(path) && detail.kind === 'text' && cmp.a.complete && cmp.b.complete
    && onlyInstallDate(cmp.a.sample.toString('utf8'), cmp.b.sample.toString('utf8'))) {
    return { finding: 'pacman-installdate', detail };
  }
  return { finding: pathFinding(path) ?? 'content', detail };
}
