/**
 * A typed client derived from a service definition: one function per
 * method, with parameter and result types taken from the same declaration
 * the server uses. `Client.make` returns Effects; `Client.promises` returns
 * Promises (for code outside Effect, and benchmarks).
 */
import * as Effect from 'effect/Effect';
import type * as Scope from 'effect/Scope';
import type { AnyService, Methods, ServiceDef, UnaryResult } from '../service/service.js';
import type { ExchangeMethod, MethodDef, ProducerMethod, UnaryMethod } from '../service/method.js';
import type { Fields } from '../types/record.js';
import type { TypeOf } from '../types/value-type.js';
import type { CallOptions, ClientConnection, StreamSession, Target } from './call-surface.js';
import { RpcClientError } from './client-error.js';

type DefaultsOf<M> = M extends { readonly _defaults?: infer D } ? (D extends object ? D : {}) : {};
type ParamFields<M> = M extends { readonly params: infer P extends Fields } ? P : never;
type OptionalKeys<M> = {
  [K in keyof ParamFields<M>]: K extends keyof DefaultsOf<M> ? K : null extends TypeOf<ParamFields<M>[K]> ? K : never;
}[keyof ParamFields<M>];

/** The parameter object a client passes: defaulted and nullable parameters may be omitted. */
export type ParamsIn<M> = { readonly [K in Exclude<keyof ParamFields<M>, OptionalKeys<M>>]: TypeOf<ParamFields<M>[K]> } &
  { readonly [K in OptionalKeys<M>]?: TypeOf<ParamFields<M>[K]> };

type OutputOf<M> = M extends { readonly output: infer O extends Fields } ? O : never;
type InputOf<M> = M extends ExchangeMethod<any, infer I, any, any> ? I : Fields;
type HeaderOf<M> = M extends { readonly header: infer H } ? (H extends Fields ? H : Fields) : Fields;

/** The session type a stream method opens. */
export type SessionOf<M> = StreamSession<OutputOf<M>, InputOf<M>, HeaderOf<M>>;

type IsEmpty<M> = keyof ParamFields<M> extends never ? true : Exclude<keyof ParamFields<M>, OptionalKeys<M>> extends never ? true : false;
type ArgsOf<M> = IsEmpty<M> extends true ? [params?: ParamsIn<M>, options?: CallOptions] : [params: ParamsIn<M>, options?: CallOptions];

/** Effect-returning client of a service. Streams are scoped: the session closes with the Scope. */
export type EffectClient<M extends Methods> = {
  readonly [K in keyof M]: M[K] extends UnaryMethod<any, any>
    ? (...args: ArgsOf<M[K]>) => Effect.Effect<UnaryResult<M[K]>, RpcClientError>
    : (...args: ArgsOf<M[K]>) => Effect.Effect<SessionOf<M[K]>, RpcClientError, Scope.Scope>;
};

/** Promise-returning client of a service. */
export type PromiseClient<M extends Methods> = {
  readonly [K in keyof M]: M[K] extends UnaryMethod<any, any>
    ? (...args: ArgsOf<M[K]>) => Promise<UnaryResult<M[K]>>
    : (...args: ArgsOf<M[K]>) => Promise<SessionOf<M[K]>>;
};

const targetOf = (service: AnyService): Target => ({ protocol: service.name, protocolVersion: service.version });

const toClientError = (e: unknown): RpcClientError =>
  e instanceof RpcClientError ? e : RpcClientError.local('TransportError', e instanceof Error ? e.message : String(e));

/** Build a Promise-returning client for `service` over `conn` (a byte-stream `RpcConnection` or an `HttpConnection`). */
export const promises = <N extends string, M extends Methods>(service: ServiceDef<N, M>, conn: ClientConnection): PromiseClient<M> => {
  const target = targetOf(service as AnyService);
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(service.methods) as [string, MethodDef][]) {
    out[name] = def.kind === 'unary'
      ? (params: Record<string, unknown> = {}, options?: CallOptions) => conn.call(target, name, def, params, options)
      : (params: Record<string, unknown> = {}, options?: CallOptions) => conn.openStream(target, name, def as ProducerMethod | ExchangeMethod, params, options);
  }
  return out as PromiseClient<M>;
};

/** Build an Effect-returning client for `service` over `conn` (a byte-stream `RpcConnection` or an `HttpConnection`). */
export const make = <N extends string, M extends Methods>(service: ServiceDef<N, M>, conn: ClientConnection): EffectClient<M> => {
  const p = promises(service, conn) as Record<string, (params?: Record<string, unknown>, options?: CallOptions) => Promise<unknown>>;
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(service.methods) as [string, MethodDef][]) {
    const call = p[name]!;
    out[name] = def.kind === 'unary'
      ? (params?: Record<string, unknown>, options?: CallOptions) => Effect.tryPromise({ try: () => call(params, options), catch: toClientError })
      : (params?: Record<string, unknown>, options?: CallOptions) =>
          Effect.acquireRelease(
            Effect.tryPromise({ try: () => call(params, options) as Promise<StreamSession<Fields>>, catch: toClientError }),
            (s) => Effect.promise(() => s.close().catch(() => undefined)),
          );
  }
  return out as EffectClient<M>;
};
