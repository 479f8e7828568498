/**
 * Method definitions: unary, producer and exchange methods with their
 * parameter, result, header and stream schemas declared once as value types.
 * Definitions are immutable values; Arrow schemas are derived from them.
 */
import { Field, Schema } from 'apache-arrow';
import { type Fields, type RecordOf, paramsSchemaOf, schemaOf } from '../types/record.js';
import type { ValueType, TypeOf } from '../types/value-type.js';

/** Default values for some parameters, applied when a parameter is absent or null. */
export type Defaults<P extends Fields> = { readonly [K in keyof P]?: TypeOf<P[K]> };

/** The JS parameter object a client passes: parameters with defaults (or nullable ones) may be omitted. */
export type ParamsInput<P extends Fields, D> = { readonly [K in Exclude<keyof P, keyof D>]: TypeOf<P[K]> } & { readonly [K in keyof D & keyof P]?: TypeOf<P[K]> };

interface MethodBase<P extends Fields> {
  readonly params: P;
  readonly defaults: Defaults<P>;
  readonly doc: string | undefined;
  /** Arrow schema of the request batch. */
  readonly paramsSchema: Schema;
}

/** A unary method: one request row in, one `result` value (or nothing) out. */
export interface UnaryMethod<P extends Fields = Fields, R extends ValueType<any> | undefined = ValueType<any> | undefined> extends MethodBase<P> {
  readonly kind: 'unary';
  readonly result: R;
  /** `result` field schema, or the empty schema for a void method. */
  readonly resultSchema: Schema;
}

/** A producer stream: the server emits output batches, one per client tick, until it finishes. */
export interface ProducerMethod<P extends Fields = Fields, O extends Fields = Fields, H extends Fields | undefined = Fields | undefined> extends MethodBase<P> {
  readonly kind: 'producer';
  readonly output: O;
  readonly header: H;
  readonly outputSchema: Schema;
  readonly headerSchema: Schema | undefined;
  /** The stream's state as data, when declared: a continuation can then resume the stream from its cursor token alone. */
  readonly state: Fields | undefined;
  readonly stateSchema: Schema | undefined;
}

/** An exchange stream: each client input batch is answered with one output batch. */
export interface ExchangeMethod<P extends Fields = Fields, I extends Fields = Fields, O extends Fields = Fields, H extends Fields | undefined = Fields | undefined> extends MethodBase<P> {
  readonly kind: 'exchange';
  readonly input: I;
  readonly output: O;
  readonly header: H;
  readonly inputSchema: Schema;
  readonly outputSchema: Schema;
  readonly headerSchema: Schema | undefined;
  /** The stream's state as data, when declared (see ProducerMethod.state). */
  readonly state: Fields | undefined;
  readonly stateSchema: Schema | undefined;
}

/** Any method definition. */
export type MethodDef = UnaryMethod<any, any> | ProducerMethod<any, any, any> | ExchangeMethod<any, any, any, any>;

const entriesCache = new WeakMap<object, readonly (readonly [string, ValueType<unknown>])[]>();

/** The `[name, type]` pairs of a field set, in declaration order (computed once per object). */
export const fieldEntries = (fields: Fields): readonly (readonly [string, ValueType<unknown>])[] => {
  let e = entriesCache.get(fields);
  if (e === undefined) {
    e = Object.entries(fields) as [string, ValueType<unknown>][];
    entriesCache.set(fields, e);
  }
  return e;
};

/** Parameter record type of a method. */
export type ParamsOf<M> = M extends { params: infer P extends Fields } ? RecordOf<P> : never;

const EMPTY_SCHEMA = new Schema([]);

/** The schema with no fields (void results, producer input, zero-parameter requests). */
export const emptySchema = (): Schema => EMPTY_SCHEMA;

const resultSchemaOf = (result: ValueType<any> | undefined): Schema =>
  result === undefined ? EMPTY_SCHEMA : new Schema([new Field('result', result.arrowType, result.nullable)]);

const stateOf = (state: Fields | undefined): { state: Fields | undefined; stateSchema: Schema | undefined } =>
  ({ state, stateSchema: state === undefined ? undefined : schemaOf(state) });

interface CommonOptions<P extends Fields, D extends Defaults<P>> {
  readonly params?: P;
  readonly defaults?: D;
  readonly doc?: string;
}

const base = <P extends Fields>(o: CommonOptions<P, Defaults<P>>): MethodBase<P> => {
  const params = (o.params ?? {}) as P;
  return { params, defaults: (o.defaults ?? {}) as Defaults<P>, doc: o.doc, paramsSchema: paramsSchemaOf(params) };
};

/** Declare a unary method. Omit `result` for a void method. */
export const unary = <const P extends Fields = {}, R extends ValueType<any> | undefined = undefined, const D extends Defaults<P> = {}>(
  o: CommonOptions<P, D> & { readonly result?: R },
): UnaryMethod<NoInfer<P>, NoInfer<R>> & { readonly _defaults?: NoInfer<D> } => ({
  ...base(o),
  kind: 'unary',
  result: o.result as R,
  resultSchema: resultSchemaOf(o.result),
});

/** Declare a producer stream method. */
export const producer = <const P extends Fields = {}, const O extends Fields = Fields, const H extends Fields | undefined = undefined, const D extends Defaults<P> = {}>(
  o: CommonOptions<P, D> & { readonly output: O; readonly header?: H; readonly state?: Fields },
): ProducerMethod<NoInfer<P>, NoInfer<O>, NoInfer<H>> & { readonly _defaults?: NoInfer<D> } => ({
  ...base(o),
  kind: 'producer',
  output: o.output,
  header: o.header as H,
  outputSchema: schemaOf(o.output),
  headerSchema: o.header === undefined ? undefined : schemaOf(o.header),
  ...stateOf(o.state),
});

/** Declare an exchange stream method. */
export const exchange = <const P extends Fields = {}, const I extends Fields = Fields, const O extends Fields = Fields, const H extends Fields | undefined = undefined, const D extends Defaults<P> = {}>(
  o: CommonOptions<P, D> & { readonly input: I; readonly output: O; readonly header?: H; readonly state?: Fields },
): ExchangeMethod<NoInfer<P>, NoInfer<I>, NoInfer<O>, NoInfer<H>> & { readonly _defaults?: NoInfer<D> } => ({
  ...base(o),
  kind: 'exchange',
  input: o.input,
  output: o.output,
  header: o.header as H,
  inputSchema: schemaOf(o.input),
  outputSchema: schemaOf(o.output),
  headerSchema: o.header === undefined ? undefined : schemaOf(o.header),
  ...stateOf(o.state),
});
