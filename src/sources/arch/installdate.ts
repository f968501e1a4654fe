/**
 * pacman writes the wall clock into every package's `%INSTALLDATE%` (libalpm's add.c:
 * `installdate = time(NULL)`), the one difference left between two pacstraps of the same packages
 * (the mkosi post's culprit). Normalised here to SOURCE_DATE_EPOCH, the value pacman writes when it
 * honours SOURCE_DATE_EPOCH. Bytes other than that value are kept as they are.
 */

/** A package's `desc` in pacman's local database. */
export const LOCAL_DESC = /^var\/lib\/pacman\/local\/[^/]+\/desc$/;

/** The desc with %INSTALLDATE% set to `epoch`, or undefined when it has none or already that one. */
export function withInstallDate(desc: Buffer, epoch: number): Buffer | undefined {
  // latin1 maps every byte to one character and back, so nothing else can change.
  const text = desc.toString('latin1');
  const m = /(^|\n)%INSTALLDATE%\n([^\n]*)(\n|$)/.exec(text);
  if (!m || m[2] === String(epoch)) return undefined;
  const at = m.index + m[1]!.length + '%INSTALLDATE%\n'.length;
  return Buffer.from(`${text.slice(0, at)}${epoch}${text.slice(at + m[2]!.length)}`, 'latin1');
}
