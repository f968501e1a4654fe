/**
 * Reads and validates an image spec: YAML parsed with positions, checked against the schema, and
 * every problem reported at once as `FILE:LINE:COL: path: message`.
 */
import { closeSync, readSync } from 'node:fs';
import { openRegularFileSync } from '../fs/read-whole.js';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isPair, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ReproError, ioError } from '../model/errors.js';
import { imageSpec, type ImageSpec } from './schema.js';

export interface LoadedSpec {
  spec: ImageSpec;
  /** Absolute path of the spec file and of its folder (relative paths in the spec start there). */
  file: string;
  dir: string;
  /** The bytes the spec was parsed from (recorded by provenance and the inputs archive as read, never read again). */
  bytes: Buffer;
}

type PathKey = string | number | symbol;

function nodeAt(doc: Document, path: readonly PathKey[]): { node: Node | undefined; depth: number } {
  let node: unknown = doc.contents;
  let depth = 0;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !('items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      next = isPair(pair) ? pair.value : undefined;
    } else if (typeof key === 'number') {
      next = items[key];
    }
    if (!next) break;
    node = next;
    depth++;
  }
  return { node: node as Node | undefined, depth };
}

function keyNode(doc: Document, path: readonly PathKey[], key: string): Node | undefined {
  const { node, depth } = nodeAt(doc, path);
  if (depth !== path.length || !isMap(node)) return undefined;
  const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

function describe(path: readonly PathKey[]): string {
  return path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '') || '(top level)';
}

/**
 * The most a spec (or a disk definition) may hold: 4 MiB. A real one is a few KiB; a bigger one
 * would only cost memory (a 74 MB spec ran V8 out of heap after 100 s), so it is refused unread.
 */
export const MAX_SPEC_BYTES = 4 << 20;

/**
 * The most YAML aliases (`*name`) may expand to, counted as the yaml library counts them (each
 * alias times the aliases inside what it names): its default, 100. A spec has no use for many;
 * a few nested ones (a "billion laughs") would otherwise expand to gigabytes.
 */
export const MAX_ALIAS_COUNT = 100;

/**
 * Reads a YAML file of at most MAX_SPEC_BYTES bytes, as UTF-8: a regular file (a FIFO, opened,
 * would wait for a writer for ever, deaf to SIGTERM; a device such as /dev/zero never ends), never
 * read more than one byte beyond the limit (a file that grows), exit 2 naming the file otherwise.
 */
export function readYamlFile(path: string, what: string): string {
  return readYamlBytes(path, what).toString('utf8');
}

function readYamlBytes(path: string, what: string): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  let fd: number | undefined;
  try {
    fd = openRegularFileSync(path, 'E_SPEC').fd;
    for (;;) {
      const b = Buffer.allocUnsafe(Math.min(1 << 20, MAX_SPEC_BYTES + 1 - total));
      const n = readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
      if (total > MAX_SPEC_BYTES) throw new ReproError('E_SPEC', `${path}: ${what} is larger than ${MAX_SPEC_BYTES >> 20} MiB, the most accepted`);
    }
  } catch (e) {
    throw ioError(e, `cannot read ${what} ${path}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}

/**
 * What the yaml library throws past its limits as a one-line E_SPEC error: too many aliases (a
 * ReferenceError), a nesting deep enough to overflow the stack (a RangeError).
 */
export function yamlLimitError(e: unknown, file: string): ReproError {
  if (e instanceof ReproError) return e;
  if (e instanceof ReferenceError && /alias/i.test(e.message)) {
    return new ReproError('E_SPEC', `${file}: its YAML aliases expand too much (more than ${MAX_ALIAS_COUNT} alias expansions: an alias bomb?)`);
  }
  if (e instanceof RangeError) return new ReproError('E_SPEC', `${file}: its YAML is nested too deeply to read`);
  return new ReproError('E_SPEC', `${file}: cannot read its YAML (${String((e as Error)?.message ?? e).split('\n')[0]})`);
}

type Issue = z.core.$ZodIssue;

/** Whether a union branch failed only because the value is of another kind than it takes. */
function wrongKind(branch: readonly Issue[]): boolean {
  return branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

/**
 * A union's issue, made specific: when one branch takes the kind of value given (an object, a
 * list), its issues are the ones to report, at their own paths, and not "Invalid input".
 */
function narrow(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || !issue.errors) return [issue];
  const fitting = issue.errors.filter((b) => !wrongKind(b));
  if (fitting.length === 1) return fitting[0]!.flatMap((i) => narrow({ ...i, path: [...issue.path, ...i.path] } as Issue));
  if (fitting.length > 0 || issue.message !== 'Invalid input') return [issue];
  const kinds = issue.errors.flatMap((b) => b.map((i) => (i.code === 'invalid_value' ? i.values.map((v) => JSON.stringify(v)).join(' or ') : i.code === 'invalid_type' ? `${/^[aeiou]/.test(i.expected) ? 'an' : 'a'} ${i.expected}` : '')));
  return [{ ...issue, message: `expected ${[...new Set(kinds.filter((k) => k !== ''))].join(', ')}` }];
}

export function parseSpec(text: string, file: string): ImageSpec {
  try {
    return parseSpecText(text, file);
  } catch (e) {
    // The yaml library's limits (an alias bomb, a nesting past the stack); anything else is ours.
    if (e instanceof ReferenceError || e instanceof RangeError) throw yamlLimitError(e, file);
    throw e;
  }
}

function parseSpecText(text: string, file: string): ImageSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) throw new ReproError('E_SPEC', `${file}: the spec is larger than ${MAX_SPEC_BYTES >> 20} MiB, the most accepted`);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return `${file}`;
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const problems: string[] = [];
  for (const e of doc.errors) problems.push(`${at(e.pos[0])}: ${e.message.split('\n')[0]}`);
  if (problems.length === 0) {
    const result = imageSpec.safeParse(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
    if (result.success) return result.data;
    for (const issue of (result.error.issues as Issue[]).flatMap(narrow)) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          problems.push(`${at(keyNode(doc, issue.path, k)?.range?.[0])}: ${describe([...issue.path, k])}: unknown key`);
        }
        continue;
      }
      const { node, depth } = nodeAt(doc, issue.path);
      const missing = depth < issue.path.length;
      problems.push(`${at(node?.range?.[0])}: ${describe(issue.path)}: ${missing ? 'required' : issue.message}`);
    }
  }
  // Stable order: by position in the file, then by text.
  const pos = (s: string): number[] => (/:(\d+):(\d+):/.exec(s) ?? [0, 0, 0]).slice(1).map(Number);
  problems.sort((a, b) => pos(a)[0]! - pos(b)[0]! || pos(a)[1]! - pos(b)[1]! || (a < b ? -1 : 1));
  // One problem is one line (FILE:LINE:COL: path: message); several are listed below a heading.
  if (problems.length === 1) throw new ReproError('E_SPEC', problems[0]!);
  throw new ReproError('E_SPEC', `${file}: ${problems.length} problems:\n  ${problems.join('\n  ')}`);
}

export function loadSpec(path: string): LoadedSpec {
  const file = resolve(path);
  const bytes = readYamlBytes(path, 'the spec');
  return { spec: parseSpec(bytes.toString('utf8'), path), file, dir: dirname(file), bytes };
}
