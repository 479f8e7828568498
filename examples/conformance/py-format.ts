/**
 * Python spellings the reference puts in its strings: `str(float)` (shortest
 * round-trip digits, Python's fixed/scientific switch), integer modulo with
 * the sign of the divisor, and `sorted()` order for strings (code points).
 */

export { pyFloatRepr } from '../../src/protocol/py-repr.js';

/** Python `a % n` for a positive divisor: the result is never negative. */
export const pyMod = (a: bigint, n: bigint): bigint => ((a % n) + n) % n;

/** Python `sorted()` order of strings: by code point (JS's default sort compares UTF-16 units). */
export const codePointCompare = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
};
