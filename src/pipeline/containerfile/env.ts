/**
 * imagebuilder's environment-list helpers. Lists are `NAME=value` strings; order matters only for
 * the output (lookups take the first match, and merged lists hold each name once).
 */

/** imagebuilder's `mergeEnv`: `overrides` replace same-named `defaults` in place, new names append. */
export function mergeEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const spec of [...defaults, ...overrides]) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const at = index.get(name);
    if (at !== undefined) {
      out[at] = spec;
      continue;
    }
    index.set(name, out.length);
    out.push(spec);
  }
  return out;
}

/**
 * A Go map as an env list (`envMapAsSlice`). Go iterates maps in random order; since every name
 * appears once, lookups do not depend on it, and we use insertion order.
 */
export function mapAsEnv(m: ReadonlyMap<string, string>): string[] {
  return Array.from(m, ([k, v]) => `${k}=${v}`);
}

/** imagebuilder's `hasEnvName`. */
export function hasEnvName(env: readonly string[], name: string): boolean {
  return env.some((e) => e.startsWith(`${name}=`));
}
