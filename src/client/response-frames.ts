/**
 * Reading a response, frame by frame, the same way on every connection
 * kind: log batches go to `onLog`, an EXCEPTION batch becomes the call's
 * error, a data batch is the answer; and a unary result is decoded from its
 * batch.
 */
import { classifyBatch } from '../wire/classify.js';
import type { DecodedBatch, Frame } from '../wire/stream-reader.js';
import type { UnaryMethod } from '../service/method.js';
import { type ValueType, isValid } from '../types/value-type.js';
import { RpcClientError, errorFromMetadata } from './client-error.js';
import { type LogHandler, logFromMetadata } from './client-log.js';
import { type RegionLease, type SegmentReader, noSegment } from './client-shm.js';

/**
 * What one non-EOS response frame means to the caller: a data batch, an
 * error (EXCEPTION batch or corrupt body), or nothing. Log batches are
 * delivered to `onLog` here; a shared-memory pointer is read back out of
 * the client's segment through `shm` (which frees its region later). With
 * `lease`, a pointer may be decoded over the segment (a zero-copy segment);
 * the batch then comes with the lease the caller must release.
 */
export const receive = (
  f: Exclude<Frame, { kind: 'eos' }>,
  onLog: LogHandler | undefined,
  shm?: SegmentReader,
  lease = false,
): { readonly data?: DecodedBatch; readonly error?: RpcClientError; readonly lease?: RegionLease } => {
  if (f.kind === 'badBatch') return { error: RpcClientError.local('ProtocolError', f.error.message) };
  if (f.kind !== 'batch') return {};
  const b = f.batch;
  switch (classifyBatch(b.numRows, b.metadata)) {
    case 'log':
      onLog?.(logFromMetadata(b.metadata!));
      return {};
    case 'error':
      return { error: errorFromMetadata(b.metadata!) };
    case 'data':
      return { data: b };
    case 'shmPointer':
      try {
        if (shm === undefined) return { error: noSegment() };
        const { batch, lease: held } = shm.resolve(b, lease);
        return held === undefined ? { data: batch } : { data: batch, lease: held };
      } catch (e) {
        return { error: e as RpcClientError };
      }
    default:
      return {};
  }
};

/** The result value of a unary method from its result batch (undefined for a void method). */
export const decodeResult = (method: UnaryMethod, b: DecodedBatch): unknown => {
  const t = method.result as ValueType<unknown> | undefined;
  if (t === undefined) return undefined;
  if (b.numRows < 1 || b.columns.length < 1) throw new TypeError('result batch has no row');
  const col = b.columns[0]!;
  if (!isValid(col, 0)) return null;
  return t.decode(col, 0);
};
