/**
 * What the distributions' name checks (debian/names.ts, arch/names.ts) share: how a value is shown
 * in a warning, the first character a rule refuses, and the warnings of one package's name and
 * version. Pure.
 */

/** A value in a warning, as written: warnings are escaped where they are shown (`escapeName`), never here. */
export const shownValue = (s: string): string => `"${s.length > 80 ? `${s.slice(0, 80)}…` : s}"`;

/** The first character of `s` that `allowed` does not match, or undefined. */
export const refusedChar = (s: string, allowed: RegExp): string | undefined => [...s].find((c) => !allowed.test(c));

/** How a distribution names what is checked: its fields (`Package`, `%NAME%`) and its tools (`a Debian`, `a pacman`). */
export interface NameRules {
  nameField: string;
  versionField: string;
  distribution: string;
  nameProblem(name: string): string | undefined;
  versionProblem(version: string): string | undefined;
}

/** The warnings of one package's name and version (`where`: the file, and line where there is one). */
export function packageWarnings(rules: NameRules, name: string, version: string, where: string): string[] {
  const out: string[] = [];
  const n = rules.nameProblem(name);
  if (n !== undefined) out.push(`${where}: ${rules.nameField} ${shownValue(name)} is not ${rules.distribution} package name (${n}); the package is read as written`);
  const v = rules.versionProblem(version);
  if (v !== undefined) out.push(`${where}: package ${shownValue(name)}: ${rules.versionField} ${shownValue(version)} is not ${rules.distribution} version (${v}); the package is read as written`);
  return out;
}
