/**
 * Reads a command's help text back into its parts, so that the man page and the completion
 * scripts are made from the very text `--help` prints. The shape every help text keeps:
 * `Usage:` lines (continued by lines indented to align), paragraphs, then items — a line indented
 * by exactly two spaces holding a term (`-o, --output REF`, `SPEC.yaml`), two or more spaces and
 * its description, continued on lines indented further — and paragraphs again (exit codes). Pure.
 */

export interface HelpItem {
  /** The term as written: `-o, --output REF`. */
  term: string;
  /** Every `--flag` and `-x` the term names, without values (`--tls-verify=false` → `--tls-verify`). */
  flags: string[];
  /** The value the term's first flag takes (`REF`), if any. */
  metavar?: string;
  /** The description's lines, joined with single spaces. */
  description: string;
}

export type HelpBlock = { kind: 'text'; lines: string[] } | { kind: 'items'; items: HelpItem[] };

export interface ParsedHelp {
  usage: string[];
  blocks: HelpBlock[];
}

const ITEM = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/;

function itemOf(term: string, description: string): HelpItem {
  const flags = [...term.matchAll(/(?:^|[\s,])(--?[A-Za-z0-9][A-Za-z0-9-]*)/g)].map((m) => m[1]!);
  const meta = /^(?:-\w, )?--[A-Za-z0-9-]+(?:=\S+)?(?: ([A-Z][A-Za-z0-9:|/.\[\]_-]*))?/.exec(term);
  const item: HelpItem = { term, flags, description };
  if (meta?.[1] !== undefined) item.metavar = meta[1];
  return item;
}

export function parseHelp(text: string): ParsedHelp {
  const lines = text.replace(/\n+$/, '').split('\n');
  const usage: string[] = [];
  let i = 0;
  if (lines[0]?.startsWith('Usage: ')) {
    usage.push(lines[0].slice('Usage: '.length));
    i = 1;
    while (i < lines.length && /^ {7}\S/.test(lines[i]!)) usage.push(lines[i++]!.trim());
  }
  const blocks: HelpBlock[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = ITEM.exec(line);
    if (m) {
      let last = blocks.at(-1);
      if (last?.kind !== 'items') blocks.push((last = { kind: 'items', items: [] }));
      const desc = [m[2] ?? ''];
      while (i + 1 < lines.length && /^ {3,}\S/.test(lines[i + 1]!)) desc.push(lines[++i]!.trim());
      last.items.push(itemOf(m[1]!.trim(), desc.filter((d) => d !== '').join(' ')));
      continue;
    }
    const para = [line];
    while (i + 1 < lines.length && lines[i + 1]!.trim() !== '' && !/^ {2}\S/.test(lines[i + 1]!)) para.push(lines[++i]!);
    blocks.push({ kind: 'text', lines: para });
  }
  return { usage, blocks };
}

/** Every flag a help text documents. */
export function documentedFlags(text: string): Set<string> {
  const out = new Set<string>();
  for (const b of parseHelp(text).blocks) if (b.kind === 'items') for (const it of b.items) for (const f of it.flags) out.add(f);
  return out;
}
