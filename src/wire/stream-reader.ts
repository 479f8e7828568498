/**
 * Incremental reader of back-to-back Arrow IPC streams on one byte stream.
 * Bytes are pushed in as they arrive; frames (schema, batch, end of stream)
 * are pulled out one message at a time, so no more than one message is ever
 * held beyond the raw input chunks. Length prefixes are checked against caps
 * before anything is allocated.
 */
import { type Data, type DataType, type Field, RecordBatch, type Schema, Struct, type Vector, makeData, makeVector } from 'apache-arrow';
import { loadData, type LoadContext } from './body-layout.js';
import { IpcFormatError, IpcLimitError, IpcTruncatedError } from './errors.js';
import { CONTINUATION } from './format.js';
import { type BatchMetadata, type DecodedMessage, type RecordBatchHeader, decodeMessageHeader, decodeSchema } from './message-codec.js';
import { strayText, strayTextOf } from './stray-text.js';
import { NodeBuffer } from './node-buffer.js';
import { sameBytes } from './same-bytes.js';

/** Byte caps applied before allocation. */
export interface ReaderLimits {
  /** Largest flatbuffer message header accepted (schema messages are the big ones). Default 16 MiB. */
  readonly maxMetadataBytes: number;
  /** Largest message body accepted. Default 256 MiB. */
  readonly maxBodyBytes: number;
}

/** The defaults: 16 MiB headers, 256 MiB bodies. */
export const defaultReaderLimits: ReaderLimits = { maxMetadataBytes: 16 * 1024 * 1024, maxBodyBytes: 256 * 1024 * 1024 };

/** A record batch as decoded from the wire, before it is wrapped as an arrow-js RecordBatch. */
export class DecodedBatch {
  /** Create a decoded batch. */
  constructor(
    readonly schema: Schema,
    readonly numRows: number,
    readonly columns: readonly Data[],
    readonly metadata: BatchMetadata | undefined,
    /** Metadata keys whose values were not valid UTF-8. */
    readonly badUtf8Keys: readonly string[],
  ) {}

  /** The batch as an arrow-js RecordBatch (with its custom metadata). */
  toRecordBatch(): RecordBatch {
    const data = makeData({ type: new Struct(this.schema.fields), length: this.numRows, nullCount: 0, children: this.columns as Data[] });
    return new RecordBatch(this.schema, data, new Map(this.metadata ?? []));
  }

  /** Value of a metadata key, if present. */
  meta(key: string): string | undefined {
    return this.metadata?.get(key);
  }
}

/** What the reader yields: the start of a stream, one batch, or the end of a stream. */
export type Frame =
  | { readonly kind: 'schema'; readonly schema: Schema }
  | { readonly kind: 'batch'; readonly batch: DecodedBatch }
  /** A batch whose framing was intact but whose body was corrupt; the stream stays readable. */
  | { readonly kind: 'badBatch'; readonly error: IpcFormatError }
  | { readonly kind: 'eos' };


/** Record batch headers up to this size are remembered for reuse (per reader, the last one only). */
const MAX_REUSED_HEADER = 2048;

const schemaCache = new Map<number, { bytes: Uint8Array; schema: Schema }[]>();
let schemaCacheSize = 0;
const SCHEMA_CACHE_MAX = 512;

const fnv1a = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
};

/** Decoded schemas by message bytes: a schema seen before (every repeated request) is not decoded again. */
const cachedSchema = (bytes: Uint8Array): Schema => {
  const h = fnv1a(bytes);
  const bucket = schemaCache.get(h);
  if (bucket !== undefined) for (const e of bucket) if (sameBytes(e.bytes, bytes)) return e.schema;
  const schema = decodeSchema(bytes);
  if (schemaCacheSize >= SCHEMA_CACHE_MAX) {
    schemaCache.clear();
    schemaCacheSize = 0;
  }
  const entry = { bytes: Uint8Array.prototype.slice.call(bytes), schema };
  if (bucket === undefined) schemaCache.set(h, [entry]);
  else bucket.push(entry);
  schemaCacheSize++;
  return schema;
};

