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

export class ReproError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReproError';
    this.code = code;
    this.exitCode = EXIT[code];
  }
}

/** Wraps a Node system error (ENOENT, EACCES, ...) as a ReproError naming the path. */
export function ioError(err: unknown, what: string): ReproError {
  if (err instanceof ReproError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : '';
  const reason = code === 'ENOENT' ? 'no such file or directory'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory'
    : code === 'ENOTDIR' ? 'not a directory'
    : e?.message ?? String(err);
  // Missing or unreadable inputs are the user's to fix (exit 2); anything else is an I/O failure (3).
  const errorCode: ErrorCode = code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR'
    ? 'E_BAD_INPUT' : 'E_IO';
  return new ReproError(errorCode, `${what}: ${reason}`, { cause: err });
}
