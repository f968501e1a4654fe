/**
 * Build arguments as imagebuilder's `Builder` tracks them (`Args`, `AllowedArgs`, `UserArgs`,
 * `HeadingArgs`, `BuiltinArgDefaults`) and its `arg()` dispatcher, shared by the heading (ARGs
 * before the first FROM) and by each stage.
 */
import { ReproError } from '../../model/errors.js';
import type { BuildPlatform } from './types.js';

/** Variables any stage may use without declaring them (imagebuilder's builtinAllowedBuildArgs). */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy'] as const;

/** imagebuilder's `builtinArgDefaults` for the machine that builds (`platforms.DefaultSpec()`). */
export function builtinArgDefaults(host: BuildPlatform): Map<string, string> {
  const p = `${host.os}/${host.architecture}`;
  return new Map([
    ['TARGETPLATFORM', p], ['TARGETOS', host.os], ['TARGETARCH', host.architecture], ['TARGETVARIANT', ''],
    ['BUILDPLATFORM', p], ['BUILDOS', host.os], ['BUILDARCH', host.architecture], ['BUILDVARIANT', ''],
  ]);
}

/** What buildah puts in BuiltinArgDefaults for `--platform os/arch[/variant]`. */
export function targetArgDefaults(target: BuildPlatform | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (target === undefined || target.os === '' || target.architecture === '') return m;
  m.set('TARGETOS', target.os);
  m.set('TARGETARCH', target.architecture);
  m.set('TARGETVARIANT', target.variant ?? '');
  m.set('TARGETPLATFORM', `${target.os}/${target.architecture}${target.variant ? `/${target.variant}` : ''}`);
  return m;
}

export class ArgScope {
  /** Values given to the builder or set by ARG defaults. */
  readonly args: Map<string, string>;
  readonly allowed: Set<string>;

  constructor(
    readonly userArgs: ReadonlyMap<string, string>,
    readonly headingArgs: ReadonlyMap<string, string>,
    /** The builder's BuiltinArgDefaults (host built-ins overlaid with the --platform ones). */
    readonly builtinDefaults: ReadonlyMap<string, string>,
    /** The global built-ins (imagebuilder's package-level builtinArgDefaults). */
    readonly globalBuiltins: ReadonlyMap<string, string>,
  ) {
    this.args = new Map(userArgs);
    this.allowed = new Set(PROXY_ARGS);
  }

  /** `Arguments()`: the values of declared (allowed) arguments, as an env list. */
  arguments(): string[] {
    const out: string[] = [];
    for (const [k, v] of this.args) if (this.allowed.has(k)) out.push(`${k}=${v}`);
    return out;
  }

  /** Declared arguments with a value, sorted by name (what buildah's history lists). */
  declared(): [string, string][] {
    return Array.from(this.args).filter(([k]) => this.allowed.has(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** imagebuilder's `arg()` for already-substituted words. */
  declare(words: readonly string[], where: string): { name: string; value?: string }[] {
    const out: { name: string; value?: string }[] = [];
    for (const word of words) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      let value = eq < 0 ? undefined : word.slice(eq + 1);
      if (name === '') throw new ReproError('E_BAD_INPUT', `${where}: ARG with an empty name`);
      this.allowed.add(name);
      const builtin = this.globalBuiltins.get(name);
      if (builtin !== undefined) {
        if (value !== undefined && (name === 'TARGETPLATFORM' || name === 'BUILDPLATFORM')) {
          throw new ReproError('E_BAD_INPUT', `${where}: attempted to redefine ${JSON.stringify(name)}`);
        }
        if (!this.userArgs.has(name)) this.args.set(name, this.builtinDefaults.get(name) ?? builtin);
      } else {
        if (value === undefined) value = this.headingArgs.get(name);
        if (!this.userArgs.has(name) && value !== undefined) this.args.set(name, value);
      }
      const now = this.args.get(name);
      out.push(now === undefined ? { name } : { name, value: now });
    }
    return out;
  }
}
