/**
 * Encapsulated Arrow IPC messages: the flatbuffer `Message` header of schema,
 * record batch and dictionary batch messages, framed with the continuation
 * marker and 8-byte padding. Record batch headers are written and read by
 * hand (they are on every call's hot path); schema headers go through
 * arrow-js once and are cached by the callers.
 */
import { Builder } from 'flatbuffers';
import { Schema } from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import type { FieldNode } from './body-layout.js';
import { IpcFormatError } from './errors.js';
import { CONTINUATION, METADATA_V5, MessageHeaderType, align8 } from './format.js';
import * as fb from './flatbuffer-read.js';

/** Custom metadata attached to a batch: UTF-8 key/value pairs, in order. */
export type BatchMetadata = ReadonlyMap<string, string>;

/** Header of a record batch message, as read from the wire. */
export interface RecordBatchHeader {
  readonly length: number;
  readonly nodes: readonly FieldNode[];
  readonly buffers: readonly (readonly [number, number])[];
}

/** A decoded message header; `body` bytes are attached by the stream reader. */
export type DecodedMessage =
  | { readonly type: 'schema'; readonly bodyLength: number; readonly metadataBytes: Uint8Array }
  | { readonly type: 'recordBatch'; readonly bodyLength: number; readonly header: RecordBatchHeader; readonly metadata: BatchMetadata | undefined; readonly badUtf8Keys: readonly string[] }
  | { readonly type: 'dictionaryBatch'; readonly bodyLength: number; readonly id: number; readonly isDelta: boolean; readonly header: RecordBatchHeader };

const compressionSlot = 3;

const readRecordBatch = (dv: DataView, table: number): RecordBatchHeader => {
  if (fb.fieldPos(dv, table, compressionSlot) !== 0) {
    throw new IpcFormatError('compressed record batch bodies are not supported (vgi-rpc writes uncompressed IPC)');
  }
  const length = fb.int64Field(dv, table, 0);
  const nodes: FieldNode[] = [];
  const nv = fb.vectorField(dv, table, 1);
  if (nv !== null) {
    const [start, count] = nv;
    for (let i = 0; i < count; i++) {
      const p = start + i * 16;
      nodes.push({ length: Number(dv.getBigInt64(p, true)), nullCount: Number(dv.getBigInt64(p + 8, true)) });
    }
  }
  const buffers: (readonly [number, number])[] = [];
  const bv = fb.vectorField(dv, table, 2);
  if (bv !== null) {
    const [start, count] = bv;
    for (let i = 0; i < count; i++) {
      const p = start + i * 16;
      buffers.push([Number(dv.getBigInt64(p, true)), Number(dv.getBigInt64(p + 8, true))]);
    }
  }
  if (length < 0) throw new IpcFormatError(`negative record batch length ${length}`);
  return { length, nodes, buffers };
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/**
 * Decode the flatbuffer `Message` header in `bytes`. Throws IpcFormatError on
 * anything malformed (including out-of-bounds offsets, caught as RangeError).
 */
export const decodeMessageHeader = (bytes: Uint8Array): DecodedMessage => {
  try {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const msg = fb.rootTable(dv, 0);
    const headerType = fb.uint8Field(dv, msg, 1);
    const bodyLength = fb.int64Field(dv, msg, 3);
    if (bodyLength < 0) throw new IpcFormatError(`negative message body length ${bodyLength}`);
    const header = fb.tableAt(dv, msg, 2);
    switch (headerType) {
      case MessageHeaderType.Schema:
        return { type: 'schema', bodyLength, metadataBytes: bytes };
      case MessageHeaderType.RecordBatch: {
        if (header === 0) throw new IpcFormatError('record batch message without a header');
        let metadata: Map<string, string> | undefined;
        const badUtf8Keys: string[] = [];
        const kv = fb.vectorField(dv, msg, 4);
        if (kv !== null && kv[1] > 0) {
          metadata = new Map();
          const [start, count] = kv;
          for (let i = 0; i < count; i++) {
            const entry = fb.deref(dv, start + i * 4);
            const kp = fb.fieldPos(dv, entry, 0);
            const vp = fb.fieldPos(dv, entry, 1);
            const key = kp === 0 ? '' : fb.stringAt(dv, kp);
            if (vp === 0) { metadata.set(key, ''); continue; }
            const raw = fb.stringBytesAt(dv, vp);
            try {
              metadata.set(key, utf8.decode(raw));
            } catch {
              badUtf8Keys.push(key);
              metadata.set(key, utf8Lenient.decode(raw));
            }
          }
        }
        return { type: 'recordBatch', bodyLength, header: readRecordBatch(dv, header), metadata, badUtf8Keys };
      }
      case MessageHeaderType.DictionaryBatch: {
        if (header === 0) throw new IpcFormatError('dictionary batch message without a header');
        const id = fb.int64Field(dv, header, 0);
        const data = fb.tableAt(dv, header, 1);
        if (data === 0) throw new IpcFormatError('dictionary batch without data');
        const isDelta = fb.uint8Field(dv, header, 2) !== 0;
        return { type: 'dictionaryBatch', bodyLength, id, isDelta, header: readRecordBatch(dv, data) };
      }
      default:
        throw new IpcFormatError(`unsupported IPC message type ${headerType}`);
    }
  } catch (e) {
    if (e instanceof IpcFormatError) throw e;
    throw new IpcFormatError(`corrupt IPC message header: ${(e as Error).message}`);
  }
};

/** Decode the schema carried by a schema message header. */
export const decodeSchema = (metadataBytes: Uint8Array): Schema => {
  try {
    const msg = Message.decode(metadataBytes);
    if (!msg.isSchema()) throw new IpcFormatError('expected a schema message');
    return msg.header() as Schema;
  } catch (e) {
    if (e instanceof IpcFormatError) throw e;
    throw new IpcFormatError(`corrupt schema message: ${(e as Error).message}`);
  }
};

/** Frame flatbuffer header bytes as an encapsulated message prefix (continuation, length, padding). */
export const frameHeader = (flatbuffer: Uint8Array): Uint8Array => {
  const padded = align8(flatbuffer.byteLength + 8) - 8;
  const out = new Uint8Array(8 + padded);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CONTINUATION, true);
  dv.setInt32(4, padded, true);
  out.set(flatbuffer, 8);
  return out;
};

