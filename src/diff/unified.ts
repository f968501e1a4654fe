/**
 * Line diffs in the unified format (`diff -u`): Myers' O(ND) algorithm after trimming the common
 * head and tail, with the edit distance capped so that two unrelated files cost bounded time (past
 * the cap the differing middle is shown as one replacement). Pure.
 */

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Past this many inserted and deleted lines the middle is shown as one replacement: bounded time and memory. */
const MAX_EDITS = 1000;
const CONTEXT = 3;

/** Splits text into lines; `eol` tells whether the last line ends with a newline. */
function splitLines(text: string): { lines: string[]; eol: boolean } {
  if (text === '') return { lines: [], eol: true };
  const eol = text.endsWith('\n');
  const lines = (eol ? text.slice(0, -1) : text).split('\n');
  return { lines, eol };
}

/** Myers' shortest edit script of a middle part, or undefined past MAX_EDITS edits. */
function myers(a: string[], b: string[]): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) { x++; y++; }
      v[off + k] = x;
      if (x >= n && y >= m) { found = d; break outer; }
    }
  }
  if (found < 0) return undefined;
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const t = trace[d]!;
    const at = (k: number): number => t[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) ops.push({ kind: ' ', line: a[--x]! }), y--;
    if (x === prevX) ops.push({ kind: '+', line: b[--y]! });
    else ops.push({ kind: '-', line: a[--x]! });
  }
  while (x > 0 && y > 0) ops.push({ kind: ' ', line: a[--x]! }), y--;
  return ops.reverse();
}

function editScript(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const mid = myers(midA, midB) ?? [...midA.map((line) => ({ kind: '-' as const, line })), ...midB.map((line) => ({ kind: '+' as const, line }))];
  return [
    ...a.slice(0, head).map((line) => ({ kind: ' ' as const, line })),
    ...mid,
    ...a.slice(a.length - tail).map((line) => ({ kind: ' ' as const, line })),
  ];
}

function range(start: number, count: number): string {
  // diff -u: a range of one line is written without the count; an empty range names the line before.
  if (count === 1) return String(start);
  return `${count === 0 ? start - 1 : start},${count}`;
}

/**
 * A unified diff of two texts with 3 lines of context, or '' when they are equal.
 * `labels` name the two sides in the `---`/`+++` lines.
 */
export function unifiedDiff(textA: string, textB: string, labels: [string, string]): string {
  const A = splitLines(textA);
  const B = splitLines(textB);
  const ops = editScript(A.lines, B.lines);
  // The last line of a side that lacks its newline is marked, as diff does.
  const lastA = A.lines.length - 1;
  const lastB = B.lines.length - 1;
  const out: string[] = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let i = 0;
  let lineA = 0;
  let lineB = 0;
  const pos: Array<{ a: number; b: number }> = [];
  for (const op of ops) {
    pos.push({ a: lineA, b: lineB });
    if (op.kind !== '+') lineA++;
    if (op.kind !== '-') lineB++;
  }
  const changed = (j: number): boolean => ops[j]!.kind !== ' ';
  // When only one side ends with a newline, its last line counts as changed.
  while (i < ops.length) {
    if (!changed(i) && !(A.eol !== B.eol && i === ops.length - 1)) { i++; continue; }
    const start = Math.max(0, i - CONTEXT);
    let end = i;
    for (;;) {
      while (end < ops.length && (changed(end) || (A.eol !== B.eol && end === ops.length - 1))) end++;
      let next = end;
      while (next < ops.length && !changed(next) && next - end < 2 * CONTEXT) next++;
      if (next < ops.length && changed(next) && next - end <= 2 * CONTEXT) { end = next; continue; }
      end = Math.min(ops.length, end + CONTEXT);
      break;
    }
    let countA = 0;
    let countB = 0;
    for (let j = start; j < end; j++) {
      if (ops[j]!.kind !== '+') countA++;
      if (ops[j]!.kind !== '-') countB++;
    }
    out.push(`@@ -${range(pos[start]!.a + 1, countA)} +${range(pos[start]!.b + 1, countB)} @@`);
    for (let j = start; j < end; j++) {
      const op = ops[j]!;
      out.push(`${op.kind}${op.line}`);
      const noEolA = op.kind !== '+' && pos[j]!.a === lastA && !A.eol;
      const noEolB = op.kind !== '-' && pos[j]!.b === lastB && !B.eol;
      if (op.kind === ' ' && noEolA !== noEolB) {
        // The same last line, one side without its newline: show it as removed and added.
        out.pop();
        out.push(`-${op.line}`);
        if (noEolA) out.push('\\ No newline at end of file');
        out.push(`+${op.line}`);
        if (noEolB) out.push('\\ No newline at end of file');
        continue;
      }
      if (noEolA || noEolB) out.push('\\ No newline at end of file');
    }
    i = end;
  }
  return out.length > 2 ? `${out.join('\n')}\n` : '';
}
