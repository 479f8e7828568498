/**
 * A producer or exchange stream over a byte-stream transport, in lockstep:
 * optional header stream, then one output batch (after its logs) per client
 * tick or input batch, until the producer finishes, the client closes its
 * input, the client cancels, or the handler fails. The stream's resources
 * live in a Scope that is closed when the stream ends for any reason.
 */
import { Effect, Exit, FiberId, Scope } from 'effect';
import type { Schema } from 'apache-arrow';
import { StreamEncoder } from '../wire/batch-encoder.js';
import { Keys } from '../wire/metadata-keys.js';
import type { DecodedBatch } from '../wire/stream-reader.js';
import type { ExchangeMethod, ProducerMethod } from '../service/method.js';
import { emptySchema } from '../service/method.js';
import { Errors, toWireError } from '../service/errors.js';
import type { ExchangeStream, ProducerStream } from '../service/service.js';
import { type Done, type Emission, BatchView, emissionColumns, metadataMap } from '../service/stream-output.js';
import { type Fields, schemaOf } from '../types/record.js';
import type { ByteConnection } from './byte-connection.js';
import type { CallRunner, CallScope, ConnectionCalls } from './call-scope.js';
import { coerceInput } from './input-coercion.js';
import { errorMetadata, type Stamp, writeErrorStream, writeLogs } from './responses.js';
import { causeError } from './unary-call.js';

type AnyStream = ProducerStream<Fields, Fields | undefined, unknown> & ExchangeStream<Fields, Fields, Fields | undefined, unknown>;

