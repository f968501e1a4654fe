/**
 * The project's one string order: byte order of the UTF-8 encodings, which is Unicode code point
 * order (not JavaScript's default UTF-16 code-unit order, which puts U+10000 and above before
 * U+E000..U+FFFF). Paths in tars, file systems and layers, and every list the spec digest covers,
 * are sorted with it. Pure.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, which sort after U+E000..U+FFFF.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}
