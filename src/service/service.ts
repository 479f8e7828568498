/**
 * Services: an immutable, named set of method definitions (optionally
 * versioned), and the handlers that implement it, provided as a Layer.
 *
 *   const Calc = Service.define('Calc', { version: '1.0.0' }, { add: Method.unary({...}) })
 *   const CalcLive = Calc.toLayer({ add: ({ a, b }) => Effect.succeed(a + b) })
 */
import * as Context from 'effect/Context';
import * as Effect from 'effect/Effect';
import * as Layer from 'effect/Layer';
import type * as Scope from 'effect/Scope';
import type { Fields, RecordOf } from '../types/record.js';
import type { TypeOf, ValueType } from '../types/value-type.js';
import type { CallContext } from './call-context.js';
import type { ExchangeMethod, MethodDef, ProducerMethod, UnaryMethod } from './method.js';
import type { Done, Emission, BatchView } from './stream-output.js';

/** Metadata of a producer tick (framework keys removed). */
export interface Tick {
  readonly metadata: ReadonlyMap<string, string>;
}

/** The live state of a producer stream, returned by its handler. */
export interface ProducerStream<O extends Fields, H extends Fields | undefined, E = never> {
  /** The header row; required when the method declares a header. */
  readonly header?: H extends Fields ? RecordOf<H> : never;
  /**
   * The output columns of this call, a subset of the declared output fields
   * in the order given (the output schema is chosen per call). Default: all.
   */
  readonly columns?: readonly (keyof O & string)[];
  /** Called once per client tick: emit one batch, or finish with `Output.done`. */
  readonly produce: (tick: Tick) => Effect.Effect<Emission<RecordOf<O>> | Done<RecordOf<O>>, E, CallContext>;
  /** Runs when the client cancels the stream. */
  readonly onCancel?: Effect.Effect<void, never, CallContext>;
  /** The stream's state now, as a record of the method's declared `state` fields (see `resumable`). */
  readonly snapshot?: () => Record<string, unknown>;
}

/** The live state of an exchange stream, returned by its handler. */
export interface ExchangeStream<I extends Fields, O extends Fields, H extends Fields | undefined, E = never> {
  /** The header row; required when the method declares a header. */
  readonly header?: H extends Fields ? RecordOf<H> : never;
  /** The output columns of this call, a subset of the declared output fields (default: all). */
  readonly columns?: readonly (keyof O & string)[];
  /** Called once per input batch: emit exactly one output batch. */
  readonly exchange: (input: BatchView<I>) => Effect.Effect<Emission<RecordOf<O>>, E, CallContext>;
  /** Runs when the client cancels the stream. */
  readonly onCancel?: Effect.Effect<void, never, CallContext>;
  /** The stream's state now, as a record of the method's declared `state` fields (see `resumable`). */
  readonly snapshot?: () => Record<string, unknown>;
}

/** A stream handler that can also rebuild its stream from a state snapshot. */
export type Resumable<F> = F & {
  /** Rebuild the stream from a snapshot (no header is sent again): how a continuation that reaches a server without the live stream goes on. */
  readonly resume: (state: Record<string, any>) => F extends (...args: any[]) => any ? ReturnType<F> : never;
};

/**
 * Make a stream handler resumable: `open` starts the stream from its
 * parameters, `resume` rebuilds it from a snapshot of its state (its
 * `snapshot()`, a record of the method's declared `state` fields). Over
 * HTTP the snapshot travels in the cursor token, so a continuation that
 * reaches a worker or process without the live stream resumes it there.
 */
export const resumable = <F extends (params: any) => Effect.Effect<any, any, any>>(
  open: F,
  resume: (state: Record<string, any>) => ReturnType<F>,
): Resumable<F> => Object.assign(((params: never) => open(params)) as unknown as F, { resume }) as Resumable<F>;

type ResultOf<R> = R extends ValueType<infer A> ? A : void;

/**
 * The handler a method needs. Stream handlers run in the stream's Scope:
 * resources they acquire are released when the stream ends for any reason.
 */
