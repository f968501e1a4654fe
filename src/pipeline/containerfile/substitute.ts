/**
 * Variable substitution and quote removal exactly as buildah does it: imagebuilder's own
 * `ProcessWord`/`ProcessWords` (shell_parser.go), NOT buildkit's shell lexer, which accepts more.
 * The rules, from that source:
 *
 * - `'…'` is literal (no escapes inside); `"…"` expands `$` and lets `\"`, `\$`, `\\` escape (any
 *   other backslash stays); outside quotes `\x` is `x`, and a backslash at the very end vanishes.
 *   An unterminated quote is an error. The escape directive does not apply here: it is always `\`.
 * - `$NAME` and `${NAME}`: NAME is letters, digits (Unicode) and `_`; a digit right after `$` is a
 *   one-character name (`$1`). `$` followed by anything else is a literal `$`.
 * - `${NAME:-word}` gives word when NAME is unset OR EMPTY; `${NAME:+word}` gives word when NAME is
 *   set and non-empty (else the empty string); `${NAME:?word}` fails when NAME is unset or empty
 *   and word is empty. The colon-less POSIX forms `${NAME-word}`, `${NAME+word}`, `${NAME?word}`
 *   are ERRORS in buildah ("Missing ':' or '#' or '%' or '/' in substitution"), unlike in buildkit.
 * - `${NAME#pat}`, `${NAME##pat}`, `${NAME%pat}`, `${NAME%%pat}` strip a prefix/suffix matched by
 *   Go's `path.Match`, and `${NAME/pat/repl}`, `${NAME//pat/repl}`, `${NAME/#pat/repl}`,
 *   `${NAME/%pat/repl}` replace, with imagebuilder's exact loops (which, for instance, never strip
 *   the whole value with `#`). They work on bytes; a result that would cut a UTF-8 character is
 *   refused, and so are values over {@link MAX_PATTERN_VALUE} bytes (the loops are quadratic).
 * - Lookup takes the FIRST `NAME=` entry of the environment list; unset names give ''.
 * - A leading U+FEFF of the word (and of each expanded value, in word-splitting mode) is dropped,
 *   because Go's text/scanner skips a BOM at the start of its input.
 * - `processWords` (EXPOSE only) splits the result at white space after expansion; quoted text and
 *   escaped characters do not split.
 */
import { ReproError } from '../../model/errors.js';
import { goPathMatch } from './glob.js';
import { isGoDigit, isGoLetter, isGoSpace } from './go-text.js';
import { oneLine } from './one-line.js';

/** Largest value, in bytes, the pattern operators (`#`, `%`, `/`) are applied to. */
export const MAX_PATTERN_VALUE = 4096;
/** Largest result of one substitution (guards against `ENV A=$A$A` doubling). */
export const MAX_SUBSTITUTED = 1024 * 1024;
/** Deepest nesting of `${…${…}…}` (the scanner recurses once per level). */
export const MAX_NESTING = 1000;

const EOF = -1;

class SubstitutionError extends Error {}

