/**
 * The HTML report: one self-contained page (inline style and one inline script allowed by its
 * hash, a Content-Security-Policy that forbids every fetch). On top, the tool and both references,
 * the verdict and the findings; each finding links to its entries (its examples to theirs) and
 * can be chosen in a filter that shows only its differences; expand all / collapse all; then the
 * differences as a tree (native <details>, level by level and directory by directory), each with
 * an anchor, content diffs inline, the first differing byte marked in a hex view. Without the
 * script (a viewer that blocks it) the page still reads: anchors open their <details>. Pure.
 */
import { createHash } from 'node:crypto';
import { escapeName, escapeNameJson } from '../model/errors.js';
import { formatLocation, formatValue } from './format.js';
import type { ContentDetail, Difference, DiffResult, Location, SideSummary } from './types.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface HtmlOptions {
  /** The tool that made the report, shown in the header (the CLI passes its name and version). */
  tool?: { name: string; version: string };
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:80em;padding:0 1em 2em;color:#1b1b1b;background:#fff}
h1{font-size:1.5em;margin:.8em 0 .1em}h2{font-size:1.2em;margin:1.2em 0 .5em;border-bottom:1px solid #ddd}
.tool{color:#555;margin:0 0 .6em}
table{border-collapse:collapse}td,th{padding:.25em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.sides td.mono{word-break:break-all}
.verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:4px;display:inline-block}
.identical{background:#e6f4ea;color:#1e6b33}.different{background:#fdecea;color:#8a1c12}
#findings td:nth-child(2){min-width:22em}
.count{font-weight:700;text-align:right}.id{color:#555}.hint{color:#444;font-size:.92em}.ex{color:#333;font-size:.9em}
a{color:#0b57d0;text-decoration:none}a:hover{text-decoration:underline}
.only{font-size:.85em;margin-left:.5em;white-space:nowrap}
#controls{position:sticky;top:0;z-index:1;background:#f4f6fa;border:1px solid #d7dce5;border-radius:4px;padding:.45em .7em;margin:.8em 0;display:flex;gap:.8em;align-items:center;flex-wrap:wrap}
#controls[hidden]{display:none}
#controls select{max-width:42em}#controls button{font:inherit;padding:.15em .7em}
#shown{color:#444}
details{margin:.15em 0 .15em 1.1em}summary{cursor:pointer}summary .n{color:#666;font-size:.9em}
details[hidden],.diff-row[hidden]{display:none}
.diff-row{margin:.2em 0 .2em 1.1em;padding:.05em .3em;border-radius:3px}.diff-row:target{background:#fff4c2;outline:2px solid #f0c000}
.field{font-weight:600}.finding{color:#555;font-size:.88em;border:1px solid #ccc;border-radius:3px;padding:0 .3em}
.va{color:#8a1c12}.vb{color:#1e6b33}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:.5em;overflow:auto;max-height:40em;margin:.3em 0 .3em 1.1em}
.del{color:#a31515;background:#fdecea}.add{color:#116329;background:#e6f4ea}.hunk{color:#6f42c1}
mark{background:#ffe38a;color:inherit;border-radius:2px}mark.first{background:#e8590c;color:#fff;font-weight:700}
`;

/**
 * The page's behaviour: the finding filter (also from the URL, `#finding=ID`), expand/collapse
 * all, and opening the <details> around an entry a link points at (`#d-N`).
 */
const SCRIPT = `(() => {
  const rows = Array.from(document.querySelectorAll('#tree .diff-row'));
  const details = Array.from(document.querySelectorAll('#tree details'));
  const controls = document.getElementById('controls');
  const select = document.getElementById('filter');
  const shown = document.getElementById('shown');
  if (!controls || !select || !shown) return;
  controls.hidden = false;
  const total = rows.length;
  const up = (el) => { const out = []; for (let p = el.parentElement; p; p = p.parentElement) if (p.tagName === 'DETAILS') out.push(p); return out; };
  const parents = rows.map(up);
  const apply = (id) => {
    select.value = id;
    const counts = new Map();
    let n = 0;
    rows.forEach((r, i) => {
      const on = id === '' || r.dataset.finding === id;
      r.hidden = !on;
      if (!on) return;
      n++;
      for (const d of parents[i]) counts.set(d, (counts.get(d) || 0) + 1);
    });
    const reveal = id !== '' && n <= 500;
    for (const d of details) {
      const c = counts.get(d) || 0;
      d.hidden = c === 0;
      const label = d.querySelector(':scope > summary > .n');
      if (label) label.textContent = '(' + c + ')';
      if (reveal && c > 0) d.open = true;
    }
    shown.textContent = id === '' ? total + ' differences' : n + ' of ' + total + ' differences shown';
  };
  const openTo = (el) => { for (const d of up(el)) d.open = true; };
  const fromHash = () => {
    const h = decodeURIComponent(location.hash.slice(1));
    if (h.startsWith('finding=')) { apply(h.slice(8)); return; }
    const target = h === '' ? null : document.getElementById(h);
    if (target && target.classList.contains('diff-row')) {
      if (target.hidden) apply('');
      openTo(target);
      target.scrollIntoView({ block: 'center' });
    }
  };
  select.addEventListener('change', () => { location.hash = select.value === '' ? 'tree' : 'finding=' + select.value; });
  document.getElementById('expand').addEventListener('click', () => { for (const d of details) if (!d.hidden) d.open = true; });
  document.getElementById('collapse').addEventListener('click', () => { for (const d of details) d.open = false; });
  window.addEventListener('hashchange', fromHash);
  apply('');
  fromHash();
})();`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

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

interface HexRow {
  offset: number;
  bytes: string[];
  ascii: string;
  text: string;
}

/** Reads back a row of `offset  hex  |ascii|` (content-detail.ts `hexRows`). */
function parseHexRow(row: string): HexRow {
  const m = /^([0-9a-f]{8,}) {2}(.{47}) {2}\|(.*)\|$/.exec(row);
  if (!m) return { offset: -1, bytes: [], ascii: '', text: row };
  return { offset: parseInt(m[1]!, 16), bytes: m[2]!.trim().split(' ').filter(Boolean), ascii: m[3]!, text: row };
}

/**
 * One side of the hex view, every byte that differs from the other side marked, the first
 * difference (at `first`) marked strongest, in the hex and the ASCII columns alike.
 */
function hexSide(rows: HexRow[], other: HexRow[], first: number | undefined): string {
  return rows.map((r, ri) => {
    if (r.offset < 0) return escapeHtml(r.text);
    const o = other[ri];
    const kind = (i: number): '' | 'd' | 'first' => {
      if (first !== undefined && r.offset + i === first) return 'first';
      return o && o.offset === r.offset && o.bytes[i] !== r.bytes[i] ? 'd' : '';
    };
    const hex = r.bytes.map((b, i) => {
      const k = kind(i);
      return k === '' ? b : `<mark${k === 'first' ? ' class="first"' : ''}>${b}</mark>`;
    }).join(' ');
    const pad = ' '.repeat(Math.max(0, 47 - r.bytes.length * 3 + 1));
    const ascii = [...r.ascii].map((c, i) => {
      const k = kind(i);
      return k === '' ? escapeHtml(c) : `<mark${k === 'first' ? ' class="first"' : ''}>${escapeHtml(c)}</mark>`;
    }).join('');
    return `${r.offset.toString(16).padStart(8, '0')}  ${hex}${pad}  |${ascii}|`;
  }).join('\n');
}

function hexHtml(hex: NonNullable<ContentDetail['hex']>, first: number | undefined): string {
  const a = hex.a.map(parseHexRow);
  const b = hex.b.map(parseHexRow);
  return `<pre class="hex">A:\n${hexSide(a, b, first)}\nB:\n${hexSide(b, a, first)}</pre>`;
}

function differenceHtml(d: Difference, n: number): string {
  const values = d.field === 'presence' || d.field === 'root-entry'
    ? d.a !== undefined ? `only in A: <span class="va mono">${escapeHtml(escapeNameJson(JSON.stringify(d.a)))}</span>` : `only in B: <span class="vb mono">${escapeHtml(escapeNameJson(JSON.stringify(d.b)))}</span>`
    : `<span class="va mono">${escapeHtml(formatValue(d.field, d.a))}</span> → <span class="vb mono">${escapeHtml(formatValue(d.field, d.b))}</span>`;
  const parts = [`<div class="diff-row" id="d-${n}" data-finding="${escapeHtml(d.finding)}"><span class="field">${escapeHtml(d.field)}</span>: ${values} `
    + `<a class="finding" href="#finding=${escapeHtml(d.finding)}" title="show only this finding">${escapeHtml(d.finding)}</a>`];
  const c = d.content;
  if (c) {
    const notes: string[] = [];
    if (c.gzip) notes.push(`gzip header time ${c.gzip.headerMtime[0]} → ${c.gzip.headerMtime[1]}; decompressed content ${c.gzip.decompressedEqual ? 'identical' : 'differs'}`);
    if (c.firstDifference !== undefined) notes.push(`first difference at byte ${c.firstDifference} (0x${c.firstDifference.toString(16)})`);
    if (c.truncated) notes.push('content cut at --max-content-diff bytes');
    if (c.note) notes.push(c.note);
    if (notes.length > 0) parts.push(`<div class="hint">${notes.map(escapeHtml).join('; ')}</div>`);
    if (c.diff) parts.push(`<pre class="udiff">${diffLines(c.diff)}</pre>`);
    if (c.hex) parts.push(hexHtml(c.hex, c.gzip ? undefined : c.firstDifference));
  }
  parts.push('</div>');
  return parts.join('');
}

/** A directory tree of the differences of one level (or layer). */
interface Node {
  children: Map<string, Node>;
  diffs: Array<[Difference, number]>;
  count: number;
}

function newNode(): Node {
  return { children: new Map(), diffs: [], count: 0 };
}

/** `open`: this node starts unfolded; `openBelow`: so do all nodes under it. */
function treeHtml(name: string, node: Node, open: boolean, openBelow: boolean): string {
  const inner: string[] = node.diffs.map(([d, n]) => differenceHtml(d, n));
  for (const [child, sub] of node.children) inner.push(treeHtml(child, sub, openBelow, openBelow));
  return `<details${open ? ' open' : ''}><summary><span class="mono">${escapeHtml(name)}</span> <span class="n">(${node.count})</span></summary>${inner.join('')}</details>`;
}

function groupKey(l: Location): string {
  const { path: _p, occurrence: _o, ...rest } = l;
  return formatLocation(rest);
}

export function renderHtml(r: DiffResult, opts: HtmlOptions = {}): string {
  const total = r.differences.length + r.omittedDifferences;
  const title = `repro-image diff: ${r.a.reference} vs ${r.b.reference}`;
  const tool = opts.tool ? `${opts.tool.name} ${opts.tool.version}` : 'repro-image';
  const out: string[] = [
    '<!doctype html>', '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    '<header><h1>repro-image diff</h1>',
    `<p class="tool">made by <span class="mono" id="tool">${escapeHtml(tool)}</span>; report schema ${r.schemaVersion}</p>`,
    `<table class="sides">${sideRow('A', r.a)}${sideRow('B', r.b)}</table>`,
    r.identical
      ? '<p><span class="verdict identical" id="verdict">Identical</span></p>'
      : `<p><span class="verdict different" id="verdict">Different: ${total} difference${total === 1 ? '' : 's'} in ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}</span></p>`,
    '</header>',
  ];
  const o = r.options;
  const flags = [o.semantic ? '--semantic' : '', ...o.ignore.map((i) => `--ignore ${i}`), ...o.ignorePaths.map((p) => `--ignore-path ${p}`), o.platform ? `--platform ${o.platform}` : ''].filter((s) => s !== '');
  if (flags.length > 0) out.push(`<p class="hint">Options: <span class="mono">${escapeHtml(flags.join(' '))}</span></p>`);
  if (!r.identical) {
    // Where each finding's differences are: the first few (its examples) link to their entries.
    const byFinding = new Map<string, number[]>();
    r.differences.forEach((d, i) => {
      let list = byFinding.get(d.finding);
      if (!list) byFinding.set(d.finding, (list = []));
      if (list.length < 5) list.push(i);
    });
    out.push('<nav id="controls" hidden><label>Show <select id="filter">',
      `<option value="">every finding (${r.differences.length})</option>`,
      ...r.findings.filter((f) => byFinding.has(f.id)).map((f) => `<option value="${escapeHtml(f.id)}">${escapeHtml(f.title)}</option>`),
      '</select></label><button type="button" id="expand">Expand all</button><button type="button" id="collapse">Collapse all</button>',
      '<span id="shown"></span></nav>');
    out.push('<section id="findings"><h2>Findings</h2><table><tr><th>count</th><th>finding</th><th>what it means</th></tr>');
    for (const f of r.findings) {
      const listed = byFinding.get(f.id) ?? [];
      const head = listed.length > 0
        ? `<a href="#d-${listed[0]}"><strong>${escapeHtml(f.title)}</strong></a><a class="only" href="#finding=${escapeHtml(f.id)}">show only these</a>`
        : `<strong>${escapeHtml(f.title)}</strong>`;
      const examples = f.examples.map((e, i) => {
        const at = listed[i];
        return `<br><span class="ex mono">e.g. ${at !== undefined ? `<a href="#d-${at}">${escapeHtml(e)}</a>` : escapeHtml(e)}</span>`;
      });
      out.push(`<tr class="finding-row" id="finding-${escapeHtml(f.id)}"><td class="count">${f.count}</td><td>${head}<br><span class="id mono">${escapeHtml(f.id)}</span></td>`
        + `<td><span class="hint">${escapeHtml(f.hint)}</span>${examples.join('')}</td></tr>`);
    }
    out.push('</table></section>', '<section id="tree"><h2>Differences</h2>');
    const groups = new Map<string, Node>();
    r.differences.forEach((d, i) => {
      const key = groupKey(d.location);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = newNode()));
      g.count++;
      let node = g;
      if (d.location.path !== undefined) {
        const label = d.location.occurrence ? `${escapeName(d.location.path)} (occurrence ${d.location.occurrence})` : escapeName(d.location.path);
        for (const part of label.split('/')) {
          let c = node.children.get(part);
          if (!c) node.children.set(part, (c = newNode()));
          c.count++;
          node = c;
        }
      }
      node.diffs.push([d, i]);
    });
    // Small reports start unfolded; large ones show their top level and unfold on demand.
    const openBelow = r.differences.length <= 200;
    for (const [key, g] of groups) out.push(treeHtml(key, g, true, openBelow));
    if (r.omittedDifferences > 0) out.push(`<p class="hint">… and ${r.omittedDifferences} more differences, counted in the findings above.</p>`);
    out.push('</section>', `<script>${SCRIPT}</script>`);
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
