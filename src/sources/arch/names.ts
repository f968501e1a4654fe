/**
 * Whether a package name and version from pacman's local database are ones makepkg makes (its
 * lint of pkgname, pkgver, pkgrel and epoch; libalpm's own check of an installed package,
 * _alpm_pkg_check_meta, is a part of it and only logs): a name of ASCII letters, digits and
 * `@._+-`, not starting with `-` or `.`; a version `[epoch:]pkgver-pkgrel`, the epoch a number, the
 * pkgver printable ASCII without `:`, `/`, `-` or white space, the pkgrel `N` or `N.M`. A desc that
 * says otherwise was not written by pacman from a package makepkg built: `audit`, `sbom` and
 * `status` keep the package as written and say so (a warning naming the file and field), so that
 * whoever audits the image sees it. Pure.
 */

import { packageWarnings, refusedChar as char, shownValue as shown } from '../package-names.js';

/** Why `name` is not a pacman package name, or undefined. */
export function pacmanNameProblem(name: string): string | undefined {
  if (name.startsWith('-') || name.startsWith('.')) return `it starts with ${shown(name[0]!)}`;
  const bad = char(name, /[A-Za-z0-9@._+-]/);
  return bad === undefined ? undefined : `${shown(bad)} is not an ASCII letter, a digit, "@", ".", "_", "+" or "-"`;
}

/** Why `version` is not a pacman version, or undefined. */
export function pacmanVersionProblem(version: string): string | undefined {
  const hyphen = version.lastIndexOf('-');
  if (hyphen < 0) return 'it has no pkgrel';
  const rel = version.slice(hyphen + 1);
  let ver = version.slice(0, hyphen);
  const colon = ver.indexOf(':');
  if (colon >= 0) {
    if (!/^[0-9]+$/.test(ver.slice(0, colon))) return 'its epoch is not a number';
    ver = ver.slice(colon + 1);
  }
  if (ver === '') return 'its pkgver is empty';
  const bad = char(ver, /[ -~]/);
  if (bad !== undefined) return `its pkgver has ${shown(bad)}, not printable ASCII`;
  if (/\s/.test(ver)) return 'its pkgver has white space';
  const sep = char(ver, /[^:/-]/);
  if (sep !== undefined) return `its pkgver has ${shown(sep)}`;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(rel)) return `its pkgrel ${shown(rel)} is not N or N.M`;
  return undefined;
}

/** The warnings of one desc's %NAME% and %VERSION% (`where`: the file). */
export function pacmanPackageWarnings(name: string, version: string, where: string): string[] {
  return packageWarnings({ nameField: '%NAME%', versionField: '%VERSION%', distribution: 'a pacman', nameProblem: pacmanNameProblem, versionProblem: pacmanVersionProblem }, name, version, where);
}
