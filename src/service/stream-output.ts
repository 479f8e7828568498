/**
 * What stream handlers return per turn: an output batch given as rows, as
 * columns (typed arrays are taken without copying) or as an arrow-js
 * RecordBatch, each with optional per-batch metadata; or, for producers,
 * `Output.done` to finish the stream.
 */
import { type RecordBatch, type Data, type Schema } from 'apache-arrow';
import { type Fields, type RecordOf } from '../types/record.js';
import { type TypeOf, isValid, nestedOf } from '../types/value-type.js';
import { typeToken } from '../types/type-tokens.js';
import { fieldsOfSchema } from '../types/from-arrow.js';
import { DecodedBatch } from '../wire/stream-reader.js';

/** Columns of an output batch: one array (or typed array) per field of the row type. */
export type ColumnsOf<Row> = { readonly [K in keyof Row]: ArrayLike<Row[K]> };

/** Metadata attached to one emitted batch. */
export type EmitMetadata = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/** One output batch of a stream turn, typed by its row shape. */
export type Emission<Row> =
  | { readonly _tag: 'rows'; readonly rows: readonly Row[]; readonly metadata: EmitMetadata | undefined }
  | { readonly _tag: 'columns'; readonly columns: ColumnsOf<Row>; readonly metadata: EmitMetadata | undefined }
  | { readonly _tag: 'batch'; readonly batch: RecordBatch; readonly metadata: EmitMetadata | undefined };

/** An emission for a stream whose output fields are `O`. */
export type EmissionOf<O extends Fields> = Emission<RecordOf<O>>;

/** The end of a producer stream. */
export interface Done<Row = never> {
  readonly _tag: 'done';
  /** A last batch emitted together with the end of the stream. */
  readonly last?: Emission<Row>;
}

/** Constructors for stream turn results. */
export const Output = {
  /** Emit rows given as objects. */
  rows: <Row>(rows: readonly Row[], metadata?: EmitMetadata): Emission<Row> => ({ _tag: 'rows', rows, metadata }),
  /** Emit columns (arrays or typed arrays, all of the same length). */
  columns: <Row>(columns: ColumnsOf<Row>, metadata?: EmitMetadata): Emission<Row> => ({ _tag: 'columns', columns, metadata }),
  /** Emit a prebuilt arrow-js RecordBatch (its schema must match the declared output). */
  batch: (batch: RecordBatch, metadata?: EmitMetadata): Emission<never> => ({ _tag: 'batch', batch, metadata }),
  /** Finish a producer stream. */
  done: { _tag: 'done' } as Done,
  /** Emit a last batch and finish the producer in the same turn. */
  last: <Row>(emission: Emission<Row>): Done<Row> => ({ _tag: 'done', last: emission }),
} as const;

/** Normalize emit metadata to a Map (undefined when empty). */
export const metadataMap = (m: EmitMetadata | undefined): Map<string, string> | undefined => {
  if (m === undefined) return undefined;
  const map = m instanceof Map ? new Map(m) : new Map(Object.entries(m as Record<string, string>));
  return map.size === 0 ? undefined : map;
};

/** Build the columns (one Data per field) and row count of an emission. */
export const emissionColumns = (fields: Fields, schema: Schema, e: Emission<unknown>): { length: number; columns: readonly Data[] } => {
  const entries = Object.entries(fields);
  switch (e._tag) {
    case 'rows':
      return {
        length: e.rows.length,
        columns: entries.map(([name, t]) => nestedOf(t).encode(e.rows.map((r) => (r as Record<string, unknown>)[name] ?? null))),
      };
    case 'columns': {
      let length = -1;
      const columns = entries.map(([name, t]) => {
        const values = (e.columns as Record<string, ArrayLike<unknown> | undefined>)[name];
        if (values === undefined) throw new TypeError(`output column '${name}' is missing`);
        if (length >= 0 && values.length !== length) throw new TypeError(`output column '${name}' has ${values.length} values, expected ${length}`);
        length = values.length;
        return nestedOf(t).encode(values as readonly unknown[]);
      });
      return { length: Math.max(length, 0), columns };
    }
    case 'batch': {
      const b = e.batch;
      if (b.schema.fields.length !== schema.fields.length || b.schema.fields.some((f, i) => f.name !== schema.fields[i]!.name)) {
        throw new TypeError(`emitted batch fields [${b.schema.fields.map((f) => f.name).join(', ')}] do not match the output schema [${schema.fields.map((f) => f.name).join(', ')}]`);
      }
      // A column of another Arrow type is re-encoded through the declared value type (e.g. int32 -> float64).
      const columns = entries.map(([, t], i) => {
        const col = b.data.children[i]!;
        const want = schema.fields[i]!.type;
        if (typeToken(col.type) === typeToken(want)) return col;
        return nestedOf(t).encode([...b.getChildAt(i)!].map((v) => (v === undefined ? null : v)));
      });
      return { length: b.numRows, columns };
    }
  }
};