export type HandlerFor<M> =
  M extends UnaryMethod<infer P, infer R> ? (params: RecordOf<P>) => Effect.Effect<ResultOf<R>, unknown, CallContext>
  : M extends ProducerMethod<infer P, infer O, infer H> ? (params: RecordOf<P>) => Effect.Effect<ProducerStream<O, H, unknown>, unknown, CallContext | Scope.Scope>
  : M extends ExchangeMethod<infer P, infer I, infer O, infer H> ? (params: RecordOf<P>) => Effect.Effect<ExchangeStream<I, O, H, unknown>, unknown, CallContext | Scope.Scope>
  : never;

/** Method definitions of a service, by wire name. */
export type Methods = Readonly<Record<string, MethodDef>>;

/** Handlers for every method of a service. */
export type Handlers<M extends Methods> = { readonly [K in keyof M]: HandlerFor<M[K]> };

/** A service implementation: the definition and its handlers. */
export interface ServiceImpl<M extends Methods = Methods> {
  readonly service: ServiceDef<string, M>;
  readonly handlers: Handlers<M>;
}

/** An immutable service definition. */
export interface ServiceDef<N extends string, M extends Methods> {
  /** Wire protocol name (routing key `vgi_rpc.protocol`). */
  readonly name: N;
  /** Declared semver protocol_version, or undefined for an unversioned protocol. */
  readonly version: string | undefined;
  /** Methods by wire name. */
  readonly methods: M;
  /** Tag under which the implementation is provided. */
  readonly tag: Context.Tag<ServiceImpl<M>, ServiceImpl<M>>;
  /** Provide handlers as a Layer; handlers may also be built by an Effect that needs other services. */
  toLayer<E = never, R = never>(handlers: Handlers<M> | Effect.Effect<Handlers<M>, E, R>): Layer.Layer<ServiceImpl<M>, E, R>;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const METHOD_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * True when `name` is a well-formed protocol name (grammar and 255-byte
 * limit; the grammar admits ASCII only, so its length is its byte length).
 */
export const isProtocolName = (name: string): boolean => NAME_RE.test(name) && name.length <= 255;

/** True when `v` is a strict semver `MAJOR.MINOR.PATCH`. */
export const isSemver = (v: string): boolean => SEMVER_RE.test(v);

/** Options of a service definition. */
export interface ServiceOptions {
  /** Semver protocol version; clients must match major.minor. */
  readonly version?: string;
  /** Allow the reserved `vgi_rpc.` prefix (framework protocols only). */
  readonly framework?: boolean;
}

/** Define a service: a wire name, options and its methods. */
export const define = <const N extends string, const M extends Methods>(name: N, options: ServiceOptions, methods: M): ServiceDef<N, M> => {
  if (!isProtocolName(name)) throw new TypeError(`'${name}' is not a valid protocol name (^[A-Za-z_][A-Za-z0-9_.]*$, at most 255 bytes)`);
  if (name.startsWith('vgi_rpc.') && options.framework !== true) throw new TypeError(`protocol names starting with 'vgi_rpc.' are reserved for the framework`);
  if (options.version !== undefined && !isSemver(options.version)) throw new TypeError(`protocol version '${options.version}' is not MAJOR.MINOR.PATCH`);
  for (const m of Object.keys(methods)) {
    if (!METHOD_RE.test(m) || m.startsWith('__')) throw new TypeError(`'${m}' is not a valid method name`);
  }
  const tag = Context.GenericTag<ServiceImpl<M>>(`vgi-rpc/service/${name}`);
  const def: ServiceDef<N, M> = {
    name,
    version: options.version,
    methods,
    tag,
    toLayer: <E, R>(handlers: Handlers<M> | Effect.Effect<Handlers<M>, E, R>) =>
      Layer.effect(tag, Effect.map(Effect.isEffect(handlers) ? handlers : Effect.succeed(handlers), (h) => {
        for (const m of Object.keys(methods)) {
          if (typeof (h as Record<string, unknown>)[m] !== 'function') throw new TypeError(`service ${name}: no handler for method '${m}'`);
        }
        return { service: def, handlers: h } as ServiceImpl<M>;
      })),
  };
  return Object.freeze(def);
};

/** Any service definition. */
export type AnyService = ServiceDef<string, any>;

/** JS type of a unary method's result. */
export type UnaryResult<M> = M extends UnaryMethod<any, infer R> ? ResultOf<R> : never;

/** Type of a value type (re-exported for convenience in signatures). */
export type { TypeOf };
