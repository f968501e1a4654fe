/**
 * SPDX license expressions (SPDX 2.3 Annex D) read and written again. Pure; no list lookups (the
 * caller maps each simple term, e.g. through `licenseTerm`).
 *
 * The grammar: a simple expression (`license-id`, `license-id+`, `LicenseRef-…`), perhaps followed
 * by `WITH exception`; compound expressions with `AND` and `OR`; parentheses. `WITH` binds
 * tightest, then `AND`, then `OR` (Annex D.4). Operators are matched with regard to case (D.2:
 * `and` is no operator, so `MIT and Zlib` is no expression). Operators are separated from their
 * operands by white space; parentheses need none. An operand is any run of characters other than
 * white space and parentheses that is not an operator: an identifier, a reference, or a name such
 * as pacman's older `custom:foo`, which the caller makes a reference.
 *
 * Hostile input: the parser is iterative (an explicit operator stack, shunting-yard), so an entry
 * of thousands of nested parentheses costs its length and no stack depth; so is the writer. Time
 * and memory are linear in the length of the text.
 */

/** A term as written (`MIT`, `GPL-2.0+`, `LicenseRef-x`, `custom:foo`, `ID WITH EXC`), or an operator over two or more operands, in the order written. */
export type LicenseNode =
  | { readonly op: 'term'; readonly text: string }
  | { readonly op: 'AND' | 'OR'; readonly operands: readonly LicenseNode[] };

const SPACE = /\s/;
const isOperator = (w: string): boolean => w === 'AND' || w === 'OR' || w === 'WITH';

interface Token { kind: '(' | ')' | 'word'; text: string; start: number; end: number }

function tokens(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (SPACE.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ kind: c, text: c, start: i, end: i + 1 }); i++; continue; }
    const start = i;
    while (i < text.length && text[i] !== '(' && text[i] !== ')' && !SPACE.test(text[i]!)) i++;
    out.push({ kind: 'word', text: text.slice(start, i), start, end: i });
  }
  return out;
}

/**
 * The expression `text` is, or undefined when it is none: unbalanced parentheses, an operator
 * without its operands, two operands without an operator between them (`Bar Baz`), `WITH` after
 * anything but a simple term or before anything but a name, empty parentheses, nothing at all.
 * A `WITH` term keeps its text as written, white space included (`MIT  WITH X`): the caller
 * decides whether it is a listed license with a listed exception or a name.
 */
export function parseLicenseExpression(text: string): LicenseNode | undefined {
  const toks = tokens(text);
  const operands: LicenseNode[] = [];
  const ops: Array<'(' | 'AND' | 'OR'> = [];
  const reduce = (): boolean => {
    const op = ops.pop();
    const b = operands.pop();
    const a = operands.pop();
    if ((op !== 'AND' && op !== 'OR') || a === undefined || b === undefined) return false;
    operands.push({ op, operands: [a, b] });
    return true;
  };
  let expectOperand = true;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind === '(') {
      if (!expectOperand) return undefined;
      ops.push('(');
    } else if (t.kind === ')') {
      if (expectOperand) return undefined;
      while (ops.length > 0 && ops[ops.length - 1] !== '(') if (!reduce()) return undefined;
      if (ops.pop() !== '(') return undefined;
    } else if (t.text === 'AND' || t.text === 'OR') {
      if (expectOperand) return undefined;
      // Left-associative; AND binds tighter than OR.
      while (ops.length > 0 && ops[ops.length - 1] !== '(' && (t.text === 'OR' || ops[ops.length - 1] === 'AND')) if (!reduce()) return undefined;
      ops.push(t.text);
      expectOperand = true;
    } else if (t.text === 'WITH') {
      return undefined; // only after a simple term, which takes it (below)
    } else {
      if (!expectOperand) return undefined;
      let end = t.end;
      const w = toks[i + 1];
      if (w !== undefined && w.kind === 'word' && w.text === 'WITH') {
        const exc = toks[i + 2];
        if (exc === undefined || exc.kind !== 'word' || isOperator(exc.text)) return undefined;
        end = exc.end;
        i += 2;
      }
      operands.push({ op: 'term', text: text.slice(t.start, end) });
      expectOperand = false;
    }
  }
  if (expectOperand) return undefined;
  while (ops.length > 0) if (!reduce()) return undefined;
  return operands.length === 1 ? operands[0] : undefined;
}

/**
 * `node` written with the fewest parentheses: an OR operand of an AND is parenthesised, nothing
 * else (AND binds tighter than OR, and each is associative, so `A AND (B AND C)` is `A AND B AND
 * C`). Operands keep their order; each term is written as `term` gives it, called once per term,
 * left to right. Iterative.
 */
export function writeLicenseExpression(node: LicenseNode, term: (text: string) => string): string {
  let out = '';
  const work: Array<LicenseNode | string> = [node];
  while (work.length > 0) {
    const w = work.pop()!;
    if (typeof w === 'string') { out += w; continue; }
    if (w.op === 'term') { out += term(w.text); continue; }
    for (let i = w.operands.length - 1; i >= 0; i--) {
      const o = w.operands[i]!;
      const parens = w.op === 'AND' && o.op === 'OR';
      if (parens) work.push(')');
      work.push(o);
      if (parens) work.push('(');
      if (i > 0) work.push(` ${w.op} `);
    }
  }
  return out;
}
