/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`
 * or `Basic realm="Registry"`. Pure.
 */
export interface Challenge {
  /** Lower-cased: `basic`, `bearer`, or another scheme we do not speak. */
  scheme: string;
  params: Record<string, string>;
}

/** Parses the first challenge of a header value; undefined when there is none. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*/.exec(value);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const params: Record<string, string> = {};
  let i = m[0].length;
  const s = value;
  while (i < s.length) {
    const key = /^\s*,?\s*([A-Za-z0-9._~+/-]+)\s*=\s*/.exec(s.slice(i));
    if (!key) break;
    i += key[0].length;
    let val = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        val += s[i];
        i++;
      }
      i++; // closing quote
    } else {
      const tok = /^[^,\s]*/.exec(s.slice(i))![0];
      val = tok;
      i += tok.length;
    }
    params[key[1]!.toLowerCase()] = val;
  }
  return { scheme, params };
}

/** The scope a registry asks for in a bearer challenge, split into its space-separated parts. */
export function challengeScopes(c: Challenge): string[] {
  return (c.params['scope'] ?? '').split(' ').filter((x) => x !== '');
}

/** `repository:NAME:ACTIONS` as the token specification spells a repository scope. */
export function repositoryScope(repository: string, actions: Array<'pull' | 'push'>): string {
  return `repository:${repository}:${actions.join(',')}`;
}
