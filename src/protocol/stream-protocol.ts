/**
 * The wire side of a producer or exchange stream over a byte-stream
 * transport: the header stream, the output schema a handler chose, the
 * metadata handlers see, and reading the client's input to its end. The
 * stream's lifecycle (state, turns, cancel, interruption) belongs to the
 * actor layer, which reaches these through `StreamRunner`.
 */
import type { Schema } from 'apache-arrow';
import { StreamEncoder } from '../wire/batch-encoder.js';
import { Keys } from '../wire/metadata-keys.js';
import type { FrameSource } from '../wire/frame-source.js';
import type { Frame } from '../wire/stream-reader.js';
import { IpcTruncatedError } from '../wire/errors.js';
import type { ExchangeMethod, ProducerMethod } from '../service/method.js';
import { Errors } from '../service/errors.js';
import type { ExchangeStream, ProducerStream } from '../service/service.js';
import { emissionColumns } from '../service/stream-output.js';
import type { ClientLogRecord } from '../service/call-context.js';
import { type Fields, schemaOf } from '../types/record.js';
import { type Stamp, writeLogs } from './responses.js';
import type { ConnectionCalls, InterruptReason } from './call-scope.js';

/** The stream object a producer or exchange handler returns (its state between turns). */
export type AnyStream = ProducerStream<Fields, Fields | undefined, unknown> & ExchangeStream<Fields, Fields, Fields | undefined, unknown>;

/** A stream method of either kind. */
export type StreamMethod = ProducerMethod | ExchangeMethod;

/** The interruption detail of a stream whose client ended its input before the stream's end-of-stream marker. */
export const INPUT_ABANDONED = 'the client ended its input in the middle of the stream';

/**
 * True when reading a stream's input failed because the input ended between
 * two whole messages of the open stream: the client hung up on it (closed
 * its socket, died, or ended its side without the stream's EOS). A message
 * cut short is a framing error instead.
 */
export const inputAbandoned = (e: unknown): boolean => e instanceof IpcTruncatedError && e.betweenMessages;

/**
 * Read and discard the client's input stream up to its EOS (or end of
 * input, see `inputAbandoned`, which calls `abandoned`); `open` when its schema was already read. Gives
 * up once `stop()`.
 */
export const drainInput = async (frames: FrameSource, open: boolean, stop: () => boolean, abandoned: () => void): Promise<void> => {
  let inStream = open;
  for (;;) {
    let f: Frame | null | undefined;
    try {
      f = await frames.nextUnless(stop);
    } catch (e) {
      if (!inputAbandoned(e)) throw e;
      abandoned();
      return;
    }
    if (f === null || f === undefined) return;
    if (f.kind === 'schema') inStream = true;
    else if (f.kind === 'eos' && inStream) return;
  }
};

const frameworkKeys = new Set<string>([Keys.streamState, Keys.callState, Keys.cancel]);

/** Metadata handed to handlers: the batch's metadata minus the framework's stream keys. */
export const handlerMetadata = (md: ReadonlyMap<string, string> | undefined): ReadonlyMap<string, string> => {
  if (md === undefined || md.size === 0) return new Map();
  let strip = false;
  for (const k of md.keys()) if (frameworkKeys.has(k)) strip = true;
  if (!strip) return md;
  return new Map([...md].filter(([k]) => !frameworkKeys.has(k)));
};

/**
 * The complete header stream of `method` for the header a handler returned,
 * after the init's logs. Throws when the header is missing or does not encode.
 */
export const encodeHeaderStream = (method: StreamMethod, header: unknown, logs: ClientLogRecord[], stamp: Stamp): Uint8Array[] => {
  const schema = method.headerSchema!;
  if (header === undefined || header === null) throw Errors.runtime('stream method declares a header but its handler returned none');
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  const cols = emissionColumns(method.header as Fields, schema, { _tag: 'rows', rows: [header], metadata: undefined });
  enc.writeSchema(out);
  writeLogs(out, enc, logs, stamp);
  enc.writeColumns(out, 1, cols.columns);
  enc.writeEos(out);
  return out;
};

/** Output fields and their schema. */
export interface StreamOutput {
  readonly fields: Fields;
  readonly schema: Schema;
}

const subsetCache = new WeakMap<object, Map<string, StreamOutput>>();

/** The output fields and schema of one stream call: the declared ones, or the subset the handler chose. */
export const outputOf = (method: StreamMethod, columns: readonly string[] | undefined): StreamOutput => {
  if (columns === undefined) return { fields: method.output, schema: method.outputSchema };
  let perMethod = subsetCache.get(method);
  if (perMethod === undefined) {
    perMethod = new Map();
    subsetCache.set(method, perMethod);
  }
  const key = columns.join('\u0000');
  let hit = perMethod.get(key);
  if (hit === undefined) {
    const declared = method.output as Fields;
    const fields: Record<string, Fields[string]> = {};
    for (const c of columns) {
      const t = declared[c];
      if (t === undefined) throw Errors.runtime(`stream output column '${c}' is not one of the declared output fields [${Object.keys(declared).join(', ')}]`);
      fields[c] = t;
    }
    hit = { fields, schema: schemaOf(fields) };
    perMethod.set(key, hit);
  }
  return hit;
};

/**
 * How one turn of a stream driven from outside (HTTP) is framed: each turn's
 * output is a complete IPC stream on the output schema, and these add the
 * stream's tokens to it.
 */
export interface TurnFraming {
  /** Metadata merged into the turn's data batch (an exchange's new cursor), computed after the handler ran. */
  readonly data?: () => ReadonlyMap<string, string>;
  /** Metadata of a zero-row batch written after the turn's output when the stream goes on (a producer's cursor; both tokens on an exchange's init). */
  readonly trailer?: () => ReadonlyMap<string, string>;
  /** The request id stamped on this turn's log and error batches from now on (HTTP: each turn is its own request); absent keeps the stream's. */
  readonly requestId?: string;
}

/** One turn of a detached stream: its complete output stream, and whether the stream ended with it (and how). */
export interface DetachedTurn {
  readonly out: Uint8Array[];
  /** `open`: the stream goes on; `done`: it finished; `failed`: it ended with an EXCEPTION batch; `cancelled`: the client cancelled it. */
  readonly state: 'open' | 'done' | 'failed' | 'cancelled';
}

/**
 * A producer or exchange stream that lives between requests, driven one turn
 * at a time from outside (the actor layer implements it). Turns must not
 * overlap; `busy` tells whether one is running.
 */
export interface DetachedStream {
  readonly kind: 'producer' | 'exchange';
  /** True while a turn runs. */
  readonly busy: boolean;
  /** True once the stream has ended (finished, failed, cancelled or closed). */
  readonly ended: boolean;
  /**
   * Run one turn on `frame` (a tick, an input batch or a cancel), or none
   * (`undefined`: only the output schema, pending logs and the trailer), with
   * `calls` supervising it (the request's: an aborted request interrupts it).
   */
  turn(frame: Frame | undefined, framing: TurnFraming, calls: ConnectionCalls): Promise<DetachedTurn>;
  /** End the stream from outside with `reason` (TTL expiry, drain): its Scope is closed, interrupted. */
  close(reason: InterruptReason): Promise<void>;
  /** The stream's declared state now, encoded (empty when the method declares none). */
  snapshot(): Uint8Array;
}

/** A stream opened without a connection: its init failed (the error stream to send), or it is live, with its header stream. */
export type OpenedStream =
  | { readonly _tag: 'failed'; readonly out: Uint8Array[] }
  | { readonly _tag: 'open'; readonly header: Uint8Array[] | undefined; readonly stream: DetachedStream };
