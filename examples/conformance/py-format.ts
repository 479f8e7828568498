/**
 * Python spellings the reference puts in its strings: `str(float)` (shortest
 * round-trip digits, Python's fixed/scientific switch), integer modulo with
 * the sign of the divisor, and `sorted()` order for strings (code points).
 */

/** Python `repr(float)` / `str(float)`: `2.0`, `0.0001`, `1e-05`, `1e+16`, `inf`, `nan`, `-0.0`. */
export const pyFloatRepr = (x: number): string => {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip, as Python does.
  const [mantissa = '', expText = '0'] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits.padEnd(intLen, '0')}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
};

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
