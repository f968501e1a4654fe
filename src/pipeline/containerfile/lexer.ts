/**
 * Physical lines to logical lines, as imagebuilder's `parser.Parse` (the parser buildah and podman
 * use) joins them. The rules, from its source:
 *
 * - Lines are split on `\n`; one `\r` before it is dropped (Go's `bufio.ScanLines`). A UTF-8 BOM
 *   is dropped from the first line only.
 * - Parser directives: while no other line has been seen, a line matching
 *   `#[ \t]*escape[ \t]*=[ \t]*(.)` (case-insensitive, after leading white space) sets the escape
 *   character, which must be `\` or a backtick; a second one is an error. Any other line, blank
 *   lines and ordinary comments included, ends the directive section. Only `escape` is a directive
 *   here: `# syntax=` is an ordinary comment (buildkit knows it, imagebuilder does not), so an
 *   `# escape=` after it is a comment too.
 * - The first line of an instruction loses its leading white space (Go's `unicode.IsSpace`); if it
 *   then starts with `#` it is a comment and vanishes.
 * - A line ending in the escape character followed only by spaces/tabs continues: the escape
 *   character and those blanks are removed and the next line is appended as it is (its leading
 *   white space kept). Unlike buildkit, a doubled escape character (`\\` at the end) continues too.
 * - Inside a continuation, a line that is empty, white space only, or (after leading white space)
 *   a `#` comment is skipped without ending the continuation; the instruction then draws a warning
 *   ("empty continuation line"), as imagebuilder prints one (for comment lines too).
 * - A continuation still open at the end of the file ends there.
 *
 * Hostile input: the file is capped at {@link MAX_CONTAINERFILE_BYTES}, a logical line at
 * {@link MAX_LOGICAL_LINE}, and invalid UTF-8 is refused (imagebuilder would turn each bad byte
 * into U+FFFD in some places and keep it in others; we name the line instead).
 */
import { ReproError } from '../../model/errors.js';
import { isGoSpace, trimLeftGoSpace } from './go-text.js';

export const MAX_CONTAINERFILE_BYTES = 1024 * 1024;
export const MAX_LOGICAL_LINE = 256 * 1024;

export interface LogicalLine {
  readonly text: string;
  readonly line: number;
  readonly endLine: number;
}

export interface LexResult {
  readonly escapeToken: '\\' | '`';
  readonly lines: readonly LogicalLine[];
  readonly warnings: readonly string[];
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Splits like `bufio.ScanLines` and decodes each line, naming the first line that is not UTF-8. */
export function splitPhysicalLines(data: Uint8Array, file: string): string[] {
  if (data.length > MAX_CONTAINERFILE_BYTES) {
    throw new ReproError('E_BAD_INPUT', `${file}: ${data.length} bytes, more than the ${MAX_CONTAINERFILE_BYTES} a Containerfile may have`);
  }
  const lines: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    const next = end < 0 ? data.length : end + 1;
    if (end < 0) end = data.length;
    let stop = end;
    if (stop > start && data[stop - 1] === 0x0d) stop--;
    let bytes = data.subarray(start, stop);
    if (lines.length === 0 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    try {
      lines.push(decoder.decode(bytes));
    } catch {
      throw new ReproError('E_BAD_INPUT', `${file}:${lines.length + 1}: not valid UTF-8`);
    }
    start = next;
  }
  return lines;
}

interface DirectiveState {
  escape: '\\' | '`';
  seen: boolean;
  complete: boolean;
}

/**
 * The escape character a directive line names, `null` if the line is not an escape directive, or
 * the invalid character it names. Mirrors `^#[ \t]*escape[ \t]*=[ \t]*(.).*$` on the lower-cased
 * line, including its backtracking: `# escape= ` (a blank and nothing else) names a blank.
 */
function escapeDirective(token: string): string | null {
  let i = 0;
  if (token[i] !== '#') return null;
  i++;
  while (token[i] === ' ' || token[i] === '\t') i++;
  if (!/^escape$/i.test(token.slice(i, i + 6))) return null;
  i += 6;
  while (token[i] === ' ' || token[i] === '\t') i++;
  if (token[i] !== '=') return null;
  i++;
  const blanksFrom = i;
  while (token[i] === ' ' || token[i] === '\t') i++;
  if (i < token.length) return String.fromCodePoint(token.codePointAt(i)!).toLowerCase();
  if (i > blanksFrom) return token[i - 1]!;
  return null;
}

function checkDirective(state: DirectiveState, token: string, file: string, lineNo: number): void {
  if (state.complete) return;
  const ch = escapeDirective(token);
  if (ch === null) {
    state.complete = true;
    return;
  }
  if (state.seen) throw new ReproError('E_BAD_INPUT', `${file}:${lineNo}: only one escape parser directive can be used`);
  state.seen = true;
  if (ch !== '\\' && ch !== '`') throw new ReproError('E_BAD_INPUT', `${file}:${lineNo}: invalid escape character '${ch}': must be \` or \\`);
  state.escape = ch;
}

/** `line` without its continuation mark, or `null` when the line does not continue. */
function stripContinuation(line: string, escape: string): string | null {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end > 0 && line[end - 1] === escape) return line.slice(0, end - 1);
  return null;
}

function isComment(s: string): boolean {
  return s.startsWith('#');
}

function isEmptyContinuationLine(raw: string): boolean {
  const t = trimLeftGoSpace(raw);
  return t === '' || isComment(t);
}

/** Joins physical lines into logical ones as imagebuilder does (see the module comment). */
export function lexContainerfile(data: Uint8Array, file: string): LexResult {
  const physical = splitPhysicalLines(data, file);
  const state: DirectiveState = { escape: '\\', seen: false, complete: false };
  const lines: LogicalLine[] = [];
  const warnings: string[] = [];
  let i = 0;
  while (i < physical.length) {
    const lineNo = i + 1;
    const token = trimLeftGoSpace(physical[i]!);
    i++;
    checkDirective(state, token, file, lineNo);
    const content = isComment(token) ? '' : token;
    const stripped = stripContinuation(content, state.escape);
    let text = stripped ?? content;
    let open = stripped !== null;
    if (!open && text === '') continue;
    let emptyContinuation = false;
    while (open && i < physical.length) {
      const raw = physical[i]!;
      i++;
      checkDirective(state, raw, file, i);
      // imagebuilder skips every line that is blank or a comment after its leading white space,
      // and warns about the instruction (comment lines draw the warning too).
      if (isEmptyContinuationLine(raw)) {
        emptyContinuation = true;
        continue;
      }
      const more = stripContinuation(raw, state.escape);
      open = more !== null;
      text += more ?? raw;
      if (text.length > MAX_LOGICAL_LINE) break;
    }
    if (text.length > MAX_LOGICAL_LINE) {
      throw new ReproError('E_BAD_INPUT', `${file}:${lineNo}: instruction longer than ${MAX_LOGICAL_LINE} characters`);
    }
    if (emptyContinuation) warnings.push(`${file}:${lineNo}: empty continuation line (it will be an error in a future release)`);
    lines.push({ text, line: lineNo, endLine: i });
  }
  return { escapeToken: state.escape, lines, warnings };
}

/** Exposed for tests: Go's `unicode.IsSpace` is what "white space" means above. */
export const isWhiteSpace = isGoSpace;
