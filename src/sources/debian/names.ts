/**
 * Whether a package name and version from dpkg's status are ones Debian's tools make: a name as
 * Debian Policy 5.6.1 has it (`[a-z0-9][a-z0-9+.-]+`), a version as dpkg's parseversion reads it
 * (lib/dpkg/parsehelp.c: `[epoch:]upstream[-revision]`, the epoch a number, the upstream version
 * starting with a digit and of letters, digits and `.+~-:`, the revision of letters, digits and
 * `.+~`, no white space). A status that says otherwise was not written by dpkg from a Debian
 * package: `audit`, `sbom` and `status` keep the package as written and say so (a warning naming
 * the file, line and field), so that whoever audits the image sees it. Pure.
 */

import { packageWarnings, refusedChar as char, shownValue as shown } from '../package-names.js';

/** Why `name` is not a Debian package name, or undefined. */
export function debianNameProblem(name: string): string | undefined {
  if (/^[a-z0-9][a-z0-9+.-]+$/.test(name)) return undefined;
  if (!/^[a-z0-9]/.test(name)) return 'it does not start with a lower-case letter or a digit';
  const bad = char(name, /[a-z0-9+.-]/);
  if (bad !== undefined) return `${shown(bad)} is not a lower-case letter, a digit, "+", "-" or "."`;
  return 'it is shorter than two characters';
}

/** Why `version` is not a version dpkg reads, or undefined. */
export function debianVersionProblem(version: string): string | undefined {
  if (/\s/.test(version)) return 'it has white space in it';
  let rest = version;
  const colon = version.indexOf(':');
  if (colon >= 0) {
    const epoch = version.slice(0, colon);
    if (!/^[0-9]+$/.test(epoch)) return 'its epoch is not a number';
    if (Number(epoch) > 2147483647) return 'its epoch is too big';
    rest = version.slice(colon + 1);
    if (rest === '') return 'nothing follows the epoch';
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (hyphen >= 0 && revision === '') return 'its revision is empty';
  if (upstream === '') return 'its upstream version is empty';
  if (!/^[0-9]/.test(upstream)) return 'its upstream version does not start with a digit';
  const bad = char(upstream, /[A-Za-z0-9.+~:-]/);
  if (bad !== undefined) return `its upstream version has ${shown(bad)}`;
  const badRev = char(revision, /[A-Za-z0-9.+~]/);
  if (badRev !== undefined) return `its revision has ${shown(badRev)}`;
  return undefined;
}

/** The warnings of one status paragraph's Package and Version (`where`: the file and line). */
export function debianPackageWarnings(name: string, version: string, where: string): string[] {
  return packageWarnings({ nameField: 'Package', versionField: 'Version', distribution: 'a Debian', nameProblem: debianNameProblem, versionProblem: debianVersionProblem }, name, version, where);
}
