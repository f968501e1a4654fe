/**
 * OpenPGP checks for package sources (openpgp.js): keyrings read in binary or armored form,
 * cleartext-signed files (Debian's InRelease) and detached signatures (pacman's `.sig` files and
 * %PGPSIG%). A signature counts only when it verifies against a key of the keyring at the current
 * time, as apt and pacman check them.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import * as openpgp from 'openpgp';
import { ReproError } from '../model/errors.js';

/** Reads every key of every keyring given (binary or ASCII-armored). */
export async function readKeyrings(keyrings: Array<{ name: string; bytes: Buffer }>): Promise<openpgp.Key[]> {
  const keys: openpgp.Key[] = [];
  for (const k of keyrings) {
    try {
      const armored = k.bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
      keys.push(...(armored ? await openpgp.readKeys({ armoredKeys: k.bytes.toString('utf8') }) : await openpgp.readKeys({ binaryKeys: k.bytes })));
    } catch (e) {
      throw new ReproError('E_BAD_INPUT', `${k.name}: not an OpenPGP keyring (${(e as Error).message})`);
    }
  }
  return keys;
}

/** The key ids whose signatures verified; none is a signature error naming why each failed. */
async function signersOf(signatures: openpgp.VerifyMessageResult["signatures"], where: string): Promise<string[]> {
  const signers: string[] = [];
  const failures: string[] = [];
  for (const s of signatures) {
    try {
      await s.verified;
      signers.push(s.keyID.toHex());
    } catch (e) {
      failures.push(`${s.keyID.toHex()}: ${(e as Error).message}`);
    }
  }
  if (signers.length === 0) {
    throw new ReproError('E_SIGNATURE', `${where}: no valid signature from the keyring (${failures.join('; ') || 'no signatures'})`);
  }
  return signers.sort();
}

/** Verifies a cleartext-signed file and returns the signed text and the key ids that verified. */
export async function verifyCleartext(text: string, keys: openpgp.Key[], where: string): Promise<{ data: string; signers: string[] }> {
  let message;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (e) {
    throw new ReproError('E_SIGNATURE', `${where}: not an OpenPGP signed message (${(e as Error).message})`);
  }
  const result = await openpgp.verify({ message, verificationKeys: keys });
  const signers = await signersOf(result.signatures, where);
  return { data: result.data as string, signers };
}

/**
 * Verifies a detached signature (binary or armored) over bytes or a file (streamed through the
 * hash). Returns the key ids that verified.
 */
export async function verifyDetached(data: { file: string } | { bytes: Buffer }, signature: Buffer, keys: openpgp.Key[], where: string): Promise<string[]> {
  let sig: openpgp.Signature;
  try {
    sig = signature.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP')
      ? await openpgp.readSignature({ armoredSignature: signature.toString('utf8') })
      : await openpgp.readSignature({ binarySignature: signature });
  } catch (e) {
    throw new ReproError('E_SIGNATURE', `${where}: not an OpenPGP signature (${(e as Error).message})`);
  }
  const binary = 'bytes' in data ? data.bytes
    : Readable.toWeb(createReadStream(data.file, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
  const message = await openpgp.createMessage({ binary });
  const result = await openpgp.verify({ message, signature: sig, verificationKeys: keys, format: 'binary' });
  if (!('bytes' in data)) {
    // The signatures of a streamed message settle only once its data has been read through.
    const reader = (result.data as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  }
  return signersOf(result.signatures, where);
}
