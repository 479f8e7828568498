/**
 * How decoded values are printed. `plain` turns any decoded value into a
 * JSON-shaped tree: int64 stays a bigint (printed as an exact JSON integer),
 * binary becomes `"base64:..."` (the prefix `call` reads back) unless it
 * holds an Arrow IPC stream with rows (vgi-rpc's dataclass convention),
 * which is shown decoded; maps with string keys become objects, other maps
 * `[[key, value], ...]`; sets become arrays.
 */
import { decodeOneStream } from '../src/wire/stream-reader.js';
import { BatchView } from '../src/service/stream-output.js';
import { fieldsOfSchema } from '../src/types/from-arrow.js';
import { writeJson } from './json-text.js';

const isIpcStream = (b: Uint8Array): boolean => b.byteLength >= 8 && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff;

/** The rows of a nested IPC stream (one row: the row itself), or undefined when the bytes are not one with rows. */
const nestedRows = (b: Uint8Array): unknown => {
  if (!isIpcStream(b)) return undefined;
  try {
    const { schema, batches } = decodeOneStream(b);
    const rows = batches.flatMap((batch) => new BatchView(fieldsOfSchema(schema), batch, new Map()).rows());
    if (rows.length === 0) return undefined;
    return rows.length === 1 ? plain(rows[0]) : rows.map(plain);
  } catch {
    return undefined;
  }
};

/** A JSON-shaped copy of a decoded value (bigints kept). */
export const plain = (v: unknown): unknown => {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'bigint':
    case 'number':
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v instanceof Uint8Array) return nestedRows(v) ?? `base64:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}`;
  if (Array.isArray(v) || v instanceof Set) return [...(v as Iterable<unknown>)].map(plain);
  if (v instanceof Map) {
    const entries = [...v.entries()];
    return entries.every(([k]) => typeof k === 'string')
      ? Object.fromEntries(entries.map(([k, x]) => [k, plain(x)]))
      : entries.map(([k, x]) => [plain(k), plain(x)]);
  }
  if (v instanceof Date) return v.toISOString();
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
  // arrow-js values (vectors, struct and map rows) from types the vocabulary has no value type for.
  const o = v as { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return plain(o.toJSON());
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
};

/** One line of JSON for a decoded value. */
export const jsonLine = (v: unknown): string => writeJson(plain(v));

/** A unary result for people: strings as they are, scalars as text, anything else as indented JSON. */
export const readableValue = (v: unknown): string => {
  const p = plain(v);
  if (typeof p === 'string') return p;
  if (p === null || typeof p !== 'object') return writeJson(p);
  return writeJson(p, 2);
};

const SIMPLE = /^[\w.:/+@-]+$/;

/** A row for people: `key=value` pairs; values are JSON except simple strings. */
export const readableRow = (row: Record<string, unknown>): string =>
  Object.entries(row)
    .map(([k, v]) => {
      const p = plain(v);
      return `${k}=${typeof p === 'string' && SIMPLE.test(p) ? p : writeJson(p)}`;
    })
    .join('  ');