/** The complete encapsulated schema message for `schema` (no body). */
export const encodeSchemaMessage = (schema: Schema): Uint8Array =>
  frameHeader(Message.encode(Message.from(schema)));

const builder = new Builder(1024);

const writeRecordBatchTable = (b: Builder, length: number, nodes: readonly FieldNode[], bufferLayout: readonly (readonly [number, number])[]): number => {
  b.startVector(16, bufferLayout.length, 8);
  for (let i = bufferLayout.length - 1; i >= 0; i--) {
    const [off, len] = bufferLayout[i]!;
    b.prep(8, 16);
    b.writeInt64(BigInt(len));
    b.writeInt64(BigInt(off));
  }
  const buffersVec = b.endVector();
  b.startVector(16, nodes.length, 8);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    b.prep(8, 16);
    b.writeInt64(BigInt(n.nullCount));
    b.writeInt64(BigInt(n.length));
  }
  const nodesVec = b.endVector();
  b.startObject(5);
  b.addFieldInt64(0, BigInt(length), BigInt(0));
  b.addFieldOffset(1, nodesVec, 0);
  b.addFieldOffset(2, buffersVec, 0);
  return b.endObject();
};

const writeMessage = (b: Builder, headerType: number, header: number, bodyLength: number, metadata: BatchMetadata | undefined): Uint8Array => {
  let kvVec = 0;
  if (metadata !== undefined && metadata.size > 0) {
    const entries: number[] = [];
    for (const [k, v] of metadata) {
      const ko = b.createString(k);
      const vo = b.createString(v);
      b.startObject(2);
      b.addFieldOffset(0, ko, 0);
      b.addFieldOffset(1, vo, 0);
      entries.push(b.endObject());
    }
    b.startVector(4, entries.length, 4);
    for (let i = entries.length - 1; i >= 0; i--) b.addOffset(entries[i]!);
    kvVec = b.endVector();
  }
  b.startObject(5);
  b.addFieldInt64(3, BigInt(bodyLength), BigInt(0));
  if (kvVec !== 0) b.addFieldOffset(4, kvVec, 0);
  b.addFieldOffset(2, header, 0);
  b.addFieldInt16(0, METADATA_V5, 0);
  b.addFieldInt8(1, headerType, 0);
  const msg = b.endObject();
  b.finish(msg);
  return frameHeader(b.asUint8Array());
};

/** Buffer placement inside a body: offsets aligned to 8 and the total padded length. */
export const layoutBuffers = (buffers: readonly Uint8Array[]): { layout: (readonly [number, number])[]; bodyLength: number } => {
  const layout: (readonly [number, number])[] = [];
  let pos = 0;
  for (const buf of buffers) {
    layout.push([pos, buf.byteLength]);
    pos += align8(buf.byteLength);
  }
  return { layout, bodyLength: pos };
};

const HEADER_CACHE_MAX = 4096;

