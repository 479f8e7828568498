/**
 * Pointer batches of the reference's shared-memory side channel
 * (vgi_rpc/shm.py): a large data batch is written into the client-owned
 * segment as a whole IPC stream and replaced on the byte stream by a 0-row
 * batch on the same schema whose metadata adds `vgi_rpc.shm_offset` and
 * `vgi_rpc.shm_length` (decimal strings). The reader resolves it back from
 * the segment, drops both keys, adds `vgi_rpc.shm_source`, and the consumer
 * frees the region once it has used it.
 *
 * Layout of a region, as the reference writes it: for a schema without a
 * top-level dictionary field, a full stream (schema, batch, EOS) in an
 * allocation of the batch message's size + 4096; with one, only the
 * dictionary and batch messages (schema and EOS stripped), in an allocation
 * of exactly their size, and the reader rebuilds the stream around them
 * with the pointer's own schema.
 *
 * By default resolved bytes are copied out of the segment before they are
 * decoded, so nothing decoded ever points into memory the peer may reuse.
 * A reader that can bound how long the batch is used resolves without the
 * copy (`copy: false`): the batch's columns are then views over the region,
 * valid only until the region is freed.
 */
import { DataType, type Data, type Schema } from 'apache-arrow';
import type { AssembleContext } from './body-layout.js';
import { StreamEncoder, schemaMessage } from './batch-encoder.js';
import { EOS_BYTES } from './format.js';
import type { BatchMetadata } from './message-codec.js';
import { Keys } from './metadata-keys.js';
import { type AllocatorOptions, SHM_HEADER_SIZE, type SegmentBytes, SegmentAllocator, ShmSegmentError } from './shm-segment.js';
import { type DecodedBatch, DecodedBatch as Batch, decodeOneStream } from './stream-reader.js';
import { NodeBuffer } from './node-buffer.js';

/** Smallest batch body (bytes) written to the segment on POSIX, as the reference's default. */
export const SHM_DEFAULT_MIN_BATCH_BYTES = 128 * 1024;

/** Extra bytes reserved beyond the batch message for the stream's schema message and EOS. */
export const SHM_STREAM_OVERHEAD = 4096;

/**
 * The threshold from a `VGI_RPC_SHM_MIN_BATCH_BYTES` value: an integer
 * overrides the default; empty, absent or malformed keeps the default.
 */
export const parseMinBatchBytes = (raw: string | undefined): number => {
  if (raw === undefined || raw === '') return SHM_DEFAULT_MIN_BATCH_BYTES;
  const t = raw.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : SHM_DEFAULT_MIN_BATCH_BYTES;
};

/** True when a batch is an SHM pointer: no rows, `vgi_rpc.shm_offset`, and no `vgi_rpc.log_level`. */
export const isShmPointer = (numRows: number, metadata: BatchMetadata | undefined): boolean =>
  numRows === 0 && metadata !== undefined && metadata.has(Keys.shmOffset) && !metadata.has(Keys.logLevel);

/** True when some top-level field of `schema` is dictionary-encoded (the reference's test, top level only). */
export const hasDictionaryColumns = (schema: Schema): boolean => schema.fields.some((f) => DataType.isDictionary(f.type));

/** The pointer batch metadata: the batch's own metadata, then the offset and length. */
export const pointerMetadata = (metadata: BatchMetadata | undefined, offset: number, length: number): Map<string, string> => {
  const md = new Map(metadata ?? []);
  md.set(Keys.shmOffset, String(offset));
  md.set(Keys.shmLength, String(length));
  return md;
};

/** Sum of a batch's body buffers, the reference's `RecordBatch.nbytes`. */
export const bodyBytes = (ctx: AssembleContext): number => {
  let n = 0;
  for (const b of ctx.buffers) n += b.byteLength;
  return n;
};

const chunksLength = (chunks: readonly Uint8Array[]): number => {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
};


/**
 * A private copy of a region. Under Node the copy goes into an unzeroed
 * allocation (every byte is overwritten at once), as a large body read from
 * a socket does, which skips zeroing a fresh 1 MiB buffer per batch.
 */
