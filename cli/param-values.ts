/**
 * Command-line parameter values read by the declared Arrow type of each
 * parameter. Two forms:
 *
 * - `key=value`: the text read as the parameter's type. Integers are decimal
 *   (64-bit ones exact, as bigint); floats also take `nan`, `inf`, `-inf`;
 *   booleans `true/false/1/0/yes/no`; strings are taken as written; binary is
 *   `hex:0a0b`, `base64:CgsM` or else the text's UTF-8 bytes; date32
 *   `YYYY-MM-DD` or days; timestamps an ISO-8601 time or microseconds;
 *   decimals as written; lists, maps and structs are JSON.
 * - `key:=JSON`: the value as JSON, converted the same way (`n:=5`,
 *   `tags:=["a","b"]`, `name:=null`). Inside JSON, binary values are strings
 *   with the same prefixes, maps are objects (or `[[key, value], ...]`) and
 *   integers beyond 2^53 stay exact.
 */
import { type DataType, type Field, type Schema, Type, DateUnit, TimeUnit } from 'apache-arrow';
import { typeToken } from '../src/types/type-tokens.js';
import { valueTypeOfArrow } from '../src/types/from-arrow.js';
import { type JsonValue, parseJson } from './json-text.js';

const encoder = new TextEncoder();

/** A value that does not fit its parameter's type (a usage error). */
export class ValueProblem extends Error {}

const problem = (where: string, want: string, got: unknown): never => {
  const shown = typeof got === 'bigint' ? got.toString() : typeof got === 'string' ? JSON.stringify(got) : JSON.stringify(got) ?? String(got);
  throw new ValueProblem(`${where}: expected ${want}, got ${shown.length > 80 ? `${shown.slice(0, 80)}...` : shown}`);
};

const tokenOf = (t: DataType): string => {
  try {
    return typeToken(t);
  } catch {
    return String(t);
  }
};

/** Bytes from `hex:...`, `base64:...`, or the UTF-8 bytes of any other text. */
export const bytesFromText = (text: string, where: string): Uint8Array => {
  if (text.startsWith('hex:')) {
    const hex = text.slice(4).replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) problem(where, 'hex digits in pairs after hex:', text);
    return Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  if (text.startsWith('base64:')) {
    const b64 = text.slice(7).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64)) problem(where, 'base64 after base64:', text);
    return Uint8Array.from(Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64'));
  }
  return encoder.encode(text);
};

const DAY_MS = 86_400_000;

const integerOf = (v: JsonValue, where: string, want: string): bigint => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return BigInt(v.trim());
  return problem(where, want, v);
};

const floatOf = (v: JsonValue, where: string): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'nan') return NaN;
    if (s === 'inf' || s === '+inf' || s === 'infinity' || s === '+infinity') return Infinity;
    if (s === '-inf' || s === '-infinity') return -Infinity;
    if (s !== '' && Number.isFinite(Number(s))) return Number(s);
  }
  return problem(where, 'a number', v);
};

const boolOf = (v: JsonValue, where: string): boolean => {
  if (typeof v === 'boolean') return v;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'bigint' ? v.toString() : '';
  if (['true', '1', 'yes', 'y', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'n', 'off'].includes(s)) return false;
  return problem(where, 'a boolean (true/false)', v);
};

const microsOf = (v: JsonValue, where: string): bigint => {
  if (typeof v === 'string' && !/^[+-]?\d+$/.test(v.trim())) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return problem(where, 'an ISO-8601 time or microseconds since the epoch', v);
    const frac = /\.\d{3}(\d{1,3})/.exec(v);
    return BigInt(ms) * 1000n + BigInt(frac === null ? 0 : Number(frac[1]!.padEnd(3, '0')));
  }
  return integerOf(v, where, 'microseconds since the epoch');
};

