/**
 * The text report: the two sides, the findings with hints and examples, then every difference.
 * Everything taken from the images (names, values, the lines of a file's diff) is written with its
 * control characters escaped (tabs in diffs kept), so that no input can add a line to the report or
 * send escape sequences to a terminal. Pure.
 */
import { escapeControl, escapeNameJson } from '../model/errors.js';
import { formatLocation, formatValue, shortDigest } from './format.js';
import type { Difference, DiffResult, SideSummary } from './types.js';

function side(label: string, s: SideSummary): string {
  if (s.kind === 'disk') return `${label}: ${escapeControl(s.reference)}  (disk image, ${s.partitions ?? 0} partition${s.partitions === 1 ? '' : 's'}, ${s.entriesRead} entries read)`;
  const what = s.kind === 'image' ? `image ${s.digest ? shortDigest(s.digest) : ''}` : s.kind === 'rootfs-tar' ? 'rootfs tarball' : 'rootfs directory';
  return `${label}: ${escapeControl(s.reference)}  (${what}, ${s.layers} layer${s.layers === 1 ? '' : 's'}, ${s.entriesRead} entries read)`;
}

/** A line of a file's diff: every control character but the tab escaped. */
function diffLine(line: string): string {
  return line.replace(/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function indent(text: string, by: string): string[] {
  return text.replace(/\n$/, '').split('\n').map((l) => `${by}${diffLine(l)}`);
}

export function renderDifference(d: Difference): string[] {
  const lines: string[] = [];
  const values = d.field === 'presence' || d.field === 'root-entry'
    ? d.a !== undefined ? `only in A ${escapeNameJson(JSON.stringify(d.a))}` : `only in B ${escapeNameJson(JSON.stringify(d.b))}`
    : `${formatValue(d.field, d.a)} -> ${formatValue(d.field, d.b)}`;
  lines.push(escapeControl(`  ${formatLocation(d.location)}: ${d.field}: ${values}  [${d.finding}]`));
  const c = d.content;
  if (c) {
    if (c.gzip) lines.push(`      gzip: header time ${c.gzip.headerMtime[0]} -> ${c.gzip.headerMtime[1]}; decompressed content ${c.gzip.decompressedEqual ? 'identical' : 'differs'}`);
    if (c.firstDifference !== undefined) lines.push(`      first difference at byte ${c.firstDifference}`);
    if (c.diff) lines.push(...indent(c.diff, '      '));
    if (c.hex) {
      lines.push('      A:', ...c.hex.a.map((r) => `        ${r}`), '      B:', ...c.hex.b.map((r) => `        ${r}`));
    }
    if (c.truncated) lines.push('      (content cut at --max-content-diff bytes)');
    if (c.note) lines.push(`      (${c.note})`);
  }
  return lines;
}

export function renderText(r: DiffResult): string {
  const out: string[] = [side('A', r.a), side('B', r.b)];
  const total = r.differences.length + r.omittedDifferences;
  if (r.identical) {
    out.push('identical');
    return `${out.join('\n')}\n`;
  }
  out.push(`different: ${total} difference${total === 1 ? '' : 's'} in ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}`, '', 'Findings:');
  for (const f of r.findings) {
    out.push(escapeControl(`  ${f.title}  [${f.id}]`), escapeControl(`      ${f.hint}`));
    for (const e of f.examples) out.push(escapeControl(`      e.g. ${e}`));
  }
  out.push('', 'Differences:');
  for (const d of r.differences) out.push(...renderDifference(d));
  if (r.omittedDifferences > 0) out.push(`  ... and ${r.omittedDifferences} more (counted in the findings above)`);
  return `${out.join('\n')}\n`;
}

