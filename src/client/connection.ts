/**
 * The client side of a byte-stream connection. Unary calls are pipelined:
 * requests are written as soon as they are made and responses, which the
 * server sends in order, are matched in FIFO order. A stream takes the
 * connection exclusively (lockstep) until it ends.
 */
import { StreamEncoder } from '../wire/batch-encoder.js';
import type { FrameSource } from '../wire/frame-source.js';
import { Keys } from '../wire/metadata-keys.js';
import { type ExchangeMethod, type ProducerMethod, type UnaryMethod, emptySchema } from '../service/method.js';
import { type Emission, BatchView, emissionColumns, metadataMap, type EmitMetadata } from '../service/stream-output.js';
import type { Fields, RecordOf } from '../types/record.js';
import { RpcClientError } from './client-error.js';
import type { LogHandler } from './client-log.js';
import { type CallOptions, type ClientConnection, StreamSession, type Target } from './call-surface.js';
import { type RequestShm, encodeRequest } from './request-encoding.js';
import { decodeResult, receive } from './response-frames.js';
import { type ClientSegment, type RegionLease, SegmentReader, segmentMetadata } from './client-shm.js';

export { type CallOptions, type ClientConnection, StreamSession, type Target } from './call-surface.js';
export { encodeRequest } from './request-encoding.js';
export type { ClientSegment } from './client-shm.js';

/** Options of an RpcConnection. */
export interface RpcConnectionOptions {
  /**
   * A shared-memory segment this client owns (see transports/shm): every
   * request names it, large batches travel through it both ways, and it is
   * closed (unlinked) with the connection. Unary calls are then strictly
   * sequential, and regions are freed only when every message sent has
   * been answered, as the segment's lock-free header requires.
   */
  readonly shm?: ClientSegment;
}

/**
 * The message of a failed read. When the bytes were text, the server printed
 * to the stream carrying its responses: name that cause.
 */
const readFailure = (e: unknown): string => {
  const message = e instanceof Error ? e.message : String(e);
  if (typeof (e as { strayText?: unknown } | null)?.strayText !== 'string') return message;
  return `${message}: the server wrote text to its stdout; a stdio server must write only Arrow IPC there (console output and logs belong on stderr)`;
};

/** What a client needs from a transport. */
export interface ClientTransport {
  readonly frames: FrameSource;
  write(chunks: readonly Uint8Array[]): void | Promise<void>;
  /** Close the outgoing direction (and release the transport). */
  close(): void | Promise<void>;
  /**
   * True when this side closed the connection itself (its socket destroyed
   * here, not by the server): errors then say the client closed it.
   */
  closedHere?(): boolean;
}

/** What a call made on, or pending when, a connection this side closed reports. */
const CLIENT_CLOSED = 'the client closed the connection';

/** A connection to one server over a byte stream. */
export class RpcConnection implements ClientConnection {
  private pendingReads: Promise<unknown> = Promise.resolve();
  private streamActive = false;
  private gate: Promise<void> = Promise.resolve();
  private releaseGate: () => void = () => {};
  private broken: Error | undefined;
  private closing = false;

  /** The client's segment, as requests use it. */
  private readonly requestShm: RequestShm | undefined;
  /** @internal The client's segment, as responses use it. */
  readonly shmReader: SegmentReader | undefined;

  /** Wrap a transport. */
  constructor(readonly transport: ClientTransport, readonly options: RpcConnectionOptions = {}) {
    const seg = options.shm;
    this.requestShm = seg === undefined ? undefined : { metadata: segmentMetadata(seg), channel: seg.channel };
    this.shmReader = seg === undefined ? undefined : new SegmentReader(seg);
  }

  /** The client's segment, if it has one. */
  get segment(): ClientSegment | undefined {
    return this.options.shm;
  }

  /** The transport error a call gets when the connection broke: a connection this side closed says so. */
  private transportError(message: string): RpcClientError {
    return RpcClientError.local('TransportError', this.transport.closedHere?.() === true ? CLIENT_CLOSED : message);
  }

