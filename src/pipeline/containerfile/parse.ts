/**
 * Containerfile text to {@link ParsedContainerfile}: imagebuilder's per-instruction line parsers
 * (the parser buildah and so podman use), limited to the instructions we build. The line joining
 * is in lexer.ts, the word splitting in words.ts, the JSON in json-array.ts.
 *
 * Per instruction (imagebuilder's dispatch table):
 * - FROM, EXPOSE: words split at `[\t\v\f\r ]` (no quote handling at this stage);
 * - RUN, CMD, ENTRYPOINT: a JSON array of strings (exec form) or else the whole text (shell form);
 *   a JSON array holding a non-string is an error, any other JSON problem means shell form;
 * - COPY, ADD, VOLUME: a JSON array of strings or else the words split at `[\t\v\f\r ]`;
 * - ENV, LABEL: `KEY=VALUE …` pairs from `parseWords`, or the legacy `KEY VALUE…` form when the
 *   first word has no `=` (the key is the first `[\t\v\f\r ]`-separated token, the value all the
 *   rest, unsplit); quotes stay until substitution;
 * - ARG: its words (`NAME` or `NAME=default`), quotes kept;
 * - USER, WORKDIR, STOPSIGNAL: the whole text.
 * Builder flags (`--x=y` before the arguments) are split off every instruction.
 *
 * Refused, each naming the file and line: ONBUILD, HEALTHCHECK, SHELL, MAINTAINER (E_UNSUPPORTED),
 * heredocs (`<<EOF` in RUN, COPY or ADD; E_UNSUPPORTED), unknown instructions (E_BAD_INPUT), an
 * instruction other than ARG before the first FROM, and a file without FROM.
 */
import { ReproError } from '../../model/errors.js';
import { decodeFirstJsonArray } from './json-array.js';
import { lexContainerfile, type LogicalLine } from './lexer.js';
import { oneLine } from './one-line.js';
import { isGoSpace, splitTokenSpace, trimGoSpace, trimLeftGoSpace } from './go-text.js';
import { parseWords, splitCommand } from './words.js';
import type { Instruction, InstructionName, ParsedContainerfile } from './types.js';

const UNSUPPORTED = new Set(['onbuild', 'healthcheck', 'shell', 'maintainer']);
const SUPPORTED = new Set<InstructionName>([
  'from', 'arg', 'env', 'label', 'run', 'cmd', 'entrypoint', 'copy', 'add', 'workdir', 'user', 'expose', 'volume', 'stopsignal',
]);

type Parsed = { args: string[]; json: boolean };

function maybeJson(rest: string, where: string): Parsed | null {
  const r = decodeFirstJsonArray(trimLeftGoSpace(rest));
  if (!r.ok) return null;
  const args: string[] = [];
  for (const v of r.values) {
    if (typeof v !== 'string') throw new ReproError('E_BAD_INPUT', `${where}: when using JSON array syntax, arrays must be comprised of strings only`);
    args.push(v);
  }
  return { args, json: true };
}

function whitespaceList(rest: string): string[] {
  return rest === '' ? [] : splitTokenSpace(rest, -1);
}

