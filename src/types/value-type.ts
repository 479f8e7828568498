/**
 * The contract every vgi-rpc value type fulfils: one declaration gives the
 * Arrow type (for schemas), the TypeScript type (for handlers and clients),
 * a column encoder and a row decoder.
 */
import { Data, type DataType } from 'apache-arrow';

/** A value type whose JS values have type `A`. */
export interface ValueType<A> {
  /** Phantom marker carrying the JS type. */
  readonly _A?: A;
  /** Human-readable name used in error messages. */
  readonly label: string;
  /** The Arrow type of a column holding these values. */
  readonly arrowType: DataType;
  /** Whether the column is nullable (only `optional(...)` types are). */
  readonly nullable: boolean;
  /** Build one column from `values`. Throws TypeError on a value of the wrong shape. */
  encode(values: readonly A[]): Data;
  /** Read row `index` of `data` (a column of `arrowType`). */
  decode(data: Data, index: number): A;
  /**
   * The type used when this value sits inside a struct or list (nested
   * records become struct columns there); defaults to itself.
   */
  readonly nested?: () => ValueType<A>;
}

/** The JS type carried by a value type. */
export type TypeOf<V> = V extends ValueType<infer A> ? A : never;

/** The type to use for `t` when nested inside a struct column or list. */
export const nestedOf = <A>(t: ValueType<A>): ValueType<A> => (t.nested ? t.nested() : t);

/** True when row `i` of `data` is valid (not null). */
export const isValid = (data: Data, i: number): boolean => {
  if (data.nullCount === 0) return true;
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (bitmap === undefined || bitmap.byteLength === 0) return true;
  const j = data.offset + i;
  return ((bitmap[j >> 3] ?? 0) & (1 << (j & 7))) !== 0;
};

/** Build a validity bitmap for `values`, or undefined when none is null. */
export const validityOf = (values: readonly unknown[]): { bitmap: Uint8Array | undefined; nullCount: number } => {
  let nullCount = 0;
  for (const v of values) if (v === null || v === undefined) nullCount++;
  if (nullCount === 0) return { bitmap: undefined, nullCount };
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nullCount };
};

/** Construct an arrow-js Data node from raw buffers. */
export const makeColumn = (
  type: DataType,
  length: number,
  nullCount: number,
  validity: Uint8Array | undefined,
  values: unknown,
  offsets?: unknown,
  children?: Data[],
): Data => new Data(type, 0, length, nullCount, [offsets, values, validity] as never, children ?? []);

/** Throw the TypeError used for a value that does not fit its declared type. */
export const badValue = (label: string, v: unknown): never => {
  const shown = typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : String(v);
  throw new TypeError(`expected ${label}, got ${v === null ? 'null' : typeof v} ${shown}`.slice(0, 300));
};