class Words {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    const space = isGoSpace(ch.codePointAt(0)!);
    if (space && this.inWord) {
      if (this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else if (!space) {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(str: string): void {
    let chars = Array.from(str);
    if (chars[0] === '\ufeff') chars = chars.slice(1);
    for (const ch of chars) this.addChar(ch);
  }

  addRawString(str: string): void {
    this.word += str;
    this.inWord = true;
  }

  getWords(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

const enc = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fromBytes(b: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(b);
  } catch {
    throw new SubstitutionError(`${what} would cut a UTF-8 character (not supported)`);
  }
}

function matches(pattern: Uint8Array, name: Uint8Array): boolean {
  return goPathMatch(pattern, name) === true;
}

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private depth = 0;

  constructor(private readonly source: string, private readonly env: readonly string[]) {
    const chars = Array.from(source);
    this.chars = chars[0] === '\ufeff' ? chars.slice(1) : chars;
  }

  private peek(): string | typeof EOF {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }

  private next(): string | typeof EOF {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  process(): { result: string; words: string[] } {
    const r = this.processStopOnAny([EOF]);
    return { result: r.result, words: r.words };
  }

  private processStopOn(stop: string): string {
    return this.processStopOnAny([stop]).result;
  }

  private processStopOnAny(stops: readonly (string | typeof EOF)[]): { stop: string | typeof EOF; result: string; words: string[] } {
    if (++this.depth > MAX_NESTING) throw new SubstitutionError(`substitutions nested more than ${MAX_NESTING} deep`);
    try {
      return this.scan(stops);
    } finally {
      this.depth--;
    }
  }

  private scan(stops: readonly (string | typeof EOF)[]): { stop: string | typeof EOF; result: string; words: string[] } {
    let result = '';
    const words = new Words();
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      if (stops.includes(ch)) {
        this.next();
        return { stop: ch, result, words: words.getWords() };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const tmp = ch === "'" ? this.processSingleQuote() : ch === '"' ? this.processDoubleQuote() : this.processDollar();
        result += tmp;
        if (ch === '$') words.addString(tmp);
        else words.addRawString(tmp);
      } else {
        let c = this.next() as string;
        if (c === '\\') {
          const n = this.next();
          if (n === EOF) break;
          c = n;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (result.length > MAX_SUBSTITUTED) throw new SubstitutionError(`substitution result longer than ${MAX_SUBSTITUTED} characters`);
    }
    if (!stops.includes(EOF)) {
      throw new SubstitutionError(`unexpected end of statement while looking for matching ${stops.join('')}`);
    }
    return { stop: EOF, result, words: words.getWords() };
  }

  private processSingleQuote(): string {
    let result = '';
    this.next();
    for (;;) {
      const ch = this.next();
      if (ch === "'") break;
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching single-quote');
      result += ch;
    }
    return result;
  }

  private processDoubleQuote(): string {
    let result = '';
    this.next();
    for (;;) {
      const ch = this.peek();
      if (ch === '"') {
        this.next();
        break;
      }
      if (ch === EOF) throw new SubstitutionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '$') {
        result += this.processDollar();
      } else {
        let c = this.next() as string;
        if (c === '\\') {
          const n = this.peek();
          if (n === EOF) continue;
          if (n === '"' || n === '$' || n === '\\') c = this.next() as string;
        }
        result += c;
      }
    }
    return result;
  }

  private getEnv(name: string): string {
    for (const e of this.env) {
      const i = e.indexOf('=');
      if (i < 0) {
        if (name === e) return '';
        continue;
      }
      if (name !== e.slice(0, i)) continue;
      return e.slice(i + 1);
    }
    return '';
  }

  private processName(): string {
    let name = '';
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) break;
      if (name.length === 0 && isGoDigit(ch)) {
        this.next();
        return ch;
      }
      if (!isGoLetter(ch) && !isGoDigit(ch) && ch !== '_') break;
      this.next();
      name += ch;
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    let ch = this.peek();
    if (ch !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      return this.getEnv(name);
    }
    this.next();
    const name = this.processName();
    ch = this.peek();
    if (ch === '}') {
      this.next();
      return this.getEnv(name);
    }
    if (ch === ':') {
      this.next();
      const modifier = this.next();
      const word = this.processStopOn('}');
      const value = this.getEnv(name);
      switch (modifier) {
        case '+': return value !== '' ? word : value;
        case '-': return value === '' ? word : value;
        case '?': {
          const v = value === '' ? word : value;
          if (v === '') throw new SubstitutionError(`Failed to process \`${this.source}\`: ${name} is not allowed to be unset`);
          return v;
        }
        default:
          throw new SubstitutionError(`Unsupported modifier (${modifier === EOF ? 'end' : modifier}) in substitution: ${this.source}`);
      }
    }
    if (ch === '#' || ch === '%') return this.stripAffix(name, ch);
    if (ch === '/') return this.replace(name);
    throw new SubstitutionError(`Missing ':' or '#' or '%' or '/' in substitution: ${this.source}`);
  }

  private patternValue(name: string): Uint8Array {
    const value = enc.encode(this.getEnv(name));
    if (value.length > MAX_PATTERN_VALUE) {
      throw new SubstitutionError(`\${${name}} is ${value.length} bytes, more than the ${MAX_PATTERN_VALUE} a pattern operator is applied to here`);
    }
    return value;
  }

  private stripAffix(name: string, op: '#' | '%'): string {
    this.next();
    let greedy = false;
    if (this.peek() === op) {
      this.next();
      greedy = true;
    }
    const word = this.processStopOn('}');
    const value = this.patternValue(name);
    if (word === '') throw new SubstitutionError(op === '#' ? `${name}#: no prefix to remove` : `${name}%: no suffix to remove`);
    const pat = enc.encode(word);
    const n = value.length;
    const what = `\${${name}${op}…}`;
    if (op === '#') {
      if (greedy) {
        for (let i = n - 1; i >= 0; i--) if (matches(pat, value.subarray(0, i))) return fromBytes(value.subarray(i), what);
      } else {
        for (let i = 0; i < n - 1; i++) if (matches(pat, value.subarray(0, i))) return fromBytes(value.subarray(i), what);
      }
    } else if (greedy) {
      for (let i = 0; i < n - 1; i++) if (matches(pat, value.subarray(i))) return fromBytes(value.subarray(0, i), what);
    } else {
      for (let i = n - 1; i >= 0; i--) if (matches(pat, value.subarray(i))) return fromBytes(value.subarray(0, i), what);
    }
    return fromBytes(value, what);
  }

  private replace(name: string): string {
    this.next();
    let all = false;
    let begin = false;
    let end = false;
    const p = this.peek();
    if (p === '/') { this.next(); all = true; }
    else if (p === '#') { this.next(); begin = true; }
    else if (p === '%') { this.next(); end = true; }
    const r = this.processStopOnAny(['/', '}']);
    if (r.result === '') throw new SubstitutionError(`${name}/: no pattern to replace`);
    let replacement = '';
    if (r.stop === '/') replacement = this.processStopOn('}');
    const pat = enc.encode(r.result);
    const rep = enc.encode(replacement);
    let value = this.patternValue(name);
    let i = 0;
    for (;;) {
      if (i >= value.length) break;
      for (let j = value.length; j > i; j--) {
        if (begin && i !== 0) continue;
        if (end && j !== value.length) continue;
        if (matches(pat, value.subarray(i, j))) {
          const joined = new Uint8Array(i + rep.length + value.length - j);
          joined.set(value.subarray(0, i), 0);
          joined.set(rep, i);
          joined.set(value.subarray(j), i + rep.length);
          value = joined;
          if (!all) return fromBytes(value, `\${${name}/…}`);
          if (value.length > MAX_PATTERN_VALUE) throw new SubstitutionError(`\${${name}//…} grows past ${MAX_PATTERN_VALUE} bytes`);
          i += rep.length - 1;
          break;
        }
      }
      i++;
    }
    return fromBytes(value, `\${${name}/…}`);
  }
}

/**
 * imagebuilder's `ProcessWord`: `word` with quotes removed and variables expanded from `env`
 * (`NAME=value` entries, first match wins). `where` names the line in errors.
 */
export function processWord(word: string, env: readonly string[], where: string): string {
  return oneLine(() => {
    try {
      return new ShellWord(word, env).process().result;
    } catch (e) {
      if (e instanceof SubstitutionError) throw new ReproError('E_BAD_INPUT', `${where}: ${e.message}`);
      throw e;
    }
  });
}

/** imagebuilder's `ProcessWords`: as {@link processWord}, then split at unquoted white space. */
export function processWords(word: string, env: readonly string[], where: string): string[] {
  return oneLine(() => {
    try {
      return new ShellWord(word, env).process().words;
    } catch (e) {
      if (e instanceof SubstitutionError) throw new ReproError('E_BAD_INPUT', `${where}: ${e.message}`);
      throw e;
    }
  });
}
