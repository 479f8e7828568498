/**
 * Reading the Arrow body of an HTTP answer: a unary result, one stream turn
 * (its log batches, error, data batch and state tokens), the header stream
 * of a stream `/init`, and the error of a non-2xx answer.
 *
 * The shapes (protocol-delta §5.5): a unary body is one IPC stream; a
 * stream `/init` body is `[header stream] + output stream`; a continuation
 * or exchange body is one output stream. In an output stream the cursor
 * token (`vgi_rpc.stream_state#b64`) rides a zero-row batch of its own
 * (producers; on `/init` with the call token `vgi_rpc.call_state#b64`) or
 * the turn's data batch (exchanges). A producer turn without a cursor is
 * the last one.
 */
import { classifyBatch } from '../../wire/classify.js';
import { Keys } from '../../wire/metadata-keys.js';
import { type DecodedBatch, type Frame, StreamReader } from '../../wire/stream-reader.js';
import { RpcClientError, errorFields, errorFromMetadata } from '../client-error.js';
import { type LogHandler, logFromMetadata } from '../client-log.js';
import { ARROW_CONTENT_TYPE, HttpHeader } from './wire-headers.js';
import { httpStatusError } from './http-error.js';

/** An HTTP answer with its body read and decoded. */
export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/** The frames of a body holding back-to-back IPC streams. */
export class BodyFrames {
  private readonly reader = new StreamReader();

  /** Read `body`, complete. */
  constructor(body: Uint8Array) {
    this.reader.push(body);
    this.reader.end();
  }

