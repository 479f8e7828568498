/**
 * A producer or exchange stream over HTTP. The server keeps nothing between
 * requests: the stream's state travels in two sealed tokens, the cursor
 * (`vgi_rpc.stream_state#b64`, new every turn) and the call token
 * (`vgi_rpc.call_state#b64`, handed over once by `/init`). Every later
 * request, a `POST .../exchange`, echoes both in its batch metadata:
 *
 * - producer tick: a zero-row batch on the empty schema (plus the tick's
 *   metadata); the answer has at most one data batch and, unless the
 *   producer finished, a trailing zero-row batch with the next cursor;
 * - exchange turn: the input batch, tokens merged into its metadata; the
 *   next cursor comes back on the output batch (or a zero-row batch);
 * - cancel: a zero-row batch with `vgi_rpc.cancel` and the tokens.
 *
 * The first producer turn runs at `/init` (its batch arrives with the open);
 * the first `tick()` returns it, so `tick(metadata)` cannot carry metadata
 * to that turn and is refused until it was read. Token keys are removed
 * from the metadata the application sees.
 */
import { StreamEncoder } from '../../wire/batch-encoder.js';
import { Keys } from '../../wire/metadata-keys.js';
import type { DecodedBatch } from '../../wire/stream-reader.js';
import { type ExchangeMethod, type ProducerMethod, emptySchema } from '../../service/method.js';
import { BatchView, type Emission, type EmitMetadata, emissionColumns, metadataMap } from '../../service/stream-output.js';
import type { Fields, RecordOf } from '../../types/record.js';
import { RpcClientError } from '../client-error.js';
import type { LogHandler } from '../client-log.js';
import { StreamSession, type Target } from '../call-surface.js';
import type { HttpConnection } from './http-connection.js';
import { BodyFrames, type HttpReply, type Turn, applicationMetadata, logsOf, readTurn, throwIfNotOk, withRequestId } from './http-response.js';
import { HttpHeader } from './wire-headers.js';

/** A producer or exchange stream carried by HTTP requests. */
export class HttpStreamSession<O extends Fields, I extends Fields = Fields, H extends Fields = Fields> extends StreamSession<O, I, H> {
  private cursor: string | undefined;
  private readonly callToken: string | undefined;
  /** A data batch answered but not yet handed out (the `/init` turn's). */
  private pending: DecodedBatch | undefined;
  /** An error answered after a data batch: thrown once that batch is read. */
  private pendingError: RpcClientError | undefined;
  /** No more turns: the server ended the stream, or the client closed or cancelled it. */
  private ended = false;
  private readonly exchangePath: string;

  /** @internal Built by HttpConnection.openStream from the `/init` answer. */
  constructor(
    private readonly conn: HttpConnection,
    target: Target,
    private readonly name: string,
    private readonly method: ProducerMethod | ExchangeMethod,
    private readonly onLog: LogHandler | undefined,
    init: Turn,
    initRequestId: string | null,
  ) {
    super();
    this.exchangePath = conn.routeOf(target, name, '/exchange');
    this.callToken = init.callToken;
    this.apply(init, initRequestId);
  }

  /** True once the server has ended its output (and everything it answered was read). */
  get finished(): boolean {
    return this.ended && this.pending === undefined && this.pendingError === undefined;
  }

  /** Take in a turn's answer: its batch and error wait to be read, its cursor replaces the last. */
  private apply(turn: Turn, requestId: string | null): void {
    this.cursor = turn.cursor;
    if (turn.cursor === undefined) this.ended = true;
    if (turn.data !== undefined) this.pending = turn.data;
    if (turn.error !== undefined) {
      this.pendingError = withRequestId(turn.error, requestId);
      this.ended = true;
    }
  }

  /** The token metadata every request after `/init` carries, over `extra`. */
  private tokens(extra: ReadonlyMap<string, string> | undefined, cancel = false): Map<string, string> {
    const md = new Map(extra);
    md.set(Keys.streamState, this.cursor!);
    if (this.callToken !== undefined) md.set(Keys.callState, this.callToken);
    if (cancel) md.set(Keys.cancel, '1');
    return md;
  }

  /** POST one continuation, exchange or cancel body. */
  private async send(out: Uint8Array[], retry: boolean): Promise<HttpReply> {
    const reply = await this.conn.post({ path: this.exchangePath, body: out, retry, method: this.name });
    throwIfNotOk(reply);
    return reply;
  }

