/**
 * The packagers' keyring for pacman signatures: `source.keyring`, else the host's (pacman's own
 * `/usr/share/pacman/keyrings/archlinux.gpg`, or Debian's archlinux-keyring package). A keyring
 * `NAME.gpg` may have a `NAME-revoked` file beside it (pacman-key's layout: one fingerprint a line);
 * keys listed there never verify anything. The web of trust among the master keys is not evaluated:
 * every other key of the keyring counts.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type * as openpgp from 'openpgp';
import { ReproError, ioError } from '../../model/errors.js';
import { readKeyrings } from '../openpgp.js';

export const HOST_PACMAN_KEYRINGS = ['/usr/share/pacman/keyrings/archlinux.gpg', '/usr/share/keyrings/archlinux.gpg'];

function tryRead(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, `cannot read ${path}`);
  }
}

/** Fingerprints (upper-case hex) listed in a pacman-key `-revoked` file. */
export function parseRevoked(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim().split(/[\s:]/)[0]!.toUpperCase()).filter((l) => /^[0-9A-F]{16,}$/.test(l)));
}

export interface PacmanKeyring {
  path: string;
  keys: openpgp.Key[];
  revoked: number;
}

/**
 * The keyring to check signatures with. `spec` names one relative to `specDir`; with none, the
 * host's. Undefined when the spec names none and the host has none.
 */
export async function loadPacmanKeyring(keyring: string | undefined, specDir: string, hostKeyrings = HOST_PACMAN_KEYRINGS): Promise<PacmanKeyring | undefined> {
  let path: string | undefined;
  let bytes: Buffer | undefined;
  if (keyring !== undefined) {
    path = isAbsolute(keyring) ? keyring : join(specDir, keyring);
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw ioError(e, `cannot read source.keyring ${path}`);
    }
  } else {
    for (const candidate of hostKeyrings) {
      bytes = tryRead(candidate);
      if (bytes) {
        path = candidate;
        break;
      }
    }
  }
  if (!path || !bytes) return undefined;
  const revokedFile = join(dirname(path), `${basename(path).replace(/\.gpg$/, '')}-revoked`);
  const revoked = parseRevoked(tryRead(revokedFile)?.toString('utf8') ?? '');
  const all = await readKeyrings([{ name: path, bytes }]);
  const keys = all.filter((k) => !revoked.has(k.getFingerprint().toUpperCase()));
  if (keys.length === 0) throw new ReproError('E_BAD_INPUT', `${path}: no usable key (${all.length} read, ${all.length - keys.length} revoked)`);
  return { path, keys, revoked: all.length - keys.length };
}
