/**
 * Records: the reference's "dataclass" values. At the top level of a
 * parameter or result a record travels as a binary column holding a one-row
 * Arrow IPC stream; nested inside another record or a list it is a struct
 * column. Also: embedded arrow-js RecordBatch and Schema values, carried as
 * binary IPC the same way.
 */
import * as A from 'apache-arrow';
import { type ValueType, type TypeOf, badValue, isValid, makeColumn, nestedOf, validityOf } from './value-type.js';
import { binary } from './scalars.js';
import { StreamEncoder, concatBytes, schemaMessage } from '../wire/batch-encoder.js';
import { decodeOneStream } from '../wire/stream-reader.js';

/** Field declarations of a record: name -> value type, in declaration order. */
export type Fields = Readonly<Record<string, ValueType<any>>>;

/** The JS object type of a record with the given fields. */
export type RecordOf<F extends Fields> = { -readonly [K in keyof F]: TypeOf<F[K]> };

/** Arrow schema of batch columns (record internals, stream rows, headers): nested records are structs. */
export const schemaOf = (fields: Fields): A.Schema =>
  new A.Schema(Object.entries(fields).map(([name, t]) => new A.Field(name, nestedOf(t).arrowType, t.nullable)));

/** Arrow schema of method parameters: a record parameter is a binary column holding a nested IPC stream. */
export const paramsSchemaOf = (fields: Fields): A.Schema =>
  new A.Schema(Object.entries(fields).map(([name, t]) => new A.Field(name, t.arrowType, t.nullable)));

const structType = (fields: Fields): A.Struct =>
  new A.Struct(Object.entries(fields).map(([name, t]) => new A.Field(name, nestedOf(t).arrowType, t.nullable)));

/** Encode a list of records into one column per field. */
const encodeFields = (fields: Fields, rows: readonly (Record<string, unknown> | null | undefined)[]): A.Data[] =>
  Object.entries(fields).map(([name, t]) => {
    const nt = nestedOf(t);
    const vals = rows.map((r) => {
      if (r === null || r === undefined) return null;
      const v = r[name];
      if ((v === null || v === undefined) && !t.nullable) badValue(`non-null field '${name}' (${t.label})`, v);
      return v;
    });
    return nt.encode(vals);
  });

/** A record value type with its fields and the two representations. */
export interface RecordType<F extends Fields> extends ValueType<RecordOf<F>> {
  readonly recordName: string;
  readonly fields: F;
  /** Arrow schema of the nested one-row IPC stream. */
  readonly schema: A.Schema;
  /** The struct-column form used when nested. */
  readonly struct: ValueType<RecordOf<F>>;
  /** Serialize one record as a complete IPC stream (schema, one row, EOS). */
  toIpc(value: RecordOf<F>): Uint8Array;
  /** Parse a complete IPC stream holding one record. */
  fromIpc(bytes: Uint8Array): RecordOf<F>;
}

/** Declare a record ("dataclass") type. */
export const record = <const F extends Fields>(name: string, fields: F): RecordType<F> => {
  const schema = schemaOf(fields);
  const stype = structType(fields);
  const entries = Object.entries(fields);
  const decodeRow = (cols: readonly A.Data[], i: number): RecordOf<F> => {
    const out: Record<string, unknown> = {};
    entries.forEach(([fname, t], k) => {
      const col = cols[k]!;
      out[fname] = t.nullable && !isValid(col, i) ? null : nestedOf(t).decode(col, i);
    });
    return out as RecordOf<F>;
  };
  const struct: ValueType<RecordOf<F>> = {
    label: `struct ${name}`,
    arrowType: stype,
    nullable: false,
    encode(values) {
      for (const v of values) if (v !== null && v !== undefined && typeof v !== 'object') badValue(`record ${name}`, v);
      const children = encodeFields(fields, values as readonly Record<string, unknown>[]);
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(stype, values.length, nullCount, bitmap, undefined, undefined, children);
    },
    decode(data, i) {
      return decodeRow(data.children, i);
    },
  };
  const toIpc = (value: RecordOf<F>): Uint8Array => {
    if (value === null || typeof value !== 'object') badValue(`record ${name}`, value);
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(schema);
    enc.writeSchema(out);
    enc.writeColumns(out, 1, encodeFields(fields, [value as Record<string, unknown>]));
    enc.writeEos(out);
    return concatBytes(out);
  };
  const fromIpc = (bytes: Uint8Array): RecordOf<F> => {
    const { schema: got, batches } = decodeOneStream(bytes);
    const batch = batches.find((b) => b.numRows > 0);
    if (batch === undefined) throw new TypeError(`nested ${name} IPC stream has no row`);
    const cols = entries.map(([fname]) => {
      const idx = got.fields.findIndex((f) => f.name === fname);
      if (idx < 0) throw new TypeError(`nested ${name} is missing field '${fname}'`);
      return batch.columns[idx]!;
    });
    return decodeRow(cols, 0);
  };
  return {
    label: `record ${name}`,
    recordName: name,
    fields,
    schema,
    struct,
    arrowType: new A.Binary(),
    nullable: false,
    toIpc,
    fromIpc,
    encode(values) {
      return binary.encode(values.map((v) => (v === null || v === undefined ? (v as unknown as Uint8Array) : toIpc(v))));
    },
    decode(data, i) {
      return fromIpc(binary.decode(data, i));
    },
    nested: () => struct,
  };
};

/** A value carried in a binary column as IPC bytes: `toBytes` checks and serializes, `fromBytes` parses. */
const binaryCarried = <V>(label: string, toBytes: (v: unknown) => Uint8Array, fromBytes: (bytes: Uint8Array) => V): ValueType<V> => ({
  label,
  arrowType: new A.Binary(),
  nullable: false,
  encode(values) {
    return binary.encode(values.map((v) => (v === null || v === undefined ? (v as unknown as Uint8Array) : toBytes(v))));
  },
  decode(data, i) {
    return fromBytes(binary.decode(data, i));
  },
});

const streamBytes = (schema: A.Schema, batch: A.RecordBatch | undefined): Uint8Array => {
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  if (batch !== undefined) enc.writeBatch(out, batch);
  enc.writeEos(out);
  return concatBytes(out);
};

const schemaOfBytes = (bytes: Uint8Array): A.Schema => decodeOneStream(bytes).schema;

/** An arrow-js RecordBatch carried as binary IPC (schema, the batch, EOS). */
export const recordBatchValue: ValueType<A.RecordBatch> = binaryCarried(
  'embedded RecordBatch',
  (b) => (b instanceof A.RecordBatch ? streamBytes(b.schema, b) : badValue('RecordBatch', b)),
  (bytes) => {
    const { schema, batches } = decodeOneStream(bytes);
    const first = batches[0];
    return first === undefined ? new A.RecordBatch(schema) : first.toRecordBatch();
  },
);

/** An arrow-js Schema carried as binary IPC (schema message and EOS). */
export const schemaValue: ValueType<A.Schema> = binaryCarried(
  'embedded Schema',
  (s) => (s instanceof A.Schema ? streamBytes(s, undefined) : badValue('Schema', s)),
  schemaOfBytes,
);

/**
 * An arrow-js Schema carried as binary holding only its encapsulated schema
 * message, without EOS (what pyarrow's `Schema.serialize()` writes and
 * `pa.ipc.read_schema` reads). Decoding also accepts a trailing EOS.
 */
export const schemaMessageValue: ValueType<A.Schema> = binaryCarried(
  'embedded Schema message',
  (s) => (s instanceof A.Schema ? schemaMessage(s) : badValue('Schema', s)),
  schemaOfBytes,
);