function nameValue(rest: string, key: string, escapeToken: string, where: string): string[] {
  const words = parseWords(rest, escapeToken);
  if (words.length === 0) return [];
  if (!words[0]!.includes('=')) {
    const parts = splitTokenSpace(rest, 2);
    if (parts.length < 2) throw new ReproError('E_BAD_INPUT', `${where}: ${key} must have two arguments`);
    return [parts[0]!, parts[1]!];
  }
  const out: string[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) throw new ReproError('E_BAD_INPUT', `${where}: syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    out.push(word.slice(0, eq), word.slice(eq + 1));
  }
  return out;
}

/**
 * True when a word of the line would start a heredoc for imagebuilder (buildkit's
 * `^(\d*)<<(-?)\s*([^<]*)$` on the words of the line, quotes kept): `<<EOF`, `<<-EOF`, `2<<"EOF"`.
 */
function hasHeredoc(rest: string): boolean {
  const words: string[] = [];
  let word = '';
  let quote = '';
  const chars = Array.from(rest);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (quote !== '') {
      word += ch;
      if (ch === quote) quote = '';
      else if (ch === '\\' && quote === '"' && i + 1 < chars.length) word += chars[++i]!;
      continue;
    }
    if (isGoSpace(ch.codePointAt(0)!)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    if (ch === '\\' && i + 1 < chars.length) {
      word += ch + chars[++i]!;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    word += ch;
  }
  if (word !== '') words.push(word);
  return words.some((w) => /^[0-9]*<<-?[^<]+$/.test(w));
}

function parseLine(logical: LogicalLine, escapeToken: string, file: string): Instruction {
  const where = `${file}:${logical.line}`;
  const { command, flags, rest } = splitCommand(logical.text, where);
  const keyword = splitTokenSpace(trimGoSpace(logical.text), 2)[0] ?? '';
  if (UNSUPPORTED.has(command)) {
    throw new ReproError('E_UNSUPPORTED', `${where}: ${command.toUpperCase()} is not supported`);
  }
  if (!SUPPORTED.has(command as InstructionName)) {
    const shown = keyword === '' ? 'an empty instruction' : `unknown instruction ${JSON.stringify(keyword)}`;
    throw new ReproError('E_BAD_INPUT', `${where}: ${shown}`);
  }
  const name = command as InstructionName;
  let parsed: Parsed;
  switch (name) {
    case 'from':
    case 'expose':
      parsed = { args: whitespaceList(rest), json: false };
      break;
    case 'run':
    case 'cmd':
    case 'entrypoint':
      parsed = rest === '' ? { args: [], json: false } : maybeJson(rest, where) ?? { args: [rest], json: false };
      break;
    case 'copy':
    case 'add':
    case 'volume':
      parsed = maybeJson(rest, where) ?? { args: whitespaceList(rest), json: false };
      break;
    case 'env':
    case 'label':
      parsed = { args: nameValue(rest, name.toUpperCase(), escapeToken, where), json: false };
      break;
    case 'arg':
      parsed = { args: parseWords(rest, escapeToken), json: false };
      break;
    case 'user':
    case 'workdir':
    case 'stopsignal':
      parsed = { args: rest === '' ? [] : [rest], json: false };
      break;
  }
  if ((name === 'run' || name === 'copy' || name === 'add') && !parsed.json && hasHeredoc(logical.text)) {
    throw new ReproError('E_UNSUPPORTED', `${where}: heredocs (<<) are not supported`);
  }
  return {
    command: name,
    line: logical.line,
    endLine: logical.endLine,
    original: logical.text,
    flags,
    json: parsed.json,
    args: parsed.args,
  };
}

/**
 * Parses a Containerfile as podman (buildah, imagebuilder) parses it. `file` names it in errors;
 * every error is a one-line ReproError naming `file:line`.
 */
export function parseContainerfile(data: Uint8Array | string, file: string): ParsedContainerfile {
  return oneLine(() => parse(data, file));
}

function parse(data: Uint8Array | string, file: string): ParsedContainerfile {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const lexed = lexContainerfile(bytes, file);
  const instructions = lexed.lines.map((l) => parseLine(l, lexed.escapeToken, file));
  const firstFrom = instructions.findIndex((i) => i.command === 'from');
  if (firstFrom < 0) throw new ReproError('E_BAD_INPUT', `${file}: no FROM instruction`);
  for (const ins of instructions.slice(0, firstFrom)) {
    if (ins.command !== 'arg') {
      throw new ReproError('E_BAD_INPUT', `${file}:${ins.line}: ${ins.command.toUpperCase()} before the first FROM (only ARG may come first)`);
    }
  }
  return { file, escapeToken: lexed.escapeToken, instructions, warnings: lexed.warnings };
}
