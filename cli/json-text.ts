/**
 * JSON in and out for values that Arrow types distinguish and plain JSON
 * does not: an integer literal (`5`, `-12345678901234567890`) is read as a
 * bigint, exactly, and a literal with a fraction or exponent (`5.0`, `1e3`)
 * as a number, so int64 values keep every digit and an exchange input's
 * column types can be told from its first line. Writing prints bigints as
 * plain JSON integers.
 */

/** A parsed JSON value: integer literals are bigints, other numbers are numbers. */
export type JsonValue = null | boolean | string | number | bigint | JsonValue[] | { [key: string]: JsonValue };

/** Parse JSON text; throws SyntaxError with the offset of the problem. */
export const parseJson = (text: string): JsonValue => {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}${i < text.length ? ` ('${text.slice(i, i + 12)}')` : ''}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const value = (): JsonValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: { [key: string]: JsonValue } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = string();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        out[k] = value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return out;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const out: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return out;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null) return fail('unexpected input');
    i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  };
  const string = (): string => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i]!;
      if (c === '"') break;
      if (c === '\\') i++;
      else if (c < ' ') fail('control character in a string');
      i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const v = value();
  ws();
  if (i < text.length) fail('unexpected text after the value');
  return v;
};

/** Write a JSON-shaped value (bigints as integers, non-finite numbers as the strings "NaN", "Infinity", "-Infinity"). */
export const writeJson = (v: unknown, indent = 0, depth = 0): string => {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v));
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  const pad = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const end = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const sep = indent > 0 ? ': ' : ':';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[${v.map((x) => pad + writeJson(x, indent, depth + 1)).join(',')}${end}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{${entries.map(([k, x]) => `${pad}${JSON.stringify(k)}${sep}${writeJson(x, indent, depth + 1)}`).join(',')}${end}}`;
};
