/**
 * Splitting a logical line into keyword, builder flags and argument words, as imagebuilder's
 * `splitCommand`, `extractBuilderFlags` and `parseWords` do. Each rule below is theirs:
 *
 * - The line is trimmed (Go's `strings.TrimSpace`), then split once at the first run of
 *   `[\t\v\f\r ]`: the keyword (lower-cased) and the rest.
 * - Builder flags: while the next word starts with `--`, it is a flag. Flag words are split at white
 *   space; `'…'` and `"…"` group (the quotes are removed); a backslash (always `\`, whatever the
 *   escape directive says) takes the next character literally, inside quotes too; a word `--` ends
 *   the flags and is dropped. imagebuilder reads flags byte by byte, so a non-ASCII character inside
 *   a flag would come out re-encoded; we refuse it instead.
 * - `parseWords` (ENV, LABEL, ARG): words split at white space; quotes group and are KEPT; the
 *   escape character keeps itself and the next character (also inside double quotes, not inside
 *   single ones); an escape character at the very end of the line is dropped.
 */
import { ReproError } from '../../model/errors.js';
import { goLowerKeyword, isGoSpace, splitTokenSpace, trimGoSpace } from './go-text.js';

export interface SplitLine {
  /** The keyword lower-cased as Go lowers it. */
  readonly command: string;
  readonly flags: string[];
  /** The arguments after the flags, trimmed. */
  readonly rest: string;
}

function isFlagSpace(c: number): boolean {
  // unicode.IsSpace on a single ASCII byte
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** imagebuilder's `extractBuilderFlags`; `where` names the line in errors. */
export function extractBuilderFlags(line: string, where: string): { rest: string; flags: string[] } {
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const atEnd = pos === line.length;
    let c = atEnd ? -1 : line.charCodeAt(pos);
    if (phase === IN_SPACES) {
      if (atEnd) break;
      if (isFlagSpace(c)) continue;
      if (c !== 0x2d || pos + 1 === line.length || line.charCodeAt(pos + 1) !== 0x2d) {
        return { rest: line.slice(pos), flags: words };
      }
      phase = IN_WORD;
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (c >= 0x80) throw new ReproError('E_UNSUPPORTED', `${where}: non-ASCII character in a builder flag`);
    if (phase === IN_WORD) {
      if (isFlagSpace(c)) {
        phase = IN_SPACES;
        if (word === '--') return { rest: line.slice(pos), flags: words };
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (c === 0x27 || c === 0x22) {
        quote = line[pos]!;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (c === 0x5c) {
        if (pos + 1 === line.length) continue;
        pos++;
        c = line.charCodeAt(pos);
        if (c >= 0x80) throw new ReproError('E_UNSUPPORTED', `${where}: non-ASCII character in a builder flag`);
      }
      word += String.fromCharCode(c);
      continue;
    }
    // IN_QUOTE
    if (line[pos] === quote) {
      phase = IN_WORD;
      continue;
    }
    if (c === 0x5c) {
      if (pos + 1 === line.length) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      c = line.charCodeAt(pos);
      if (c >= 0x80) throw new ReproError('E_UNSUPPORTED', `${where}: non-ASCII character in a builder flag`);
    }
    word += String.fromCharCode(c);
  }
  return { rest: '', flags: words };
}

/** imagebuilder's `splitCommand`. */
export function splitCommand(line: string, where: string): SplitLine {
  const parts = splitTokenSpace(trimGoSpace(line), 2);
  const command = goLowerKeyword(parts[0]!);
  if (parts.length < 2) return { command, flags: [], rest: '' };
  const { rest, flags } = extractBuilderFlags(parts[1]!, where);
  return { command, flags, rest: trimGoSpace(rest) };
}

/** imagebuilder's `parseWords`: white-space separated words, quotes and escapes kept. */
export function parseWords(rest: string, escapeToken: string): string[] {
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase = IN_SPACES;
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = atEnd ? '' : chars[pos]!;
    if (phase === IN_SPACES) {
      if (atEnd) break;
      if (isGoSpace(ch.codePointAt(0)!)) continue;
      phase = IN_WORD;
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === IN_WORD) {
      if (isGoSpace(ch.codePointAt(0)!)) {
        phase = IN_SPACES;
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    // IN_QUOTE
    if (ch === quote) phase = IN_WORD;
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos]!;
    }
    word += ch;
  }
  return words;
}
