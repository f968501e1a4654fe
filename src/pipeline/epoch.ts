import { ReproError } from '../model/errors.js';

/** The latest time RFC 3339 can write (9999-12-31T23:59:59Z). */
export const MAX_EPOCH = 253402300799;

/**
 * Parses SOURCE_DATE_EPOCH per reproducible-builds.org: a plain decimal integer of seconds.
 * Anything else (fractions, signs, spaces, exponents, empty) is refused naming where it came from.
 */
export function parseSourceDateEpoch(value: string, origin: string): number {
  if (!/^[0-9]+$/.test(value)) {
    throw new ReproError('E_BAD_EPOCH', `${origin}: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC (like \`date +%s\`), got ${JSON.stringify(value)}`);
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > MAX_EPOCH) {
    throw new ReproError('E_BAD_EPOCH', `${origin}: SOURCE_DATE_EPOCH ${value} is past 9999-12-31T23:59:59Z`);
  }
  return n;
}

/**
 * SOURCE_DATE_EPOCH from an environment (the CLI passes process.env), or undefined when it is not
 * set. The library never reads the environment by itself: a caller that wants the variable to count
 * passes `sourceDateEpoch: sourceDateEpochFromEnv(process.env)`, which is what the CLI does (after
 * --source-date-epoch, which wins).
 */
export function sourceDateEpochFromEnv(env: Record<string, string | undefined>): number | undefined {
  const v = env['SOURCE_DATE_EPOCH'];
  return v === undefined ? undefined : parseSourceDateEpoch(v, 'environment variable SOURCE_DATE_EPOCH');
}
