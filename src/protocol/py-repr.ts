/**
 * Python-style rendering used in the reference's error messages
 * (`repr(str)` and `repr(sorted(list))`), so our messages read the same.
 */

/** Python `repr()` of a string. */
export const pyRepr = (s: string): string => {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
};

/** Python `repr(sorted(names))`: `['a', 'b']`. */
export const pyList = (names: Iterable<string>): string => `[${[...names].sort().map(pyRepr).join(', ')}]`;
