/**
 * Value types for Arrow types met at run time: a schema learned from
 * Reflection (parameters, results, headers) or carried by a batch (stream
 * outputs) becomes a field set a client can encode and decode with, without
 * a service definition. Types the vocabulary declares map to their own
 * value type (so values are what a typed client sees: int64 as bigint,
 * binary as Uint8Array, map as Map); any other Arrow type falls back to
 * arrow-js's builders and getters.
 */
import * as A from 'apache-arrow';
import type { ValueType } from './value-type.js';
import * as S from './scalars.js';
import { dictionaryString, list, map, optional } from './containers.js';
import { type Fields, record } from './record.js';
import { typeToken } from './type-tokens.js';

const label = (t: A.DataType): string => {
  try {
    return typeToken(t);
  } catch {
    return String(t);
  }
};

/** A value type for any Arrow type, through arrow-js's builders (encode) and vectors (decode). */
const arrowJsValue = (type: A.DataType): ValueType<unknown> => ({
  label: label(type),
  arrowType: type,
  nullable: false,
  encode(values) {
    const b = A.makeBuilder({ type, nullValues: [null, undefined] });
    for (const v of values) b.append(v);
    return b.finish().flush();
  },
  decode: (data, i) => A.makeVector(data).get(i),
});

/** The same value type with `type` as its Arrow type (keeps a dictionary's id and a timestamp's zone). */
const withArrowType = <V>(t: ValueType<V>, type: A.DataType): ValueType<V> =>
  t.arrowType === type ? t : { ...t, arrowType: type, encode: (values) => t.encode(values).clone(type) };

const US = A.TimeUnit.MICROSECOND;

/** The value type of a non-null column of Arrow type `type`. */
export const valueTypeOfArrow = (type: A.DataType): ValueType<unknown> => {
  const a = type as unknown as Record<string, unknown>;
  switch (type.typeId) {
    case A.Type.Null: return S.nullType;
    case A.Type.Bool: return S.bool;
    case A.Type.Int: {
      const signed = a.isSigned as boolean;
      switch (a.bitWidth as number) {
        case 8: return signed ? S.int8 : S.uint8;
        case 16: return signed ? S.int16 : S.uint16;
        case 32: return signed ? S.int32 : S.uint32;
        default: return signed ? S.int64 : S.uint64;
      }
    }
    case A.Type.Float: {
      const p = a.precision as number;
      return p === A.Precision.SINGLE ? S.float32 : p === A.Precision.DOUBLE ? S.float64 : arrowJsValue(type);
    }
    case A.Type.Utf8: return S.utf8;
    case A.Type.LargeUtf8: return S.largeUtf8;
    case A.Type.Binary: return S.binary;
    case A.Type.LargeBinary: return S.largeBinary;
    case A.Type.FixedSizeBinary: return S.fixedSizeBinary(a.byteWidth as number);
    case A.Type.Date: return (a.unit as number) === A.DateUnit.DAY ? S.date32 : arrowJsValue(type);
    case A.Type.Timestamp: return (a.unit as number) === US ? withArrowType(S.timestampUs, type) : arrowJsValue(type);
    case A.Type.Time: return (a.unit as number) === US && (a.bitWidth as number) === 64 ? S.time64Us : arrowJsValue(type);
    case A.Type.Duration: return (a.unit as number) === US ? S.durationUs : arrowJsValue(type);
    case A.Type.Decimal: return (a.bitWidth as number) === 128 ? S.decimal128(a.precision as number, a.scale as number) : arrowJsValue(type);
    case A.Type.List: {
      const item = type.children[0]!;
      return list(fieldValueType(item), { itemNullable: item.nullable });
    }
    case A.Type.Map: {
      const [key, value] = type.children[0]!.type.children as A.Field[];
      return map(valueTypeOfArrow(key!.type), fieldValueType(value!), { keysSorted: a.keysSorted as boolean, valueNullable: value!.nullable });
    }
    case A.Type.Struct: return record('struct', fieldsOfArrow(type.children)).struct as ValueType<unknown>;
    case A.Type.Dictionary: {
      const d = type as A.Dictionary;
      const utf8Int16 = d.dictionary.typeId === A.Type.Utf8 && d.indices.bitWidth === 16 && d.indices.isSigned;
      return utf8Int16 ? withArrowType(dictionaryString, type) : arrowJsValue(type);
    }
    default:
      return arrowJsValue(type);
  }
};

/** The value type of a field: nullable fields are `optional`. */
export const fieldValueType = (field: A.Field): ValueType<unknown> => {
  const t = valueTypeOfArrow(field.type);
  return field.nullable ? optional(t) : t;
};

/** A field set (name -> value type, in order) for Arrow fields. */
export const fieldsOfArrow = (fields: readonly A.Field[]): Fields => {
  const out: Record<string, ValueType<unknown>> = {};
  for (const f of fields) out[f.name] = fieldValueType(f);
  return out;
};

const schemaFieldsCache = new WeakMap<A.Schema, Fields>();

/** The field set of a schema (computed once per Schema object). */
export const fieldsOfSchema = (schema: A.Schema): Fields => {
  let f = schemaFieldsCache.get(schema);
  if (f === undefined) {
    f = fieldsOfArrow(schema.fields);
    schemaFieldsCache.set(schema, f);
  }
  return f;
};
