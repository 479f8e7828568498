/**
 * Writing Arrow IPC streams: schema messages (cached per Schema object),
 * record batches with custom metadata, dictionary batches and the EOS marker.
 * Output is a list of byte chunks that the transport writes in one go.
 */
import { Data as ArrowData, type Data, type Schema, type Vector, type RecordBatch, DataType, makeVector, vectorFromArray } from 'apache-arrow';
import { assembleData, type AssembleContext, type FieldNode } from './body-layout.js';
import { EOS_BYTES, align8 } from './format.js';
import { withDistinctDictionaryIds } from './dictionary-ids.js';
import {
  type BatchMetadata,
  encodeDictionaryBatchHeader,
  encodeRecordBatchHeader,
  encodeSchemaMessage,
  layoutBuffers,
} from './message-codec.js';

const schemaCache = new WeakMap<Schema, Uint8Array>();

/** The encapsulated schema message of `schema`, computed once per Schema object. */
export const schemaMessage = (schema: Schema): Uint8Array => {
  let bytes = schemaCache.get(schema);
  if (bytes === undefined) {
    bytes = encodeSchemaMessage(schema);
    schemaCache.set(schema, bytes);
  }
  return bytes;
};

const PAD = new Uint8Array(8);

const numberedSchemas = new WeakMap<Schema, Schema>();

const pushBody = (out: Uint8Array[], buffers: readonly Uint8Array[]): void => {
  for (const buf of buffers) {
    if (buf.byteLength > 0) out.push(buf);
    const pad = align8(buf.byteLength) - buf.byteLength;
    if (pad > 0) out.push(PAD.subarray(0, pad));
  }
};

/**
 * Writes the batches of one IPC stream. Remembers which dictionaries were
 * already sent so a dictionary batch is repeated only when it changes.
 */
export class StreamEncoder {
  private readonly sentDictionaries = new Map<number, Vector>();
  /** The schema written, with distinct dictionary ids. */
  readonly schema: Schema;

  /** Create an encoder for a stream on `schema`. */
  constructor(schema: Schema) {
    let numbered = numberedSchemas.get(schema);
    if (numbered === undefined) {
      numbered = withDistinctDictionaryIds(schema);
      numberedSchemas.set(schema, numbered);
    }
    this.schema = numbered;
  }

  /** Append the schema message. */
  writeSchema(out: Uint8Array[]): void {
    out.push(schemaMessage(this.schema));
  }

  /** Append one record batch of `length` rows built from `columns` (one Data per schema field). */
  writeColumns(out: Uint8Array[], length: number, columns: readonly Data[], metadata?: BatchMetadata): void {
    this.writeAssembled(out, length, this.assemble(columns), metadata);
  }

  /**
   * The field nodes, body buffers and dictionaries of a batch built from
   * `columns`, before anything is written: what decides where a large batch
   * goes (its body bytes) is known before it is written anywhere.
   */
  assemble(columns: readonly Data[]): AssembleContext {
    const ctx: AssembleContext = { nodes: [], buffers: [], dictionaries: undefined };
    const fields = this.schema.fields;
    if (columns.length !== fields.length) throw new TypeError(`batch has ${columns.length} columns but its schema has ${fields.length} fields`);
    for (let i = 0; i < columns.length; i++) assembleData(columns[i]!, ctx, fields[i]!.type);
    return ctx;
  }

  /** Append a batch of `length` rows already assembled by `assemble` (with the dictionaries it needs first). */
  writeAssembled(out: Uint8Array[], length: number, ctx: AssembleContext, metadata?: BatchMetadata): void {
    if (ctx.dictionaries !== undefined || this.dictionaryFields().length > 0) this.writeDictionaries(out, ctx.dictionaries ?? new Map());
    const { layout, bodyLength } = layoutBuffers(ctx.buffers);
    out.push(encodeRecordBatchHeader(length, ctx.nodes, layout, bodyLength, metadata));
    pushBody(out, ctx.buffers);
  }

  /** Append an arrow-js RecordBatch; `metadata` overrides the batch's own metadata when given. */
  writeBatch(out: Uint8Array[], batch: RecordBatch, metadata?: BatchMetadata): void {
    const md = metadata ?? (batch.metadata.size > 0 ? batch.metadata : undefined);
    this.writeColumns(out, batch.numRows, batch.data.children, md);
  }

