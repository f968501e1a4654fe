/**
 * The man page, repro-image(1), made from the help texts (`repro-image --help` and each command's
 * `--help`): the same words in roff, so the two cannot disagree. `npm run man` writes it to
 * repro-image.1 at the package root (a test checks that the committed file is current). Nothing
 * from the machine or the clock goes in: the page depends only on the help texts and the version.
 */
import { COMMANDS, mainHelp } from './commands.js';
import { parseHelp, type HelpBlock, type HelpItem } from './help-text.js';

/** Text for roff: backslashes, hyphens (options must be typed as minus signs), line-initial controls. */
export function roffText(s: string): string {
  return s.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');
}

/** A term in bold, its values (upper-case words) in italics. */
function roffTerm(term: string): string {
  return term.split(/(\b[A-Z][A-Z0-9_.:|/\[\]-]*[A-Z0-9\]]\b|\b[A-Z]\b)/).map((part, i) => (i % 2 === 1 ? `\\fI${roffText(part)}\\fB` : roffText(part))).join('');
}

function items(list: HelpItem[]): string[] {
  return list.flatMap((it) => ['.TP', `\\fB${roffTerm(it.term)}\\fR`, roffText(it.description)]);
}

function blocks(bs: HelpBlock[]): string[] {
  const out: string[] = [];
  for (const b of bs) {
    if (b.kind === 'items') out.push(...items(b.items));
    else out.push('.PP', ...b.lines.map((l) => roffText(l.trimEnd())));
  }
  return out;
}

/** Splits the main help at its headings (`Commands:`, `Environment:`, ...). */
function sections(bs: HelpBlock[]): Map<string, HelpBlock[]> {
  const out = new Map<string, HelpBlock[]>([['', []]]);
  let current = '';
  for (const b of bs) {
    if (b.kind === 'text' && b.lines.length === 1 && /^[A-Z][A-Za-z ]*(?: \(.*\))?:$/.test(b.lines[0]!)) {
      current = b.lines[0]!.replace(/ \(.*\)/, '').replace(/:$/, '');
      out.set(current, []);
      continue;
    }
    out.get(current)!.push(b);
  }
  return out;
}

export async function manPage(version: string): Promise<string> {
  const main = parseHelp(mainHelp());
  const parts = sections(main.blocks);
  const isExit = (b: HelpBlock): boolean => b.kind === 'text' && b.lines[0]!.startsWith('Exit codes:');
  const exitBlock = [...parts.values()].flat().find(isExit);
  for (const [k, bs] of parts) parts.set(k, bs.filter((b) => !isExit(b)));
  const description = parts.get('')!;
  const lines: string[] = [
    `.\\" Generated from the help texts by src/cli/man.ts (npm run man); do not edit.`,
    `.TH REPRO\\-IMAGE 1 "" "repro-image ${roffText(version)}" "User Commands"`,
    '.nh',
    '.ad l',
    '.SH NAME',
    'repro\\-image \\- bit\\-for\\-bit reproducible OCI container and OS images',
    '.SH SYNOPSIS',
    '.nf',
  ];
  const loaded = await Promise.all(COMMANDS.map(async (c) => ({ c, help: parseHelp((await c.load()).help) })));
  for (const { help } of loaded) for (const u of help.usage) lines.push(`.B ${roffText(u)}`);
  lines.push('.fi', '.SH DESCRIPTION', ...blocks(description).slice(1));
  lines.push('.SH COMMANDS');
  for (const { c, help } of loaded) {
    lines.push(`.SS ${c.name}`, roffText(`${c.summary}.`), '.PP', '.nf', ...help.usage.map((u) => roffText(u)), '.fi');
    lines.push(...blocks(help.blocks));
  }
  for (const [heading, bs] of parts) {
    if (heading === '' || heading === 'Commands') continue;
    lines.push(`.SH ${heading.toUpperCase()}`, ...blocks(bs).filter((l, i) => !(i === 0 && l === '.PP')));
  }
  if (exitBlock && exitBlock.kind === 'text') lines.push('.SH "EXIT STATUS"', ...exitBlock.lines.map((l) => roffText(l.replace(/^Exit codes: /, ''))));
  lines.push('.SH "SEE ALSO"', '\\fBskopeo\\fR(1), \\fBpodman\\fR(1), \\fBumoci\\fR(1), \\fBcontainers\\-transports\\fR(5), \\fBcontainers\\-auth.json\\fR(5)');
  return `${lines.join('\n')}\n`;
}
