import { MismatchError, ReproError } from '../model/errors.js';

/**
 * A blob that is not what its descriptor says, in a diff's words (exit 2: the input is bad). `what`
 * names the blob (`config sha256:…`), or with `layer` the layer (`B oci:x: layer 1 sha256:…`).
 */
export function asCorrupted(e: unknown, what: string, layer = false): unknown {
  if (!(e instanceof MismatchError)) return e;
  const { blob, actual } = e;
  const subject = layer ? `${what}: the blob` : what;
  const size = actual.overrun ? `longer than ${blob.size} bytes` : `${actual.size} bytes`;
  return new ReproError('E_BAD_INPUT', e.code === 'E_DIGEST_MISMATCH'
    ? `${subject} hashes to ${actual.digest}${layer ? ', not its digest' : ''} (corrupted blob)`
    : `${subject} is ${size}, its descriptor says ${blob.size}`);
}