  /** The next frame, or null at the end of the body; a malformed or cut body is a ProtocolError. */
  next(): Frame | null {
    try {
      return this.reader.read() ?? null;
    } catch (e) {
      throw RpcClientError.local('ProtocolError', `the response body is not a valid Arrow IPC stream: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The next frame, which must exist: the body ending here is a ProtocolError naming `what` was expected. */
  expect(what: string): Frame {
    const f = this.next();
    if (f === null) throw RpcClientError.local('ProtocolError', `the response body ended where ${what} was expected`);
    return f;
  }
}

/** `e` with the answer's `X-Request-ID` when its own metadata named none. */
export const withRequestId = (e: RpcClientError, requestId: string | null): RpcClientError =>
  e.requestId !== undefined || requestId === null ? e : new RpcClientError({ ...errorFields(e), requestId });

/** A log handler that fills in the answer's `X-Request-ID` on records that carry none. */
export const logsOf = (onLog: LogHandler | undefined, headers: Headers): LogHandler | undefined => {
  const id = headers.get(HttpHeader.requestId);
  if (onLog === undefined || id === null) return onLog;
  return (log) => onLog(log.requestId === undefined ? { ...log, requestId: id } : log);
};

/** True for a 2xx status. */
export const isOk = (status: number): boolean => status >= 200 && status < 300;

/** The first EXCEPTION batch of an Arrow body, if it is one (error bodies of 4xx answers). */
const exceptionIn = (body: Uint8Array): RpcClientError | undefined => {
  try {
    const frames = new BodyFrames(body);
    for (let f = frames.next(); f !== null; f = frames.next()) {
      if (f.kind === 'batch' && classifyBatch(f.batch.numRows, f.batch.metadata) === 'error') return errorFromMetadata(f.batch.metadata!);
    }
  } catch {
    // not an Arrow body after all
  }
  return undefined;
};

/** Throw the HttpError of a non-2xx answer (its Arrow EXCEPTION batch, or its text). */
export const throwIfNotOk = (reply: HttpReply): void => {
  if (isOk(reply.status)) return;
  const arrow = reply.headers.get(HttpHeader.contentType)?.includes(ARROW_CONTENT_TYPE) === true;
  const serverError = arrow ? exceptionIn(reply.body) : undefined;
  const text = serverError === undefined ? new TextDecoder().decode(reply.body.subarray(0, 4096)) : '';
  throw httpStatusError(reply.status, reply.headers, serverError, text);
};

/** A log or error batch (zero rows, level and message): log delivered, error returned. */
const logOrError = (b: DecodedBatch, onLog: LogHandler | undefined): RpcClientError | undefined => {
  const kind = classifyBatch(b.numRows, b.metadata);
  if (kind === 'log') onLog?.(logFromMetadata(b.metadata!));
  return kind === 'error' ? errorFromMetadata(b.metadata!) : undefined;
};

/** Read one whole IPC stream; `each` sees every batch. A missing stream is a ProtocolError naming `what`. */
const readStream = (frames: BodyFrames, what: string, each: (b: DecodedBatch) => void): RpcClientError | undefined => {
  const first = frames.expect(what);
  if (first.kind !== 'schema') throw RpcClientError.local('ProtocolError', `expected ${what}`);
  let error: RpcClientError | undefined;
  for (;;) {
    const f = frames.expect('the end of the stream');
    if (f.kind === 'eos') return error;
    if (f.kind === 'badBatch') error ??= RpcClientError.local('ProtocolError', f.error.message);
    else if (f.kind === 'batch') each(f.batch);
  }
};

/** The answer to a unary call: its first data batch, or the error it carried. */
export const readUnary = (frames: BodyFrames, onLog: LogHandler | undefined): { readonly data: DecodedBatch | undefined; readonly error: RpcClientError | undefined } => {
  let data: DecodedBatch | undefined;
  let error: RpcClientError | undefined;
  const streamError = readStream(frames, 'a response stream', (b) => {
    const e = logOrError(b, onLog);
    if (e !== undefined) error ??= e;
    else if (classifyBatch(b.numRows, b.metadata) === 'data') data ??= b;
  });
  return { data, error: error ?? streamError };
};

/** The header stream of a stream `/init`: its row's batch (if any) and its error (if any). */
export const readHeaderStream = (frames: BodyFrames, onLog: LogHandler | undefined): { readonly header: DecodedBatch | undefined; readonly error: RpcClientError | undefined } => {
  let header: DecodedBatch | undefined;
  let error: RpcClientError | undefined;
  const streamError = readStream(frames, 'a header stream', (b) => {
    const e = logOrError(b, onLog);
    if (e !== undefined) error ??= e;
    else if (b.numRows > 0) header ??= b;
  });
  return { header, error: error ?? streamError };
};

/** What one stream turn answered. */
export interface Turn {
  /** The turn's output batch (an exchange's may be a zero-row batch that only carried the cursor). */
  readonly data: DecodedBatch | undefined;
  readonly error: RpcClientError | undefined;
  /** The new cursor token; undefined when the stream ended with this turn. */
  readonly cursor: string | undefined;
  /** The call token (only `/init` hands it over). */
  readonly callToken: string | undefined;
}

/**
 * Read the output stream of one turn. `exchange`: the first batch that is
 * neither a log nor an error is the turn's output even with zero rows (the
 * cursor batch a server appends when the exchange emitted nothing);
 * otherwise a zero-row batch carrying the cursor is only the cursor. An
 * empty rest of body (no output stream) ends the stream.
 */
export const readTurn = (frames: BodyFrames, onLog: LogHandler | undefined, exchange: boolean): Turn => {
  let data: DecodedBatch | undefined;
  let error: RpcClientError | undefined;
  let cursor: string | undefined;
  let callToken: string | undefined;
  let outputs = 0;
  const first = frames.next();
  if (first === null) return { data, error, cursor, callToken };
  if (first.kind !== 'schema') throw RpcClientError.local('ProtocolError', 'expected the output stream schema');
  for (;;) {
    const f = frames.expect('the end of the output stream');
    if (f.kind === 'eos') break;
    if (f.kind === 'badBatch') {
      error ??= RpcClientError.local('ProtocolError', f.error.message);
      continue;
    }
    if (f.kind !== 'batch') continue;
    const b = f.batch;
    const kind = classifyBatch(b.numRows, b.metadata);
    if (kind === 'log' || kind === 'error') {
      const e = logOrError(b, onLog);
      if (e !== undefined) error ??= e;
      continue;
    }
    cursor = b.metadata?.get(Keys.streamState) ?? cursor;
    callToken = b.metadata?.get(Keys.callState) ?? callToken;
    if (kind === 'token' && (!exchange || outputs > 0)) continue;
    if (++outputs > 1) throw RpcClientError.local('ProtocolError', 'a stream turn answered more than one data batch');
    data = b;
  }
  return { data, error, cursor, callToken };
};

/** Batch metadata for the application: the state token keys removed (the same map when it has none). */
export const applicationMetadata = (md: ReadonlyMap<string, string> | undefined): ReadonlyMap<string, string> => {
  if (md === undefined) return new Map();
  if (!md.has(Keys.streamState) && !md.has(Keys.callState)) return md;
  const out = new Map(md);
  out.delete(Keys.streamState);
  out.delete(Keys.callState);
  return out;
};
