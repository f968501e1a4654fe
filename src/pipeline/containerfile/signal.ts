/**
 * imagebuilder's `signal.CheckSignal`, which STOPSIGNAL must pass: a non-zero decimal number
 * (Go's `strconv.Atoi`), or a name from its table, upper-cased, with or without `SIG`.
 */
import { goAtoi } from './go-text.js';

const NAMES = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE',
  'POLL', 'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU',
  'UNUSED', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  'BUG', 'EMT', 'INFO', 'BUF', 'LWP', 'THR',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** Go's `strings.ToUpper` where it matters: ASCII, and `ı`/`ſ`, which Go upper-cases to I and S. */
function goUpper(s: string): string | undefined {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out += ch.toUpperCase();
    else if (c === 0x131) out += 'I';
    else if (c === 0x17f) out += 'S';
    else return undefined; // no other character can upper-case into a signal name
  }
  return out;
}

export function isValidStopSignal(raw: string): boolean {
  const n = goAtoi(raw);
  if (n !== undefined) return n !== 0;
  const up = goUpper(raw);
  if (up === undefined) return false;
  return NAMES.has(up.startsWith('SIG') ? up.slice(3) : up);
}