/** Cached headers of one metadata object: by shape key, plus the last one used (checked first, without building a key). */
interface HeaderCache {
  readonly byShape: Map<string, Uint8Array>;
  last: { readonly length: number; readonly nodes: readonly FieldNode[]; readonly layout: readonly (readonly [number, number])[]; readonly bytes: Uint8Array } | undefined;
}

const headerCache = new WeakMap<object, HeaderCache>();
const NO_METADATA = {};

/** The last few metadata objects encoded without a cache entry: one seen again gets an entry. */
const recentOwners: object[] = [];
const RECENT_OWNERS = 8;
let recentAt = 0;

/** Whether `owner` was encoded lately (and remember it otherwise). The batch without metadata always counts as seen. */
const seenBefore = (owner: object): boolean => {
  if (owner === NO_METADATA || recentOwners.includes(owner)) return true;
  if (recentOwners.length < RECENT_OWNERS) recentOwners.push(owner);
  else {
    recentOwners[recentAt] = owner;
    recentAt = (recentAt + 1) % RECENT_OWNERS;
  }
  return false;
};

const sameShape = (
  a: { readonly length: number; readonly nodes: readonly FieldNode[]; readonly layout: readonly (readonly [number, number])[] },
  length: number,
  nodes: readonly FieldNode[],
  layout: readonly (readonly [number, number])[],
): boolean => {
  if (a.length !== length || a.nodes.length !== nodes.length || a.layout.length !== layout.length) return false;
  for (let i = 0; i < nodes.length; i++) if (a.nodes[i]!.length !== nodes[i]!.length || a.nodes[i]!.nullCount !== nodes[i]!.nullCount) return false;
  for (let i = 0; i < layout.length; i++) if (a.layout[i]![0] !== layout[i]![0] || a.layout[i]![1] !== layout[i]![1]) return false;
  return true;
};

const shapeKey = (length: number, nodes: readonly FieldNode[], layout: readonly (readonly [number, number])[]): string => {
  let key = `${length}`;
  for (const n of nodes) key += `;${n.length},${n.nullCount}`;
  key += '|';
  for (const [off, len] of layout) key += `${off},${len};`;
  return key;
};

/** A record batch message header, encoded afresh. */
const writeRecordBatchHeader = (
  length: number,
  nodes: readonly FieldNode[],
  layout: readonly (readonly [number, number])[],
  bodyLength: number,
  metadata: BatchMetadata | undefined,
): Uint8Array => {
  builder.clear();
  return writeMessage(builder, MessageHeaderType.RecordBatch, writeRecordBatchTable(builder, length, nodes, layout), bodyLength, metadata);
};

/**
 * Encapsulated record batch message header (everything before the body).
 * Headers are cached per metadata object and batch shape: a request or
 * result of fixed-width columns reuses its header bytes call after call.
 * Callers must not mutate a metadata Map after passing it here.
 */
export const encodeRecordBatchHeader = (
  length: number,
  nodes: readonly FieldNode[],
  layout: readonly (readonly [number, number])[],
  bodyLength: number,
  metadata: BatchMetadata | undefined,
): Uint8Array => {
  const owner = metadata ?? NO_METADATA;
  let cache = headerCache.get(owner);
  // A metadata object seen for the first time (most are used once: a stream turn's tokens, a call's
  // request id) is not cached: an entry would outlive the call in the weak map and cost the collector.
  if (cache === undefined && !seenBefore(owner)) return writeRecordBatchHeader(length, nodes, layout, bodyLength, metadata);
  const last = cache?.last;
  if (last !== undefined && sameShape(last, length, nodes, layout)) return last.bytes;
  const key = shapeKey(length, nodes, layout);
  let bytes = cache?.byShape.get(key);
  if (bytes === undefined) {
    bytes = writeRecordBatchHeader(length, nodes, layout, bodyLength, metadata);
    if (cache === undefined) {
      cache = { byShape: new Map(), last: undefined };
      headerCache.set(owner, cache);
    }
    if (cache.byShape.size >= HEADER_CACHE_MAX) cache.byShape.clear();
    cache.byShape.set(key, bytes);
  }
  cache!.last = { length, nodes, layout, bytes };
  return bytes;
};

/** Encapsulated dictionary batch message header (everything before the body). */
export const encodeDictionaryBatchHeader = (
  id: number,
  length: number,
  nodes: readonly FieldNode[],
  layout: readonly (readonly [number, number])[],
  bodyLength: number,
): Uint8Array => {
  builder.clear();
  const rb = writeRecordBatchTable(builder, length, nodes, layout);
  builder.startObject(3);
  builder.addFieldInt64(0, BigInt(id), BigInt(0));
  builder.addFieldOffset(1, rb, 0);
  const dict = builder.endObject();
  return writeMessage(builder, MessageHeaderType.DictionaryBatch, dict, bodyLength, undefined);
};