/** Read and discard the client's input stream up to its EOS (or end of input). */
export const drainInput = async (conn: ByteConnection, alreadyOpen: boolean): Promise<void> => {
  let open = alreadyOpen;
  for (;;) {
    const f = await conn.frames.next();
    if (f === null) return;
    if (f.kind === 'schema') open = true;
    else if (f.kind === 'eos' && open) return;
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
 * How a stream ends: the exit its Scope is closed with, the last bytes to
 * write (after the Scope is closed, so a client that sees the end of the
 * stream knows the handler's resources are released), and whether the
 * client's input must still be drained (`inputOpen` when its schema was read).
 */
interface Ending {
  readonly exit: Exit.Exit<unknown, unknown>;
  readonly final: Uint8Array[];
  readonly drain: 'none' | 'unopened' | 'open';
}

const ending = (exit: Exit.Exit<unknown, unknown>, final: Uint8Array[], drain: Ending['drain']): Ending => ({ exit, final, drain });

/** Run one stream call on a byte connection; resolves when the stream is over. */
export const runStream = async (
  conn: ByteConnection,
  runner: CallRunner,
  scope: CallScope,
  method: ProducerMethod | ExchangeMethod,
  handler: (params: never) => Effect.Effect<unknown, unknown, never>,
  params: Record<string, unknown>,
  tracker?: ConnectionCalls,
): Promise<void> => {
  const stamp: Stamp = { serverId: scope.context.serverId, requestId: scope.context.requestId };
  const streamScope = await Effect.runPromise(Scope.make());
  let end: Ending = ending(Exit.interrupt(FiberId.none), [], 'none');
  try {
    end = await openStream(conn, runner, scope, method, handler, params, tracker, stamp, streamScope);
  } catch (e) {
    end = ending(Exit.die(e), [], 'none');
    throw e;
  } finally {
    await Effect.runPromise(Scope.close(streamScope, end.exit));
  }
  if (end.final.length > 0) await conn.write(end.final);
  if (end.drain !== 'none') await drainInput(conn, end.drain === 'open');
};

const openStream = async (
  conn: ByteConnection,
  runner: CallRunner,
  scope: CallScope,
  method: ProducerMethod | ExchangeMethod,
  handler: (params: never) => Effect.Effect<unknown, unknown, never>,
  params: Record<string, unknown>,
  tracker: ConnectionCalls | undefined,
  stamp: Stamp,
  streamScope: Scope.CloseableScope,
): Promise<Ending> => {
  const initError = (e: unknown, exit: Exit.Exit<unknown, unknown>): Ending => {
    const out: Uint8Array[] = [];
    writeErrorStream(out, emptySchema(), toWireError(e), stamp, scope.takeLogs());
    return ending(exit, out, 'unopened');
  };
  // Init: the handler builds the stream state inside the stream's scope.
  const init = await runner.run(scope.provide(Scope.extend(Effect.suspend(() => handler(params as never)), streamScope)) as Effect.Effect<unknown, unknown, never>, tracker);
  if (Exit.isFailure(init)) return initError(causeError(init.cause, tracker?.reason), init);
  const stream = init.value as AnyStream;
  if (method.headerSchema !== undefined) {
    const header = stream.header as Record<string, unknown> | undefined;
    if (header === undefined || header === null) {
      const e = Errors.runtime('stream method declares a header but its handler returned none');
      return initError(e, Exit.fail(e));
    }
    const out: Uint8Array[] = [];
    try {
      const enc = new StreamEncoder(method.headerSchema);
      const cols = emissionColumns(method.header as Fields, method.headerSchema, { _tag: 'rows', rows: [header], metadata: undefined });
      enc.writeSchema(out);
      writeLogs(out, enc, scope.takeLogs(), stamp);
      enc.writeColumns(out, 1, cols.columns);
      enc.writeEos(out);
    } catch (e) {
      return initError(e, Exit.fail(e));
    }
    await conn.write(out);
  }
  let output: { fields: Fields; schema: Schema };
  try {
    output = outputOf(method, stream.columns);
  } catch (e) {
    return initError(e, Exit.fail(e));
  }
  return lockstep(conn, runner, scope, method, stream, output, stamp, tracker);
};

const lockstep = async (
  conn: ByteConnection,
  runner: CallRunner,
  scope: CallScope,
  method: ProducerMethod | ExchangeMethod,
  stream: AnyStream,
  output: { fields: Fields; schema: Schema },
  stamp: Stamp,
  tracker: ConnectionCalls | undefined,
): Promise<Ending> => {
  // Wait for the client's input stream to open before writing the output schema.
  const first = await conn.frames.next();
  if (first === null) return ending(Exit.interrupt(FiberId.none), [], 'none');
  if (first.kind !== 'schema') throw new Error('stream input did not start with a schema');
  const { fields: outFields, schema: outSchema } = output;
  const enc = new StreamEncoder(outSchema);
  const head: Uint8Array[] = [];
  enc.writeSchema(head);
  writeLogs(head, enc, scope.takeLogs(), stamp);
  await conn.write(head);
  for (;;) {
    const f = conn.frames.tryNext() ?? (await conn.frames.next());
    if (f === null) return ending(Exit.interrupt(FiberId.none), [], 'none');
    if (f.kind === 'eos') return ending(Exit.void, [endOfStream(enc)], 'none');
    const out: Uint8Array[] = [];
    if (f.kind === 'badBatch') {
      enc.writeEmpty(out, errorMetadata(toWireError(Errors.protocol(f.error.message)), stamp));
      enc.writeEos(out);
      return ending(Exit.fail(f.error), out, 'open');
    }
    if (f.kind !== 'batch') continue;
    const batch: DecodedBatch = f.batch;
    if (batch.meta(Keys.cancel) !== undefined) {
      if (stream.onCancel !== undefined) await runner.run(scope.provide(Effect.catchAllCause(stream.onCancel, () => Effect.void)), tracker);
      scope.takeLogs();
      enc.writeEos(out);
      return ending(Exit.interrupt(FiberId.none), out, 'open');
    }
    const turn = method.kind === 'producer'
      ? Effect.suspend(() => stream.produce({ metadata: handlerMetadata(batch.metadata) }))
      : Effect.suspend(() => {
          const input = coerceInput(method.input, method.inputSchema, batch);
          return stream.exchange(new BatchView(method.input, input, handlerMetadata(batch.metadata)));
        });
    const exit = await runner.run(scope.provide(turn as Effect.Effect<Emission<unknown> | Done<unknown>, unknown, never>), tracker);
    writeLogs(out, enc, scope.takeLogs(), stamp);
    const failWith = (e: unknown, ended: Exit.Exit<unknown, unknown>): Ending => {
      enc.writeEmpty(out, errorMetadata(toWireError(e), stamp));
      enc.writeEos(out);
      return ending(ended, out, 'open');
    };
    if (Exit.isFailure(exit)) return failWith(causeError(exit.cause, tracker?.reason), exit);
    const result = exit.value;
    if (result === undefined || result === null) return failWith(Errors.runtime('No data batch was emitted'), Exit.void);
    if (result._tag === 'done') {
      if (method.kind === 'exchange') return failWith(Errors.runtime('an exchange stream cannot finish; the client ends it by closing its input'), Exit.void);
      if (result.last !== undefined) {
        try {
          const { length, columns } = emissionColumns(outFields, outSchema, result.last);
          enc.writeColumns(out, length, columns, metadataMap(result.last.metadata));
        } catch (e) {
          return failWith(e, Exit.fail(e));
        }
      }
      enc.writeEos(out);
      return ending(Exit.void, out, 'open');
    }
    try {
      const { length, columns } = emissionColumns(outFields, outSchema, result);
      enc.writeColumns(out, length, columns, metadataMap(result.metadata));
    } catch (e) {
      return failWith(e, Exit.fail(e));
    }
    await conn.write(out);
  }
};

const subsetCache = new WeakMap<object, Map<string, { fields: Fields; schema: Schema }>>();

/** The output fields and schema of one stream call: the declared ones, or the subset the handler chose. */
const outputOf = (method: ProducerMethod | ExchangeMethod, columns: readonly string[] | undefined): { fields: Fields; schema: Schema } => {
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

const endOfStream = (enc: StreamEncoder): Uint8Array => {
  const out: Uint8Array[] = [];
  enc.writeEos(out);
  return out[0]!;
};