  /** Append a zero-row batch carrying only metadata (log, error and token batches). */
  writeEmpty(out: Uint8Array[], metadata: BatchMetadata): void {
    if (this.dictionaryFields().length > 0) this.writeDictionaries(out, new Map());
    out.push(encodeRecordBatchHeader(0, this.emptyNodes(), this.emptyLayout(), 0, metadata));
  }

  /** Append the end-of-stream marker. */
  writeEos(out: Uint8Array[]): void {
    out.push(EOS_BYTES);
  }

  private emptyNodesCache: FieldNode[] | undefined;
  private emptyLayoutCache: (readonly [number, number])[] | undefined;

  private emptyNodes(): FieldNode[] {
    if (this.emptyNodesCache === undefined) this.computeEmpty();
    return this.emptyNodesCache!;
  }

  private emptyLayout(): (readonly [number, number])[] {
    if (this.emptyLayoutCache === undefined) this.computeEmpty();
    return this.emptyLayoutCache!;
  }

  private computeEmpty(): void {
    const nodes: FieldNode[] = [];
    const layout: (readonly [number, number])[] = [];
    const walk = (type: DataType): void => {
      nodes.push({ length: 0, nullCount: 0 });
      for (let i = 0; i < bufferCount(type); i++) layout.push([0, 0]);
      for (const child of type.children ?? []) walk(child.type);
    };
    for (const f of this.schema.fields) walk(f.type);
    this.emptyNodesCache = nodes;
    this.emptyLayoutCache = layout;
  }

  private dictFields: (readonly [number, DataType])[] | undefined;

  /** Dictionary ids and value types declared by the schema (readers such as pyarrow need each sent before the first batch). */
  private dictionaryFields(): readonly (readonly [number, DataType])[] {
    if (this.dictFields === undefined) {
      const found: (readonly [number, DataType])[] = [];
      const walk = (t: DataType): void => {
        if (DataType.isDictionary(t)) found.push([(t as unknown as { id: number }).id, (t as unknown as { dictionary: DataType }).dictionary]);
        for (const c of t.children ?? []) walk(c.type);
      };
      for (const f of this.schema.fields) walk(f.type);
      this.dictFields = found;
    }
    return this.dictFields;
  }

  private writeDictionaries(out: Uint8Array[], dictionaries: Map<number, Vector>): void {
    for (const [id, valueType] of this.dictionaryFields()) {
      if (!dictionaries.has(id) && !this.sentDictionaries.has(id)) dictionaries.set(id, makeVector(new ArrowData(valueType, 0, 0, 0)));
    }
    for (const [id, vector] of dictionaries) {
      if (this.sentDictionaries.get(id) === vector) continue;
      this.sentDictionaries.set(id, vector);
      const ctx: AssembleContext = { nodes: [], buffers: [], dictionaries: undefined };
      const data = vector.data.length === 1 ? vector.data[0]! : vectorFromArray([...vector], vector.type as DataType).data[0]!;
      assembleData(data, ctx);
      const { layout, bodyLength } = layoutBuffers(ctx.buffers);
      out.push(encodeDictionaryBatchHeader(id, vector.length, ctx.nodes, layout, bodyLength));
      pushBody(out, ctx.buffers);
    }
  }
}

/** Number of IPC buffers a value of `type` occupies (excluding children). */
export const bufferCount = (type: DataType): number => {
  if (DataType.isNull(type)) return 0;
  if (DataType.isUnion(type)) return (type as unknown as { mode: number }).mode === 1 ? 2 : 1;
  if (DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isLargeUtf8(type) || DataType.isLargeBinary(type)) return 3;
  if (DataType.isList(type) || DataType.isMap(type) || DataType.isLargeList(type)) return 2;
  if (DataType.isStruct(type) || DataType.isFixedSizeList(type)) return 1;
  return 2;
};

/** Concatenate byte chunks into one buffer. */
export const concatBytes = (chunks: readonly Uint8Array[]): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
};

/** Encode a complete IPC stream: schema, the given batches and EOS. */
export const encodeStream = (schema: Schema, batches: readonly RecordBatch[]): Uint8Array => {
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  for (const b of batches) enc.writeBatch(out, b);
  enc.writeEos(out);
  return concatBytes(out);
};
