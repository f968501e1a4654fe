import { ReproError } from '../model/errors.js';

/** The latest time RFC 3339 can write (9999-12-31T23:59:59Z). */
const MAX_EPOCH = 253402300799;

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
