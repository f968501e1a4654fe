import { ReproError } from './errors.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

const PART = /^[a-z0-9_.-]+$/;

/** Parses `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PART.test(p))) {
    throw new ReproError('E_USAGE', `--platform: expected OS/ARCH[/VARIANT] such as linux/amd64, got ${JSON.stringify(s)}`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant === undefined ? { architecture, os } : { architecture, os, variant };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
