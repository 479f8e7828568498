/**
 * What typed clients call, whatever carries the calls: a byte-stream
 * connection (pipe, unix socket, TCP) answers each call on one ordered
 * stream, an HTTP connection with one request per call or stream turn. Both
 * implement `ClientConnection`, and both hand out `StreamSession`s with the
 * same methods, so `Client.make` / `Client.promises` and the reflected client
 * work over either unchanged.
 */
import type { ExchangeMethod, ProducerMethod, UnaryMethod } from '../service/method.js';
import type { BatchView, Emission, EmitMetadata } from '../service/stream-output.js';
import type { Fields, RecordOf } from '../types/record.js';
import type { LogHandler } from './client-log.js';

/** Per-call options. */
export interface CallOptions {
  /** Receives the call's server logs. */
  readonly onLog?: LogHandler;
  /** Extra request metadata (e.g. traceparent). */
  readonly metadata?: ReadonlyMap<string, string>;
}

/** Where a call is addressed. */
export interface Target {
  readonly protocol: string;
  /** Sent as `vgi_rpc.protocol_version` when defined. */
  readonly protocolVersion: string | undefined;
}

/** A connection typed clients call through (`RpcConnection`, `HttpConnection`). */
export interface ClientConnection {
  /** Call a unary method; resolves with its decoded result (undefined for void). */
  call<A>(target: Target, name: string, method: UnaryMethod, params: Record<string, unknown>, options?: CallOptions): Promise<A>;
  /** Open a producer or exchange stream; resolves once it is open (and its header read). */
  openStream<O extends Fields, I extends Fields = Fields, H extends Fields = Fields>(
    target: Target,
    name: string,
    method: ProducerMethod | ExchangeMethod,
    params: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<StreamSession<O, I, H>>;
  /** Close the connection once the calls already made are answered. */
  close(): Promise<void>;
}

/**
 * A client-side producer or exchange stream. Each connection kind provides
 * its own (`ByteStreamSession`, `HttpStreamSession`); callers see only this.
 */
export abstract class StreamSession<O extends Fields, I extends Fields = Fields, H extends Fields = Fields> {
  /** The header row, when the method declares one. */
  header: RecordOf<H> | undefined;

  /** True once the server has ended its output. */
  abstract get finished(): boolean;

  /**
   * Producer: send one tick (with optional metadata for `produce`) and return
   * the next output batch, or null when the producer finished.
   */
  abstract tick(metadata?: EmitMetadata): Promise<BatchView<O> | null>;

  /** Exchange: send one input batch and return the server's output batch. */
  abstract exchange(input: Emission<RecordOf<I>>): Promise<BatchView<O>>;

  /** Cancel the stream: the server runs its cancel hook and ends the output without an error. */
  abstract cancel(): Promise<void>;

  /** End the stream from the client side (exchange end, or stop a producer early). */
  abstract close(): Promise<void>;

  /** Iterate a producer's output batches; leaving the loop early closes the stream. */
  abstract [Symbol.asyncIterator](): AsyncIterator<BatchView<O>>;
}