  /** Call a unary method; resolves with its decoded result (undefined for void). */
  async call<A>(target: Target, name: string, method: UnaryMethod, params: Record<string, unknown>, options: CallOptions = {}): Promise<A> {
    while (this.streamActive) await this.gate;
    if (this.broken !== undefined) throw this.broken;
    if (this.closing) throw RpcClientError.local('TransportError', CLIENT_CLOSED);
    if (this.requestShm !== undefined) return this.callInLockstep(target, name, method, params, options);
    const out: Uint8Array[] = [];
    encodeRequest(out, target, name, method, params, options.metadata);
    const wrote = this.send(out);
    wrote.catch(() => undefined); // observed below, in order; do not report it as unhandled meanwhile
    const read = this.pendingReads.then(async () => {
      await wrote;
      return this.readUnary(method, options.onLog);
    });
    this.pendingReads = read.catch(() => undefined);
    return read as Promise<A>;
  }

  /**
   * A call on a connection with a segment: sent only once every earlier
   * response is read, because both sides write the segment's header without
   * locks and only lockstep keeps them from doing it at the same time.
   */
  private callInLockstep<A>(target: Target, name: string, method: UnaryMethod, params: Record<string, unknown>, options: CallOptions): Promise<A> {
    const read = this.pendingReads.then(async () => {
      while (this.streamActive) await this.gate;
      if (this.broken !== undefined) throw this.broken;
      const out: Uint8Array[] = [];
      encodeRequest(out, target, name, method, params, options.metadata, this.requestShm);
      await this.send(out);
      return this.readUnary(method, options.onLog);
    });
    this.pendingReads = read.catch(() => undefined);
    return read as Promise<A>;
  }

  private async nextFrame() {
    try {
      const f = this.transport.frames.tryNext() ?? (await this.transport.frames.next());
      if (f === null) throw this.transportError('the server closed the connection');
      return f;
    } catch (e) {
      this.broken ??= e instanceof RpcClientError ? e : this.transportError(readFailure(e));
      throw this.broken;
    }
  }

  private async readUnary(method: UnaryMethod, onLog: LogHandler | undefined): Promise<unknown> {
    const first = await this.nextFrame();
    if (first.kind !== 'schema') throw this.fail('expected a response stream');
    let error: RpcClientError | undefined;
    let result: unknown;
    let have = false;
    for (;;) {
      const f = await this.nextFrame();
      if (f.kind === 'eos') break;
      const got = receive(f, onLog, this.shmReader);
      error ??= got.error;
      if (got.data !== undefined && !have) {
        have = true;
        try {
          result = decodeResult(method, got.data);
        } catch (e) {
          error ??= RpcClientError.local('TypeError', `cannot decode the result: ${(e as Error).message}`);
        }
      }
    }
    // The whole response is read: in lockstep, the server is idle now, so regions can be freed.
    this.shmReader?.settle();
    if (error !== undefined) throw error;
    if (!have) throw RpcClientError.local('ProtocolError', 'the response carried no result batch');
    return result;
  }

  private fail(message: string): RpcClientError {
    this.broken ??= RpcClientError.local('ProtocolError', message);
    return this.broken as RpcClientError;
  }

  /** Open a producer or exchange stream; resolves once the request is sent (and the header read). */
  async openStream<O extends Fields, I extends Fields = Fields, H extends Fields = Fields>(
    target: Target,
    name: string,
    method: ProducerMethod | ExchangeMethod,
    params: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<StreamSession<O, I, H>> {
    while (this.streamActive) await this.gate;
    this.streamActive = true;
    this.gate = new Promise((r) => { this.releaseGate = r; });
    try {
      await this.pendingReads;
      if (this.broken !== undefined) throw this.broken;
      if (this.closing) throw RpcClientError.local('TransportError', CLIENT_CLOSED);
      const out: Uint8Array[] = [];
      encodeRequest(out, target, name, method, params, options.metadata, this.requestShm);
      await this.send(out);
      const session = new ByteStreamSession<O, I, H>(this, method, options.onLog, () => this.endStream());
      if (method.headerSchema !== undefined) await session.readHeader();
      return session;
    } catch (e) {
      this.endStream();
      throw e;
    }
  }

  private endStream(): void {
    this.streamActive = false;
    this.releaseGate();
  }

  /** @internal Write request bytes; transport failures become TransportError client errors. */
  send(out: readonly Uint8Array[]): Promise<void> {
    const asClientError = (e: unknown): RpcClientError => {
      this.broken ??= e instanceof RpcClientError ? e : this.transportError(e instanceof Error ? e.message : String(e));
      return this.broken as RpcClientError;
    };
    try {
      return Promise.resolve(this.transport.write(out)).catch((e: unknown) => { throw asClientError(e); });
    } catch (e) {
      return Promise.reject(asClientError(e));
    }
  }

  /** @internal frame access for stream sessions. */
  readFrame() {
    return this.nextFrame();
  }

  /** Close the connection once the calls already made are answered; calls made after it fail with TransportError. */
  async close(): Promise<void> {
    this.closing = true;
    await this.pendingReads;
    try {
      await this.transport.close();
    } finally {
      this.options.shm?.close();
    }
  }
}

/** Producer ticks kept in flight by the iterator (the batch being read plus one ahead). */
const TICKS_AHEAD = 2;

/** Producer ticks the iterator sends in its first group on a connection with a segment; later groups fill the segment (SegmentReader.tickGroup). */
const SHM_TICKS_AHEAD = 4;

/** A producer or exchange stream on a byte-stream connection, in lockstep with the server. */
export class ByteStreamSession<O extends Fields, I extends Fields = Fields, H extends Fields = Fields> extends StreamSession<O, I, H> {
  private input: StreamEncoder | undefined;
  private outputOpen = false;
  private done = false;
  private closed = false;
  /** The lease of the output batch last handed out over a zero-copy segment. */
  private lease: RegionLease | undefined;

