/**
 * Exchange input coercion as the reference does it: the input must carry the
 * same set of field names as declared; columns may come in any order and
 * compatible numeric types are cast (int32/int64/float32 -> float64, ...).
 */
import { type Data, type Schema, Type } from 'apache-arrow';
import { DecodedBatch } from '../wire/stream-reader.js';
import { Errors } from '../service/errors.js';
import type { Fields } from '../types/record.js';
import { type ValueType, isValid, nestedOf } from '../types/value-type.js';
import { typeToken } from '../types/type-tokens.js';

const isNumeric = (d: Data): boolean => d.typeId === Type.Int || d.typeId === Type.Float;

const numericValues = (d: Data, toBigInt: boolean): unknown[] => {
  const out: unknown[] = new Array(d.length);
  const vals = d.values as ArrayLike<number | bigint>;
  for (let i = 0; i < d.length; i++) {
    if (!isValid(d, i)) {
      out[i] = null;
      continue;
    }
    const v = vals[i]!;
    if (toBigInt) {
      const n = typeof v === 'bigint' ? v : Number.isInteger(v) ? BigInt(v) : undefined;
      if (n === undefined) throw Errors.type(`cannot cast ${v} to an integer`);
      out[i] = n;
    } else out[i] = Number(v);
  }
  return out;
};

const fmt = (s: Schema): string => s.fields.map((f) => `${f.name}: ${typeToken(f.type)}${f.nullable ? '' : ' not null'}`).join('\n');

const cache = new WeakMap<Schema, WeakMap<Schema, number[] | null>>();

/**
 * Conform `batch` to the declared input fields; returns a batch whose columns
 * follow the declared order and types. Throws a TypeError RpcError otherwise.
 */
export const coerceInput = (fields: Fields, declared: Schema, batch: DecodedBatch): DecodedBatch => {
  const got = batch.schema;
  let perDeclared = cache.get(declared);
  if (perDeclared === undefined) {
    perDeclared = new WeakMap();
    cache.set(declared, perDeclared);
  }
  let order = perDeclared.get(got);
  if (order === undefined) {
    const names = got.fields.map((f) => f.name);
    const same = names.length === declared.fields.length && declared.fields.every((f) => names.includes(f.name)) && new Set(names).size === names.length;
    order = same ? declared.fields.map((f) => names.indexOf(f.name)) : null;
    perDeclared.set(got, order);
  }
  if (order === null) throw Errors.type(`Input schema mismatch: expected ${fmt(declared)}, got ${fmt(got)}`);
  const types = Object.values(fields) as ValueType<unknown>[];
  let changed = false;
  const columns = declared.fields.map((f, i) => {
    const col = batch.columns[order![i]!]!;
    const want = typeToken(f.type);
    if (typeToken(col.type) === want) {
      if (order![i] !== i) changed = true;
      return col;
    }
    changed = true;
    const t = nestedOf(types[i]!);
    if (isNumeric(col) && (want.startsWith('int') || want.startsWith('uint') || want.startsWith('float'))) {
      const bigint = want === 'int64' || want === 'uint64';
      try {
        return t.encode(numericValues(col, bigint));
      } catch (e) {
        throw Errors.type(`Input schema mismatch: cannot cast field '${f.name}' from ${typeToken(col.type)} to ${want}: ${(e as Error).message}`);
      }
    }
    throw Errors.type(`Input schema mismatch: expected ${fmt(declared)}, got ${fmt(got)}`);
  });
  return changed ? new DecodedBatch(declared, batch.numRows, columns, batch.metadata, batch.badUtf8Keys) : batch;
};