const findDictionaryType = (fields: readonly Field[], id: number): DataType | undefined => {
  for (const f of fields) {
    const t = f.type as DataType & { id?: number; dictionary?: DataType };
    if (t.typeId === -1 && t.id === id) return t.dictionary;
    const inner = findDictionaryType(t.children ?? [], id);
    if (inner !== undefined) return inner;
  }
  return undefined;
};

/**
 * Pull-based parser. `push` appends input; `read` returns the next frame, or
 * `undefined` when more bytes are needed. After `end()`, a partial message is
 * reported as IpcTruncatedError.
 */
export class StreamReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  private ended = false;
  private schema: Schema | undefined;
  private dictionaries = new Map<number, Vector>();
  private pending: { metadataLength: number; prefix: number } | undefined;
  private partial: { msg: DecodedMessage; header: Uint8Array; body: Uint8Array; filled: number } | undefined;

  /** Create a reader with the given byte caps. */
  constructor(readonly limits: ReaderLimits = defaultReaderLimits) {}

  /** Bytes received but not yet consumed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True while inside a stream (after its schema, before its EOS). */
  get inStream(): boolean {
    return this.schema !== undefined;
  }

  /** Append input bytes. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /**
   * Append a copy of `bytes`, which the caller reuses afterwards (a read
   * buffer). Bytes that continue a large body being received go straight
   * into it; only the rest is copied into a buffer of its own.
   */
  pushCopy(bytes: Uint8Array): void {
    let rest = bytes;
    const p = this.partial;
    if (p !== undefined && this.buffered === 0) {
      const k = Math.min(rest.byteLength, p.body.byteLength - p.filled);
      p.body.set(k === rest.byteLength ? rest : rest.subarray(0, k), p.filled);
      p.filled += k;
      rest = rest.subarray(k);
    }
    if (rest.byteLength > 0) this.push(NodeBuffer !== undefined ? NodeBuffer.from(rest) : rest.slice());
  }

  /**
   * Where the next input bytes may be written so that they land in a large
   * body being received without any intermediate buffer: the missing part
   * of that body, when nothing is buffered ahead of it and at least
   * `minBytes` of it are missing; undefined otherwise. Report what was
   * written with `filledBody`.
   */
  bodyTarget(minBytes: number): Uint8Array | undefined {
    const p = this.partial;
    if (p === undefined || this.buffered !== 0 || p.body.byteLength - p.filled < minBytes) return undefined;
    return p.body.subarray(p.filled);
  }

  /** `n` bytes were written at the start of the last `bodyTarget()`. */
  filledBody(n: number): void {
    this.partial!.filled += n;
  }

  /** Mark the end of input. */
  end(): void {
    this.ended = true;
  }

  /** True when the input has ended and every byte has been consumed. */
  get finished(): boolean {
    return this.ended && this.buffered === 0;
  }

  private peekU32(at: number): number {
    // Read a little-endian u32 at logical offset `at`, which may straddle chunks.
    const c = this.chunks[0]!;
    const i = this.head + at;
    if (i + 4 <= c.byteLength) return (c[i]! | (c[i + 1]! << 8) | (c[i + 2]! << 16) | (c[i + 3]! << 24)) >>> 0;
    let v = 0;
    for (let i = 0; i < 4; i++) v |= this.byteAt(at + i) << (8 * i);
    return v >>> 0;
  }

  private byteAt(at: number): number {
    let idx = at + this.head;
    for (const c of this.chunks) {
      if (idx < c.byteLength) return c[idx]!;
      idx -= c.byteLength;
    }
    throw new RangeError('byteAt past the end');
  }

  /** Remove `n` bytes from the front, returning them contiguous (a view when possible). */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (this.head + n <= first.byteLength) {
      const view = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
      this.buffered -= n;
      return view;
    }
    const out = new Uint8Array(n);
    let pos = 0;
    while (pos < n) {
      const c = this.chunks[0]!;
      const avail = c.byteLength - this.head;
      const k = Math.min(avail, n - pos);
      out.set(c.subarray(this.head, this.head + k), pos);
      pos += k;
      this.head += k;
      if (this.head === c.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    return out;
  }

  /** The last record batch header decoded, by its bytes: repeated calls send the same header again and again. */
  private lastHeader: { readonly bytes: Uint8Array; readonly msg: DecodedMessage } | undefined;

  /** Decode a message header, reusing the last record batch header when the bytes are the same. */
  private headerOf(bytes: Uint8Array): DecodedMessage {
    const last = this.lastHeader;
    if (last !== undefined && sameBytes(last.bytes, bytes)) return last.msg;
    let msg: DecodedMessage;
    try {
      msg = decodeMessageHeader(bytes);
    } catch (e) {
      const text = e instanceof IpcFormatError && e.strayText === undefined ? strayTextOf(bytes) : undefined;
      throw text === undefined ? e : new IpcFormatError((e as IpcFormatError).message, text);
    }
    if (msg.type === 'recordBatch' && bytes.byteLength <= MAX_REUSED_HEADER) this.lastHeader = { bytes: bytes.slice(), msg };
    return msg;
  }

  private needMore(): undefined {
    if (this.ended) {
      const betweenMessages = this.buffered === 0 && this.pending === undefined && this.schema !== undefined;
      throw new IpcTruncatedError(
        betweenMessages
          ? 'input ended inside an Arrow IPC stream (no end-of-stream marker)'
          : `input ended in the middle of an Arrow IPC message (${this.buffered} bytes left over)`,
        betweenMessages,
      );
    }
    return undefined;
  }

  /**
   * The next frame, `undefined` if more input is needed, or `null` when the
   * input ended cleanly between streams.
   */
  read(): Frame | undefined | null {
    for (;;) {
      if (this.pending === undefined) {
        if (this.buffered === 0 && this.ended && this.schema === undefined) return null;
        if (this.buffered < 4) return this.needMore();
        const first = this.peekU32(0);
        let metadataLength: number;
        let prefix: number;
        if (first === CONTINUATION) {
          if (this.buffered < 8) return this.needMore();
          metadataLength = this.peekU32(4) | 0;
          prefix = 8;
        } else {
          metadataLength = first | 0; // legacy (pre-0.15) framing without the continuation marker
          prefix = 4;
        }
        if (metadataLength < 0) throw new IpcFormatError(`negative IPC message length ${metadataLength}`);
        if (metadataLength > this.limits.maxMetadataBytes) {
          // Text read as a length prefix (a process printing to this stream) is the usual cause: say so.
          const text = strayText((i) => this.byteAt(prefix - 4 + i), this.buffered - (prefix - 4));
          throw new IpcLimitError(`IPC message header of ${metadataLength} bytes exceeds the ${this.limits.maxMetadataBytes}-byte limit`, text);
        }
        if (metadataLength === 0) {
          this.take(prefix);
          if (this.schema === undefined) throw new IpcFormatError('end-of-stream marker before any schema message');
          this.schema = undefined;
          this.dictionaries = new Map();
          return { kind: 'eos' };
        }
        this.pending = { metadataLength, prefix };
      }
      if (this.partial === undefined) {
        const { metadataLength, prefix } = this.pending;
        if (this.buffered < prefix + metadataLength) return this.needMore();
        this.take(prefix);
        const header = this.take(metadataLength);
        const msg = this.headerOf(header);
        if (msg.bodyLength > this.limits.maxBodyBytes) {
          throw new IpcLimitError(`IPC message body of ${msg.bodyLength} bytes exceeds the ${this.limits.maxBodyBytes}-byte limit`);
        }
        if (this.buffered >= msg.bodyLength) {
          // The whole body is here: take it (a view when it lies in one chunk).
          this.pending = undefined;
          const frame = this.complete(msg, header, msg.bodyLength > 0 ? this.take(msg.bodyLength) : new Uint8Array(0));
          if (frame !== undefined) return frame;
          continue;
        }
        // Large body still arriving: copy chunks into its buffer as they come, holding nothing else.
        // Unzeroed: every byte is overwritten by the copy below before anyone reads it.
        this.partial = { msg, header, body: NodeBuffer !== undefined ? NodeBuffer.allocUnsafeSlow(msg.bodyLength) : new Uint8Array(msg.bodyLength), filled: 0 };
      }
      const p = this.partial;
      while (p.filled < p.body.byteLength && this.buffered > 0) {
        const c = this.chunks[0]!;
        const k = Math.min(c.byteLength - this.head, p.body.byteLength - p.filled);
        p.body.set(c.subarray(this.head, this.head + k), p.filled);
        p.filled += k;
        this.head += k;
        this.buffered -= k;
        if (this.head === c.byteLength) {
          this.chunks.shift();
          this.head = 0;
        }
      }
      if (p.filled < p.body.byteLength) return this.needMore();
      this.partial = undefined;
      this.pending = undefined;
      const frame = this.complete(p.msg, p.header, p.body);
      if (frame !== undefined) return frame;
    }
  }

  /** Turn a complete message into a frame (undefined for dictionary batches, which are absorbed). */
  private complete(msg: DecodedMessage, header: Uint8Array, rawBody: Uint8Array): Frame | undefined {
    // Hand out plain Uint8Array views even when the input chunks are Buffers.
    const body = NodeBuffer !== undefined && rawBody instanceof NodeBuffer ? new Uint8Array(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength) : rawBody;
    switch (msg.type) {
      case 'schema': {
        if (this.schema !== undefined) throw new IpcFormatError('schema message inside a stream that already has a schema');
        this.schema = cachedSchema(header);
        return { kind: 'schema', schema: this.schema };
      }
      case 'recordBatch': {
        const schema = this.requireSchema();
        try {
          const columns = this.loadColumns(schema.fields.map((f) => f.type), msg.header, body);
          return { kind: 'batch', batch: new DecodedBatch(schema, msg.header.length, columns, msg.metadata, msg.badUtf8Keys) };
        } catch (e) {
          if (e instanceof IpcFormatError) return { kind: 'badBatch', error: e };
          throw e;
        }
      }
      case 'dictionaryBatch': {
        const schema = this.requireSchema();
        const valueType = findDictionaryType(schema.fields, msg.id);
        if (valueType === undefined) throw new IpcFormatError(`dictionary batch for unknown dictionary id ${msg.id}`);
        const [data] = this.loadColumns([valueType], msg.header, body);
        const vector = makeVector(data!);
        const prev = this.dictionaries.get(msg.id);
        this.dictionaries.set(msg.id, msg.isDelta && prev !== undefined ? prev.concat(vector) : vector);
        return undefined;
      }
    }
  }

  private requireSchema(): Schema {
    if (this.schema === undefined) throw new IpcFormatError('record batch before any schema message');
    return this.schema;
  }

  private loadColumns(types: readonly DataType[], header: RecordBatchHeader, body: Uint8Array): Data[] {
    const ctx: LoadContext = { nodes: header.nodes, buffers: header.buffers, body, dictionaries: this.dictionaries, node: 0, buffer: 0 };
    try {
      const cols = types.map((t) => loadData(t, ctx));
      for (const c of cols) {
        if (c.length !== header.length) throw new IpcFormatError(`column length ${c.length} differs from batch length ${header.length}`);
      }
      return cols;
    } catch (e) {
      if (e instanceof IpcFormatError) throw e;
      throw new IpcFormatError(`corrupt record batch: ${(e as Error).message}`);
    }
  }
}

/**
 * Parse a complete byte buffer holding exactly one IPC stream (used for
 * nested dataclass values), or that stream given as consecutive pieces.
 * Bodies lying within one piece are decoded as views over it (no copy).
 */
export const decodeOneStream = (bytes: Uint8Array | readonly Uint8Array[], limits: ReaderLimits = defaultReaderLimits): { schema: Schema; batches: DecodedBatch[] } => {
  const r = new StreamReader(limits);
  if (bytes instanceof Uint8Array) r.push(bytes);
  else for (const piece of bytes) r.push(piece);
  r.end();
  const first = r.read();
  if (first === null || first === undefined || first.kind !== 'schema') throw new IpcFormatError('nested IPC stream does not start with a schema');
  const batches: DecodedBatch[] = [];
  for (;;) {
    if (r.bufferedBytes === 0) break; // tolerate a nested stream written without its EOS marker
    const f = r.read();
    if (f === null || f === undefined) throw new IpcTruncatedError('nested IPC stream is truncated');
    if (f.kind === 'eos') break;
    if (f.kind === 'badBatch') throw f.error;
    if (f.kind === 'batch') batches.push(f.batch);
  }
  return { schema: first.schema, batches };
};