const copyOut = (region: Uint8Array): Uint8Array => {
  if (NodeBuffer === undefined) return region.slice();
  const b = NodeBuffer.allocUnsafeSlow(region.byteLength);
  b.set(region);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

const DECIMAL = /^\d+$/;

const decimal = (md: BatchMetadata, key: string): number => {
  const raw = md.get(key);
  const n = raw !== undefined && DECIMAL.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw new ShmSegmentError('badPointer', `shared-memory pointer has ${raw === undefined ? `no ${key}` : `a malformed ${key} ${JSON.stringify(raw)}`}`);
  return n;
};

/** A batch read back from the segment, and how to give its region back. */
export interface ResolvedPointer {
  /** The batch with the pointer's metadata minus the offset and length, plus `vgi_rpc.shm_source`. */
  readonly batch: DecodedBatch;
  /** Bytes the region holds (its `vgi_rpc.shm_length`). */
  readonly length: number;
  /** Free the region (once; later calls do nothing). */
  readonly release: () => void;
}

/**
 * One peer's use of a segment: write large batches into it, resolve
 * pointers out of it, free regions. Validates the header on construction.
 */
export class ShmChannel {
  /** The allocator over the segment's header. */
  readonly allocator: SegmentAllocator;
  /** Pointer batches this side wrote and resolved (what tests and benchmarks check actually travelled through the segment). */
  readonly counts = { written: 0, resolved: 0 };

  /** Use `segment`; batches with bodies under `minBatchBytes` stay inline. */
  constructor(readonly segment: SegmentBytes, readonly minBatchBytes: number = SHM_DEFAULT_MIN_BATCH_BYTES, options: AllocatorOptions = {}) {
    this.allocator = new SegmentAllocator(segment, options);
  }

  /** The segment's name (what `vgi_rpc.shm_source` carries). */
  get name(): string {
    return this.segment.name;
  }

  /**
   * Append a data batch of `length` rows to `out` on `enc`'s stream: as a
   * pointer when it has rows, its body is at least the threshold and the
   * segment has room; inline otherwise. Returns the region written, if any.
   */
  writeBatch(enc: StreamEncoder, out: Uint8Array[], length: number, columns: readonly Data[], metadata?: BatchMetadata): { offset: number; length: number } | undefined {
    const ctx = enc.assemble(columns);
    const region = length > 0 && bodyBytes(ctx) >= this.minBatchBytes ? this.store(enc.schema, length, ctx) : undefined;
    if (region === undefined) enc.writeAssembled(out, length, ctx, metadata);
    else {
      enc.writeEmpty(out, pointerMetadata(metadata, region.offset, region.length));
      this.counts.written++;
    }
    return region;
  }

  /** Write one assembled batch into a new region as the reference lays it out; undefined when it does not fit. */
  store(schema: Schema, length: number, ctx: AssembleContext): { offset: number; length: number } | undefined {
    const inner = new StreamEncoder(schema);
    const chunks: Uint8Array[] = [];
    const dictionaryPath = hasDictionaryColumns(inner.schema);
    if (!dictionaryPath) inner.writeSchema(chunks);
    const before = chunks.length;
    inner.writeAssembled(chunks, length, ctx);
    if (!dictionaryPath) inner.writeEos(chunks);
    const total = chunksLength(chunks);
    // The reference reserves the batch message (header and body) plus a fixed overhead for the schema
    // message and EOS; never less than what is written (a schema message larger than the overhead).
    const messages = chunksLength(chunks.slice(before, dictionaryPath ? chunks.length : chunks.length - 1));
    const reserve = dictionaryPath ? total : Math.max(messages + SHM_STREAM_OVERHEAD, total);
    const offset = this.allocator.allocate(reserve);
    if (offset === undefined) return undefined;
    const bytes = this.segment.bytes;
    let at = offset;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return { offset, length: total };
  }

  /**
   * Resolve a pointer batch (see `isShmPointer`): read its region back,
   * decoded on the schema the region carries (rebuilt from the pointer's
   * schema for dictionary batches). With `copy: false` the columns are
   * views over the segment (valid until `release`); otherwise they are
   * over a private copy. Throws ShmSegmentError when the pointer does not
   * name a readable region of this segment.
   */
  resolve(pointer: DecodedBatch, options: { readonly copy?: boolean } = {}): ResolvedPointer {
    const md = pointer.metadata;
    if (md === undefined || !isShmPointer(pointer.numRows, md)) throw new ShmSegmentError('badPointer', 'batch is not a shared-memory pointer');
    const offset = decimal(md, Keys.shmOffset);
    const length = decimal(md, Keys.shmLength);
    const size = this.segment.bytes.byteLength;
    if (offset < SHM_HEADER_SIZE || length <= 0 || offset + length > size) {
      throw new ShmSegmentError('badPointer', `shared-memory pointer [${offset}, ${offset + length}) is outside the data region [${SHM_HEADER_SIZE}, ${size}) of segment ${JSON.stringify(this.name)}`);
    }
    const region = this.segment.bytes.subarray(offset, offset + length);
    const copy = options.copy !== false;
    let stream: Uint8Array | Uint8Array[];
    if (hasDictionaryColumns(pointer.schema)) {
      // The region holds the dictionary and record batch messages only: put the stream around them.
      const head = schemaMessage(pointer.schema);
      if (copy) {
        stream = new Uint8Array(head.byteLength + length + EOS_BYTES.byteLength);
        stream.set(head, 0);
        stream.set(region, head.byteLength);
        stream.set(EOS_BYTES, head.byteLength + length);
      } else stream = [head, region, EOS_BYTES];
    } else {
      stream = copy ? copyOut(region) : region;
    }
    let decoded: DecodedBatch | undefined;
    try {
      const { batches } = decodeOneStream(stream);
      decoded = batches[0];
    } catch (e) {
      throw new ShmSegmentError('badPointer', `shared-memory region [${offset}, ${offset + length}) of segment ${JSON.stringify(this.name)} does not hold an Arrow IPC batch: ${(e as Error).message}`);
    }
    if (decoded === undefined) throw new ShmSegmentError('badPointer', `shared-memory region [${offset}, ${offset + length}) of segment ${JSON.stringify(this.name)} holds no batch`);
    const resolvedMd = new Map(md);
    resolvedMd.delete(Keys.shmOffset);
    resolvedMd.delete(Keys.shmLength);
    resolvedMd.set(Keys.shmSource, this.name);
    let released = false;
    this.counts.resolved++;
    return {
      batch: new Batch(decoded.schema, decoded.numRows, decoded.columns, resolvedMd, pointer.badUtf8Keys),
      length,
      release: () => {
        if (released) return;
        released = true;
        this.allocator.free(offset);
      },
    };
  }

  /** Free the region at `offset`. */
  free(offset: number): void {
    this.allocator.free(offset);
  }
}
