/**
 * The HTML report: one self-contained page (inline style, no script, a Content-Security-Policy that
 * forbids every fetch): the findings on top, then the differences as a collapsible tree (native
 * <details>, level by level and directory by directory), with content diffs inline. Pure.
 */
import { formatLocation, formatValue, shortDigest } from './format.js';
import type { Difference, DiffResult, Location, SideSummary } from './types.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:78em;padding:0 1em;color:#1b1b1b;background:#fff}
h1{font-size:1.5em;margin:0 0 .4em}h2{font-size:1.2em;margin:1.4em 0 .5em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:.25em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:4px;display:inline-block}
.identical{background:#e6f4ea;color:#1e6b33}.different{background:#fdecea;color:#8a1c12}
.count{font-weight:700;text-align:right}.id{color:#555}.hint{color:#444;font-size:.92em}.ex{color:#333;font-size:.9em}
details{margin:.15em 0 .15em 1.1em}summary{cursor:pointer}summary .n{color:#666;font-size:.9em}
.diff-row{margin:.2em 0 .2em 1.1em}.field{font-weight:600}.finding{color:#555;font-size:.88em;border:1px solid #ccc;border-radius:3px;padding:0 .3em}
.va{color:#8a1c12}.vb{color:#1e6b33}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:.5em;overflow:auto;max-height:40em;margin:.3em 0 .3em 1.1em}
.del{color:#a31515;background:#fdecea}.add{color:#116329;background:#e6f4ea}.hunk{color:#6f42c1}
`;

function sideRow(label: string, s: SideSummary): string {
  return `<tr><th>${label}</th><td class="mono">${escapeHtml(s.reference)}</td><td>${escapeHtml(s.kind)}</td>`
    + `<td class="mono">${s.digest ? escapeHtml(s.digest) : ''}</td><td>${s.layers} layer${s.layers === 1 ? '' : 's'}</td><td>${s.entriesRead} entries read</td></tr>`;
}

function diffLines(diff: string): string {
  return diff.replace(/\n$/, '').split('\n').map((l) => {
    const cls = l.startsWith('@@') ? 'hunk' : l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : '';
    return cls ? `<span class="${cls}">${escapeHtml(l)}</span>` : escapeHtml(l);
  }).join('\n');
}

function differenceHtml(d: Difference): string {
  const values = d.field === 'presence' || d.field === 'root-entry'
    ? d.a !== undefined ? `only in A: <span class="va mono">${escapeHtml(JSON.stringify(d.a))}</span>` : `only in B: <span class="vb mono">${escapeHtml(JSON.stringify(d.b))}</span>`
    : `<span class="va mono">${escapeHtml(formatValue(d.field, d.a))}</span> → <span class="vb mono">${escapeHtml(formatValue(d.field, d.b))}</span>`;
  const parts = [`<div class="diff-row"><span class="field">${escapeHtml(d.field)}</span>: ${values} <span class="finding">${escapeHtml(d.finding)}</span>`];
  const c = d.content;
  if (c) {
    const notes: string[] = [];
    if (c.gzip) notes.push(`gzip header time ${c.gzip.headerMtime[0]} → ${c.gzip.headerMtime[1]}; decompressed content ${c.gzip.decompressedEqual ? 'identical' : 'differs'}`);
    if (c.firstDifference !== undefined) notes.push(`first difference at byte ${c.firstDifference}`);
    if (c.truncated) notes.push('content cut at --max-content-diff bytes');
    if (c.note) notes.push(c.note);
    if (notes.length > 0) parts.push(`<div class="hint">${notes.map(escapeHtml).join('; ')}</div>`);
    if (c.diff) parts.push(`<pre class="udiff">${diffLines(c.diff)}</pre>`);
    if (c.hex) parts.push(`<pre class="hex">A:\n${escapeHtml(c.hex.a.join('\n'))}\nB:\n${escapeHtml(c.hex.b.join('\n'))}</pre>`);
  }
  parts.push('</div>');
  return parts.join('');
}

/** A directory tree of the differences of one level (or layer). */
interface Node {
  children: Map<string, Node>;
  diffs: Difference[];
  count: number;
}

function newNode(): Node {
  return { children: new Map(), diffs: [], count: 0 };
}

/** `open`: this node starts unfolded; `openBelow`: so do all nodes under it. */
function treeHtml(name: string, node: Node, open: boolean, openBelow: boolean): string {
  const inner: string[] = node.diffs.map(differenceHtml);
  for (const [child, sub] of node.children) inner.push(treeHtml(child, sub, openBelow, openBelow));
  return `<details${open ? ' open' : ''}><summary><span class="mono">${escapeHtml(name)}</span> <span class="n">(${node.count})</span></summary>${inner.join('')}</details>`;
}

function groupKey(l: Location): string {
  const { path: _p, occurrence: _o, ...rest } = l;
  return formatLocation(rest);
}

export function renderHtml(r: DiffResult): string {
  const total = r.differences.length + r.omittedDifferences;
  const title = `repro-image diff: ${r.a.reference} vs ${r.b.reference}`;
  const out: string[] = [
    '<!doctype html>', '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    '<h1>repro-image diff</h1>',
    `<table class="sides">${sideRow('A', r.a)}${sideRow('B', r.b)}</table>`,
    r.identical
      ? '<p><span class="verdict identical" id="verdict">Identical</span></p>'
      : `<p><span class="verdict different" id="verdict">Different: ${total} difference${total === 1 ? '' : 's'} in ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}</span></p>`,
  ];
  const opts = r.options;
  const flags = [opts.semantic ? '--semantic' : '', ...opts.ignore.map((i) => `--ignore ${i}`), ...opts.ignorePaths.map((p) => `--ignore-path ${p}`), opts.platform ? `--platform ${opts.platform}` : ''].filter((s) => s !== '');
  if (flags.length > 0) out.push(`<p class="hint">Options: <span class="mono">${escapeHtml(flags.join(' '))}</span></p>`);
  if (!r.identical) {
    out.push('<section id="findings"><h2>Findings</h2><table><tr><th>count</th><th>finding</th><th>what it means</th></tr>');
    for (const f of r.findings) {
      out.push(`<tr class="finding-row" id="finding-${escapeHtml(f.id)}"><td class="count">${f.count}</td><td><strong>${escapeHtml(f.title)}</strong><br><span class="id mono">${escapeHtml(f.id)}</span></td>`
        + `<td><span class="hint">${escapeHtml(f.hint)}</span>${f.examples.map((e) => `<br><span class="ex mono">e.g. ${escapeHtml(e)}</span>`).join('')}</td></tr>`);
    }
    out.push('</table></section>', '<section id="tree"><h2>Differences</h2>');
    const groups = new Map<string, Node>();
    for (const d of r.differences) {
      const key = groupKey(d.location);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = newNode()));
      g.count++;
      let node = g;
      if (d.location.path !== undefined) {
        const label = d.location.occurrence ? `${d.location.path} (occurrence ${d.location.occurrence})` : d.location.path;
        const parts = label.split('/');
        for (const part of parts) {
          let c = node.children.get(part);
          if (!c) node.children.set(part, (c = newNode()));
          c.count++;
          node = c;
        }
      }
      node.diffs.push(d);
    }
    // Small reports start unfolded; large ones show their top level and unfold on demand.
    const openBelow = r.differences.length <= 200;
    for (const [key, g] of groups) out.push(treeHtml(key, g, true, openBelow));
    if (r.omittedDifferences > 0) out.push(`<p class="hint">… and ${r.omittedDifferences} more differences, counted in the findings above.</p>`);
    out.push('</section>');
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