  private view(b: DecodedBatch): BatchView<O> {
    return new BatchView(this.method.output as O, b, applicationMetadata(b.metadata));
  }

  /** Hand out what was answered and not yet read: the pending batch, else the pending error. */
  private takePending(): BatchView<O> | undefined {
    const b = this.pending;
    if (b !== undefined) {
      this.pending = undefined;
      return this.view(b);
    }
    const e = this.pendingError;
    if (e !== undefined) {
      this.pendingError = undefined;
      throw e;
    }
    return undefined;
  }

  /**
   * Producer: the next output batch, or null once the producer finished. The
   * first call returns the batch `/init` produced; `metadata` is refused
   * there (that turn already ran without it).
   */
  async tick(metadata?: EmitMetadata): Promise<BatchView<O> | null> {
    let md = metadataMap(metadata);
    if (md !== undefined && md.size > 0 && this.pending !== undefined) {
      throw RpcClientError.local(
        'ProtocolError',
        "over HTTP a producer's first turn runs at /init, before any tick: read its batch with tick() (no metadata) or iteration first; tick metadata reaches the turns after it",
      );
    }
    for (;;) {
      const ready = this.takePending();
      if (ready !== undefined) return ready;
      if (this.ended) return null;
      const out: Uint8Array[] = [];
      const enc = new StreamEncoder(emptySchema());
      enc.writeSchema(out);
      enc.writeColumns(out, 0, [], this.tokens(md));
      enc.writeEos(out);
      md = undefined; // a turn that produced nothing is followed by a plain tick
      const reply = await this.send(out, true);
      this.apply(readTurn(new BodyFrames(reply.body), logsOf(this.onLog, reply.headers), false), reply.headers.get(HttpHeader.requestId));
    }
  }

  /** Exchange: send one input batch and return the server's output batch. */
  async exchange(input: Emission<RecordOf<I>>): Promise<BatchView<O>> {
    this.takePending(); // an exchange's /init answers no data, only (possibly) an error
    if (this.ended) throw RpcClientError.local('ProtocolError', 'the stream has ended');
    const m = this.method as ExchangeMethod;
    const { length, columns } = emissionColumns(m.input as I, m.inputSchema, input);
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(m.inputSchema);
    enc.writeSchema(out);
    enc.writeColumns(out, length, columns, this.tokens(metadataMap(input.metadata)));
    enc.writeEos(out);
    let reply: HttpReply;
    try {
      reply = await this.send(out, false);
    } catch (e) {
      this.ended = true;
      throw e;
    }
    const turn = readTurn(new BodyFrames(reply.body), logsOf(this.onLog, reply.headers), true);
    const requestId = reply.headers.get(HttpHeader.requestId);
    this.cursor = turn.cursor;
    if (turn.error !== undefined) {
      this.ended = true;
      throw withRequestId(turn.error, requestId);
    }
    if (turn.cursor === undefined) this.ended = true;
    if (turn.data === undefined) throw RpcClientError.local('ProtocolError', 'the server ended the exchange without an output batch');
    return this.view(turn.data);
  }

  /**
   * Cancel: the server runs the stream's cancel hook and answers an empty
   * output stream. Best effort, as in the reference: the stream is over
   * either way, so a failure to deliver the cancel is not reported.
   */
  async cancel(): Promise<void> {
    if (this.ended) {
      this.pending = undefined;
      this.pendingError = undefined;
      return;
    }
    this.ended = true;
    this.pending = undefined;
    this.pendingError = undefined;
    const out: Uint8Array[] = [];
    const enc = new StreamEncoder(emptySchema());
    enc.writeSchema(out);
    enc.writeEmpty(out, this.tokens(undefined, true));
    enc.writeEos(out);
    try {
      const reply = await this.send(out, false);
      readTurn(new BodyFrames(reply.body), logsOf(this.onLog, reply.headers), false);
    } catch {
      // best effort (see above)
    }
  }

  /** End the stream from the client side; the server holds nothing for it, so no request is sent. */
  async close(): Promise<void> {
    this.ended = true;
    this.pending = undefined;
    this.pendingError = undefined;
  }

  /** Iterate a producer's batches, one request per turn after the first. */
  async *[Symbol.asyncIterator](): AsyncIterator<BatchView<O>> {
    try {
      for (;;) {
        const b = await this.tick();
        if (b === null) return;
        yield b;
      }
    } finally {
      await this.close();
    }
  }
}
