/**
 * Typed errors with stable codes. Every error the library throws on purpose is a ReproError;
 * the CLI maps its `exitCode` to the process exit status (2 bad input, 3 I/O, 1 verification).
 */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_BAD_EPOCH'
  | 'E_BAD_INPUT'
  | 'E_TAR_TRUNCATED'
  | 'E_TAR_CHECKSUM'
  | 'E_TAR_FORMAT'
  | 'E_PATH_ESCAPE'
  | 'E_UNSUPPORTED'
  | 'E_BAD_REFERENCE'
  | 'E_BAD_JSON'
  | 'E_BAD_DIGEST'
  | 'E_NOT_FOUND'
  | 'E_DIGEST_MISMATCH'
  | 'E_SIZE_MISMATCH'
  | 'E_IO'
  | 'E_NETWORK'
  | 'E_AUTH'
  | 'E_SIGNATURE'
  | 'E_UNSATISFIABLE'
  | 'E_SPEC'
  | 'E_LOCK_STALE';

const EXIT: Record<ErrorCode, number> = {
  E_USAGE: 2,
  E_BAD_EPOCH: 2,
  E_BAD_INPUT: 2,
  E_TAR_TRUNCATED: 2,
  E_TAR_CHECKSUM: 2,
  E_TAR_FORMAT: 2,
  E_PATH_ESCAPE: 2,
  E_UNSUPPORTED: 2,
  E_BAD_REFERENCE: 2,
  E_BAD_JSON: 2,
  E_BAD_DIGEST: 2,
  E_NOT_FOUND: 2,
  E_DIGEST_MISMATCH: 1,
  E_SIZE_MISMATCH: 1,
  E_IO: 3,
  E_NETWORK: 3,
  E_AUTH: 3,
  E_SIGNATURE: 1,
  E_UNSATISFIABLE: 2,
  E_SPEC: 2,
  E_LOCK_STALE: 2,
};

const OPTION = /\uE000([^\uE001]+)\uE001/g;

/**
 * Names a library option inside an error message. A library caller reads the option's name
 * (`sourceDateEpoch`); the CLI prints the flag that sets it (`--source-date-epoch`) instead, so
 * that every message speaks the caller's language (see `ReproError.render`).
 */
export function option(name: string): string {
  return `\uE000${name}\uE001`;
}

export class ReproError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** The message with its option references still marked (see `option`). */
  readonly template: string;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.replace(OPTION, '$1'), options);
    this.name = 'ReproError';
    this.code = code;
    this.exitCode = EXIT[code];
    this.template = message;
  }

  /** The message with each option named by `name(option)` (the CLI passes its flag names). */
  render(name: (option: string) => string): string {
    return this.template.replace(OPTION, (_, o: string) => name(o));
  }
}

/**
 * Bytes that are not what their descriptor says: the digest or the size differs. `expected` is
 * the descriptor's value; `actual` what was read (a size is a lower bound when the read stopped
 * as soon as it had seen too many bytes).
 */
export class MismatchError extends ReproError {
  constructor(
    code: 'E_DIGEST_MISMATCH' | 'E_SIZE_MISMATCH',
    message: string,
    readonly blob: { digest: string; size: number },
    readonly actual: { digest?: string; size: number; overrun?: boolean },
  ) {
    super(code, message);
    this.name = 'MismatchError';
  }
}

/**
 * `text` with its control characters and line separators shown as `\uXXXX`: a name or a field
 * from an input (a path with a newline, a verifier id) printed on one line stays one line.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Each UTF-16 unit of `c` as `\uXXXX`: always four digits, so that no escape runs into the text after it. */
function unit(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * A name from an input (a path) as shown in a report: `escapeControl`, characters that show as
 * nothing (zero-width, bidirectional controls, variation selectors: Unicode's default-ignorable
 * code points) escaped, and, when the name is not in Unicode's composed form (NFC), its
 * characters past ASCII escaped too (`cafe\u0301`). Two names that differ only in how a letter is
 * encoded (`café` composed, `café` decomposed), or by an invisible character, are two files, and
 * never look like one. Escapes are of UTF-16 units, four digits each (U+1F600 is `\ud83d\ude00`,
 * never `\u1f600`, which is U+1F60 and a `0`), and a backslash before a `u` in the name itself is
 * shown as `\u005c`: no name reads as another's escape (a file named `cafe\u0301`, backslash and
 * all, is `cafe\u005cu0301`).
 */
export function escapeName(text: string): string {
  return escapeShown(text.replace(/\\(?=u)/g, '\\u005c'), text);
}

/**
 * A value as JSON text (`JSON.stringify`'s, whose backslashes are escaped already) with the names
 * in it shown as `escapeName` shows them; still JSON, every escape a JSON escape.
 */
export function escapeNameJson(json: string): string {
  return escapeShown(json, json);
}

function escapeShown(shown: string, text: string): string {
  const out = escapeControl(shown).replace(/\p{Default_Ignorable_Code_Point}/gu, unit);
  if (text === text.normalize('NFC')) return out;
  return out.replace(/[^\u0000-\u007f]/g, unit);
}

/** What a system error code means, in words (strerror's, without the code). */
const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory (a file is in the way)',
  EEXIST: 'already exists (a file is in the way)',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EXDEV: 'on another file system',
  ENOTEMPTY: 'directory not empty',
  EBUSY: 'device or resource busy',
};

const USER_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EEXIST', 'ELOOP', 'ENAMETOOLONG', 'EISDIR']);

/**
 * A Node system error (it has an `E…` code and a `syscall`) that nothing wrapped, as one line:
 * what failed on which path, and why. The CLI's last resort, so that no file system error ever
 * ends in a stack trace; undefined for anything else (a real internal error).
 */
export function systemError(err: unknown): ReproError | undefined {
  const e = err as (NodeJS.ErrnoException & { dest?: unknown }) | undefined;
  if (!(err instanceof Error) || typeof e?.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code) || typeof e.syscall !== 'string') return undefined;
  // Control characters in a name (a newline) are shown escaped: still one line.
  const path = typeof e.path === 'string' ? ` ${escapeControl(e.path)}${typeof e.dest === 'string' ? ` -> ${escapeControl(e.dest)}` : ''}` : '';
  return ioError(err, `${e.syscall}${path}`);
}

/** Wraps a Node system error (ENOENT, EACCES, ...) as a ReproError naming the path. */
export function ioError(err: unknown, what: string): ReproError {
  if (err instanceof ReproError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : '';
  // Node's own message (a code without words here) repeats the paths as they are: escaped, one line.
  const reason = SYSTEM_REASONS[code] ?? escapeControl(e?.message ?? String(err));
  // Missing or unreadable inputs, and things in the way, are the user's to fix (exit 2); anything
  // else (a full disk, a read-only file system, a failing device) is an I/O failure (3).
  const errorCode: ErrorCode = USER_CODES.has(code) ? 'E_BAD_INPUT' : 'E_IO';
  return new ReproError(errorCode, `${what}: ${reason}`, { cause: err });
}