/**
 * A batch decoded over shared memory was read after it was given back (the
 * stream moved on: see the client segment's `zeroCopy` option); its region
 * may already hold other data.
 */
export class ReleasedBatchError extends Error {
  override readonly name = 'ReleasedBatchError';

  constructor() {
    super('this batch was decoded over shared memory and released when its stream moved on (next pull, tick or exchange, or the end); copy what must outlive it, or use a segment without zeroCopy');
  }
}

/** A received batch (exchange input, stream output) with typed access to its columns. */
export class BatchView<I extends Fields> {
  /** Wrap a decoded batch whose columns follow the declared input field order. */
  constructor(
    private readonly fields: I,
    private readonly decoded: DecodedBatch,
    /** Batch metadata, framework keys removed. */
    readonly metadata: ReadonlyMap<string, string>,
    /** For a batch decoded over shared memory: released once the memory may be reused (columns then throw). */
    private readonly lease?: { readonly released: boolean },
  ) {}

  /** False once a batch decoded over shared memory was given back (its columns are then unreadable). */
  get valid(): boolean {
    return this.lease?.released !== true;
  }

  /** The Arrow schema the batch was sent with. */
  get schema(): Schema {
    return this.decoded.schema;
  }

  /** Number of rows. */
  get numRows(): number {
    return this.decoded.numRows;
  }

  /** The raw arrow-js column of a field (found by name: a stream may send a subset of its declared columns). */
  column<K extends keyof I & string>(name: K): Data {
    if (this.lease?.released === true) throw new ReleasedBatchError();
    const i = this.decoded.schema.fields.findIndex((f) => f.name === name);
    const col = i < 0 ? undefined : this.decoded.columns[i];
    if (col === undefined) throw new TypeError(`the batch has no column '${name}' (it has ${this.decoded.schema.fields.map((f) => f.name).join(', ')})`);
    return col;
  }

  /** Names of the columns this batch carries. */
  get columnNames(): string[] {
    return this.decoded.schema.fields.map((f) => f.name);
  }

  /** All values of one column as a JS array. */
  values<K extends keyof I & string>(name: K): TypeOf<I[K]>[] {
    const t = nestedOf(this.fields[name]!);
    const col = this.column(name);
    const n = this.decoded.numRows;
    const out = new Array<TypeOf<I[K]>>(n);
    if (col.nullCount === 0 && ArrayBuffer.isView(col.values) && !(col.values instanceof Uint8Array) && col.stride === 1 && !col.type.children?.length && col.valueOffsets === undefined && col.dictionary === undefined && col.typeId !== 6) {
      const vals = col.values as unknown as ArrayLike<TypeOf<I[K]>>;
      for (let i = 0; i < n; i++) out[i] = vals[i]!;
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = (this.fields[name]!.nullable && !isValid(col, i) ? null : t.decode(col, i)) as TypeOf<I[K]>;
    return out;
  }

  /** Rows as objects (the columns the batch carries). */
  rows(): RecordOf<I>[] {
    const names = this.columnNames.filter((n) => n in this.fields) as (keyof I & string)[];
    const cols = names.map((n) => this.values(n));
    const out: RecordOf<I>[] = [];
    for (let i = 0; i < this.numRows; i++) {
      const row: Record<string, unknown> = {};
      names.forEach((n, k) => { row[n] = cols[k]![i]; });
      out.push(row as RecordOf<I>);
    }
    return out;
  }

  /**
   * Rows decoded with the batch's own schema: every column it carries, each
   * read as the value type of its Arrow type. For clients that declared no
   * fields (a method known only from Reflection, a dynamic schema).
   */
  rowsAsSent(): Record<string, unknown>[] {
    return new BatchView(fieldsOfSchema(this.decoded.schema), this.decoded, this.metadata, this.lease).rows();
  }

  /** The batch as an arrow-js RecordBatch. */
  toRecordBatch(): RecordBatch {
    if (this.lease?.released === true) throw new ReleasedBatchError();
    return this.decoded.toRecordBatch();
  }
}