  /** @internal */
  constructor(
    private readonly conn: RpcConnection,
    private readonly method: ProducerMethod | ExchangeMethod,
    private readonly onLog: LogHandler | undefined,
    private readonly release: () => void,
  ) {
    super();
  }

  /** True once the server has ended its output. */
  get finished(): boolean {
    return this.done;
  }

  /** @internal Read the header stream (or the init error). */
  async readHeader(): Promise<void> {
    const first = await this.conn.readFrame();
    if (first.kind !== 'schema') throw RpcClientError.local('ProtocolError', 'expected a header stream');
    let error: RpcClientError | undefined;
    for (;;) {
      const f = await this.conn.readFrame();
      if (f.kind === 'eos') break;
      const got = receive(f, this.onLog, this.conn.shmReader);
      error ??= got.error;
      if (got.data !== undefined && got.data.numRows > 0 && this.header === undefined) {
        this.header = new BatchView(this.method.header as H, got.data, new Map()).rows()[0];
      }
    }
    if (error !== undefined) {
      // The server drains one input stream after an init error: send an empty one.
      await this.writeInput((enc, out) => enc.writeEos(out));
      this.finish();
      throw error;
    }
  }

  private async writeInput(fill: (enc: StreamEncoder, out: Uint8Array[]) => void): Promise<void> {
    const out: Uint8Array[] = [];
    if (this.input === undefined) {
      this.input = new StreamEncoder(this.method.kind === 'exchange' ? this.method.inputSchema : emptySchema());
      this.input.writeSchema(out);
    }
    fill(this.input, out);
    await this.conn.send(out);
  }

  /** Read output frames until one data batch (returned) or the end of the output (null). */
  private async readOutput(): Promise<BatchView<O> | null> {
    if (!this.outputOpen) {
      const f = await this.conn.readFrame();
      if (f.kind !== 'schema') throw RpcClientError.local('ProtocolError', 'expected the output stream schema');
      this.outputOpen = true;
    }
    let error: RpcClientError | undefined;
    for (;;) {
      const f = await this.conn.readFrame();
      if (f.kind === 'eos') {
        this.done = true;
        break;
      }
      const got = receive(f, this.onLog, this.conn.shmReader, true);
      error ??= got.error;
      if (got.data !== undefined && error === undefined) {
        this.lease = got.lease;
        return new BatchView(this.method.output as O, got.data, got.data.metadata ?? new Map(), got.lease);
      }
      got.lease?.release();
    }
    // Output ended: close our input so the server's drain completes.
    await this.closeInput();
    if (error !== undefined) throw error;
    return null;
  }

  private async closeInput(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeInput((enc, out) => enc.writeEos(out));
    this.finish();
  }

  /** The consumer is done with the batch handed out last (the stream moves on); its region is freed at the next settle. */
  private giveBack(): void {
    this.lease?.release();
    this.lease = undefined;
  }

  private finished_ = false;
  private finish(): void {
    if (this.finished_) return;
    this.finished_ = true;
    // The output's end is read: the server is done with this stream and the segment; the stream's batches end with it.
    this.giveBack();
    this.conn.shmReader?.releaseAll();
    this.conn.shmReader?.settle();
    this.closed = true;
    this.done = true;
    this.release();
  }

  private ticksSent = 0;
  private batchesRead = 0;

  private async sendTick(metadata: Map<string, string> | undefined): Promise<void> {
    this.ticksSent++;
    await this.writeInput((enc, out) => enc.writeColumns(out, 0, [], metadata));
  }

