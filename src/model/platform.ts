import { ReproError, option } from './errors.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

const PART = /^[a-z0-9_.-]+$/;

/** Parses `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`. */
export function parsePlatform(s: string, name = 'platform'): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PART.test(p))) {
    throw new ReproError('E_USAGE', `${option(name)}: expected OS/ARCH[/VARIANT] such as linux/amd64, got ${JSON.stringify(s)}`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { architecture, os } : { architecture, os, variant };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** A platform from an untyped caller, checked before it is written anywhere (an index, a config). */
export function checkPlatform(p: unknown, name = 'platform'): Platform {
  const o = p as Partial<Platform> | null;
  const ok = typeof o === 'object' && o !== null && typeof o.os === 'string' && PART.test(o.os)
    && typeof o.architecture === 'string' && PART.test(o.architecture)
    && (o.variant === undefined || (typeof o.variant === 'string' && PART.test(o.variant)));
  if (!ok) throw new ReproError('E_USAGE', `${option(name)}: expected { os, architecture[, variant] } such as { os: 'linux', architecture: 'amd64' }, got ${JSON.stringify(p)}`);
  return o as Platform;
}

/** A platform given either way: `linux/amd64` or `{ os, architecture, variant }`. */
export function toPlatform(p: unknown, name = 'platform'): Platform {
  return typeof p === 'string' ? parsePlatform(p, name) : checkPlatform(p, name);
}
