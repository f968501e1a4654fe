/** The cross-host table: one row per build, plain text with aligned columns. */

export interface Row {
  host: string;
  node: string;
  endianness: string;
  crc32: string;
  compression: string;
  threads: number;
  tmp: string;
  deflate: string;
  digest: string;
  expected: string;
  match: boolean;
  error?: string;
}

const COLUMNS: Array<[string, (r: Row) => string]> = [
  ['host', (r) => r.host],
  ['Node', (r) => r.node],
  ['bytes', (r) => r.endianness],
  ['compression', (r) => r.compression],
  ['threads', (r) => String(r.threads)],
  ['tmp', (r) => r.tmp],
  ['deflate', (r) => r.deflate || '-'],
  ['crc32', (r) => r.crc32],
  ['digest', (r) => r.digest],
  ['match', (r) => (r.match ? (r.expected.startsWith('not ') ? 'yes (differs, as the probe said)' : 'yes') : 'NO')],
];

export function renderTable(rows: readonly Row[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => s.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}