/** Convert a JSON value to the JS value the value type of Arrow type `type` encodes. */
export const valueFromJson = (type: DataType, v: JsonValue, where: string): unknown => {
  if (v === null) return null;
  const a = type as unknown as Record<string, unknown>;
  switch (type.typeId) {
    case Type.Null:
      return problem(where, 'null', v);
    case Type.Int: {
      const n = integerOf(v, where, `an integer (${tokenOf(type)})`);
      return (a.bitWidth as number) === 64 ? n : Number(n);
    }
    case Type.Float:
      return floatOf(v, where);
    case Type.Bool:
      return boolOf(v, where);
    case Type.Utf8:
    case Type.LargeUtf8:
      return typeof v === 'string' ? v : problem(where, 'a string', v);
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return typeof v === 'string' ? bytesFromText(v, where) : problem(where, 'a string (hex:..., base64:... or text)', v);
    case Type.Date: {
      if ((a.unit as number) !== DateUnit.DAY) return typeof v === 'bigint' ? Number(v) : v;
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) {
        const ms = Date.parse(`${v.trim()}T00:00:00Z`);
        if (Number.isNaN(ms)) return problem(where, 'a date YYYY-MM-DD', v);
        return ms / DAY_MS;
      }
      return Number(integerOf(v, where, 'a date YYYY-MM-DD or days since the epoch'));
    }
    case Type.Timestamp:
      return (a.unit as number) === TimeUnit.MICROSECOND ? microsOf(v, where) : typeof v === 'bigint' ? Number(v) : v;
    case Type.Time:
    case Type.Duration:
      return (a.unit as number) === TimeUnit.MICROSECOND && (type.typeId === Type.Duration || (a.bitWidth as number) === 64)
        ? integerOf(v, where, 'an integer number of microseconds')
        : typeof v === 'bigint' ? Number(v) : v;
    case Type.Decimal:
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : problem(where, 'a decimal number', v);
    case Type.List: {
      if (!Array.isArray(v)) return problem(where, `a JSON array (${tokenOf(type)})`, v);
      const item = type.children[0]!;
      return v.map((x, i) => valueFromJson(item.type, x, `${where}[${i}]`));
    }
    case Type.Map: {
      const [key, value] = type.children[0]!.type.children as Field[];
      const pairs: [JsonValue, JsonValue][] = Array.isArray(v)
        ? v.map((p) => (Array.isArray(p) && p.length === 2 ? (p as [JsonValue, JsonValue]) : problem(where, 'a [key, value] pair', p)))
        : typeof v === 'object' ? Object.entries(v) : problem(where, `a JSON object (${tokenOf(type)})`, v);
      return new Map(pairs.map(([k, x]) => [
        typeof k === 'string' ? valueFromText(key!.type, k, `${where} key ${JSON.stringify(k)}`) : valueFromJson(key!.type, k, `${where} key`),
        valueFromJson(value!.type, x, `${where}[${JSON.stringify(k)}]`),
      ]));
    }
    case Type.Struct: {
      if (typeof v !== 'object' || Array.isArray(v)) return problem(where, `a JSON object (${tokenOf(type)})`, v);
      const names = new Set(type.children.map((f) => f.name));
      const extra = Object.keys(v).filter((k) => !names.has(k));
      if (extra.length > 0) throw new ValueProblem(`${where}: unknown field(s) ${extra.join(', ')} (fields: ${[...names].join(', ')})`);
      const out: Record<string, unknown> = {};
      for (const f of type.children as Field[]) out[f.name] = f.name in v ? valueFromJson(f.type, v[f.name]!, `${where}.${f.name}`) : null;
      return out;
    }
    case Type.Dictionary:
      return typeof v === 'string' ? v : problem(where, 'a string (the member name)', v);
    default:
      return typeof v === 'bigint' ? Number(v) : v;
  }
};

/** Read `text` as a value of Arrow type `type` (the `key=value` form). */
export const valueFromText = (type: DataType, text: string, where: string): unknown => {
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Dictionary:
    case Type.Decimal:
      return text;
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return bytesFromText(text, where);
    case Type.Int:
    case Type.Float:
    case Type.Bool:
    case Type.Date:
    case Type.Timestamp:
    case Type.Time:
    case Type.Duration:
      return valueFromJson(type, text, where);
    default: {
      let json: JsonValue;
      try {
        json = parseJson(text);
      } catch (e) {
        throw new ValueProblem(`${where}: expected JSON for ${tokenOf(type)}: ${(e as Error).message}`);
      }
      return valueFromJson(type, json, where);
    }
  }
};

/** Describe the parameters of a schema, for messages: `a: float64, b?: utf8`. */
export const paramList = (params: Schema): string =>
  params.fields.length === 0 ? '(none)' : params.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}: ${tokenOf(f.type)}`).join(', ');

/**
 * Parse `key=value` / `key:=JSON` arguments against the parameter schema.
 * Throws ValueProblem for an argument without `=`, an unknown or repeated
 * key, or a value that does not fit.
 */
export const parseAssignments = (args: readonly string[], params: Schema, method: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new ValueProblem(`argument '${arg}' is not key=value or key:=JSON (parameters of ${method}: ${paramList(params)})`);
    const json = arg[eq - 1] === ':';
    const key = arg.slice(0, json ? eq - 1 : eq);
    const text = arg.slice(eq + 1);
    const field = params.fields.find((f) => f.name === key);
    if (field === undefined) throw new ValueProblem(`${method} has no parameter '${key}' (parameters: ${paramList(params)})`);
    if (key in out) throw new ValueProblem(`parameter '${key}' is given twice`);
    const where = `parameter '${key}' (${tokenOf(field.type)})`;
    if (json) {
      let v: JsonValue;
      try {
        v = parseJson(text);
      } catch (e) {
        throw new ValueProblem(`${where}: invalid JSON after ':=': ${(e as Error).message}`);
      }
      out[key] = valueFromJson(field.type, v, where);
    } else {
      out[key] = valueFromText(field.type, text, where);
    }
    // The value type's own checks (integer ranges, fixed widths, enum members...) as a usage error now, not at send time.
    try {
      if (out[key] !== null) valueTypeOfArrow(field.type).encode([out[key]]);
    } catch (e) {
      throw new ValueProblem(`${where}: ${(e as Error).message}`);
    }
  }
  return out;
};