  /** Send `n` ticks without metadata in one write. */
  private async sendTicks(n: number): Promise<void> {
    this.ticksSent += n;
    await this.writeInput((enc, out) => {
      for (let i = 0; i < n; i++) enc.writeColumns(out, 0, []);
    });
  }

  private async readTickOutput(): Promise<BatchView<O> | null> {
    const b = await this.readOutput();
    if (b !== null) this.batchesRead++;
    // Every tick sent is answered: the server is idle, regions read so far can be freed.
    if (this.ticksSent === this.batchesRead) this.conn.shmReader?.settle();
    return b;
  }

  /**
   * Producer: send one tick and return the next output batch, or null when
   * the producer finished. A tick already sent ahead by the iterator is
   * answered first.
   */
  async tick(metadata?: EmitMetadata): Promise<BatchView<O> | null> {
    if (this.done) return null;
    this.giveBack();
    if (this.ticksSent === this.batchesRead) {
      this.conn.shmReader?.settle();
      await this.sendTick(metadataMap(metadata));
    }
    return this.readTickOutput();
  }

  /** Exchange: send one input batch and return the server's output batch. */
  async exchange(input: Emission<RecordOf<I>>): Promise<BatchView<O>> {
    if (this.done) throw RpcClientError.local('ProtocolError', 'the stream has ended');
    const m = this.method as ExchangeMethod;
    const { length, columns } = emissionColumns(m.input as I, m.inputSchema, input);
    const segment = this.conn.segment;
    // Lockstep: the previous output is answered, the server is idle; the batch it returned is given back.
    this.giveBack();
    this.conn.shmReader?.settle();
    await this.writeInput((enc, out) => {
      // A large input goes through the client's segment (the reference's client does the same).
      if (segment !== undefined) segment.channel.writeBatch(enc, out, length, columns, metadataMap(input.metadata));
      else enc.writeColumns(out, length, columns, metadataMap(input.metadata));
    });
    const out = await this.readOutput();
    // Lockstep: the input is answered, the server is idle until the next one.
    this.conn.shmReader?.settle();
    if (out === null) throw RpcClientError.local('ProtocolError', 'the server ended the exchange without an output batch');
    return out;
  }

  /** Cancel the stream: the server runs its cancel hook and closes the output without an error. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.giveBack();
    await this.writeInput((enc, out) => {
      enc.writeEmpty(out, new Map([[Keys.cancel, '1']]));
      enc.writeEos(out);
    });
    this.closed = true;
    await this.drainOutput();
  }

  /** End the stream from the client side (exchange end, or stop a producer early). */
  async close(): Promise<void> {
    if (this.done) return;
    this.giveBack();
    await this.writeInput((enc, out) => enc.writeEos(out));
    this.closed = true;
    await this.drainOutput();
  }

  private async drainOutput(): Promise<void> {
    try {
      if (!this.outputOpen) {
        const f = await this.conn.readFrame();
        if (f.kind !== 'schema') throw RpcClientError.local('ProtocolError', 'expected the output stream schema');
        this.outputOpen = true;
      }
      for (;;) {
        const f = await this.conn.readFrame();
        if (f.kind === 'eos') break;
        receive(f, this.onLog, this.conn.shmReader, true).lease?.release();
      }
    } finally {
      this.finish();
    }
  }

  /**
   * Iterate a producer. Ticks without metadata are sent one ahead of the
   * batch being read, so the server produces the next batch while this one
   * is consumed; a tick left over when the producer finishes is drained by
   * the server with the rest of the input stream. On a zero-copy segment a
   * batch is valid until the next pull.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<BatchView<O>> {
    try {
      for (;;) {
        if (this.done) return;
        this.giveBack();
        const reader = this.conn.shmReader;
        if (reader === undefined) {
          while (this.ticksSent - this.batchesRead < TICKS_AHEAD) await this.sendTick(undefined);
        } else if (this.ticksSent === this.batchesRead) {
          // With a segment, ticks go out in groups, and only once the last group is answered and its regions
          // freed: the server writes batches while this side reads, but never while it frees. A group is as
          // many answers as the segment has room for, so the pipeline drains rarely.
          reader.settle();
          await this.sendTicks(reader.tickGroup(SHM_TICKS_AHEAD));
        }
        const b = await this.readTickOutput();
        if (b === null) return;
        yield b;
      }
    } finally {
      if (!this.done) await this.close();
    }
  }
}

