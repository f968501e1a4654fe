/**
 * A string copied out of the text it was sliced from. V8 keeps the whole text alive behind a slice
 * of 13 characters or more, so a name or value kept from a database file (a provision's name, a
 * package's URL) would keep that file's text (up to 64 MiB each) for as long as it is kept. Pure.
 */
export function ownString(s: string): string {
  return ` ${s}`.slice(1);
}
