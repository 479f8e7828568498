/**
 * Arrow buffer layout of a record batch body: the depth-first walk that turns
 * arrow-js `Data` trees into (field node, buffer) lists and back. Both
 * directions are zero-copy where alignment allows.
 */
import { Data, DataType, Type, type Vector, makeVector } from 'apache-arrow';
import { IpcFormatError } from './errors.js';

/** One `FieldNode` of a record batch header. */
export interface FieldNode {
  readonly length: number;
  readonly nullCount: number;
}

const EMPTY = new Uint8Array(0);

type TypedCtor =
  | Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor
  | Int32ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

// ---------------------------------------------------------------- decoding

/** Cursor over the nodes and buffers of one record batch while its columns are loaded. */
export interface LoadContext {
  readonly nodes: readonly FieldNode[];
  readonly buffers: readonly (readonly [number, number])[];
  readonly body: Uint8Array;
  readonly dictionaries: ReadonlyMap<number, Vector>;
  node: number;
  buffer: number;
}

const nextNode = (ctx: LoadContext): FieldNode => {
  const n = ctx.nodes[ctx.node++];
  if (n === undefined) throw new IpcFormatError('record batch has fewer field nodes than its schema needs');
  if (n.length < 0 || n.nullCount < 0 || n.nullCount > n.length) {
    throw new IpcFormatError(`invalid field node (length ${n.length}, null_count ${n.nullCount})`);
  }
  return n;
};

const nextBytes = (ctx: LoadContext): Uint8Array => {
  const b = ctx.buffers[ctx.buffer++];
  if (b === undefined) throw new IpcFormatError('record batch has fewer buffers than its schema needs');
  const [off, len] = b;
  if (off < 0 || len < 0 || off + len > ctx.body.byteLength) {
    throw new IpcFormatError(`buffer [${off}, ${off + len}) lies outside the ${ctx.body.byteLength}-byte body`);
  }
  return ctx.body.subarray(off, off + len);
};

const typed = <C extends TypedCtor>(ctor: C, bytes: Uint8Array, minElements: number): InstanceType<C> => {
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength < minElements * size) {
    throw new IpcFormatError(`buffer of ${bytes.byteLength} bytes is too short for ${minElements} values`);
  }
  const count = Math.floor(bytes.byteLength / size);
  // Uint8Array.prototype.slice copies even when `bytes` is a Buffer (whose own slice is a view).
  const src = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  return new ctor(src.buffer as ArrayBuffer, src.byteOffset, count) as InstanceType<C>;
};

const validity = (ctx: LoadContext, node: FieldNode): Uint8Array => {
  const bytes = nextBytes(ctx);
  if (node.nullCount === 0) return EMPTY;
  if (bytes.byteLength < (node.length + 7) >> 3) throw new IpcFormatError('validity bitmap is too short');
  return bytes;
};

const checkOffsets = (offsets: Int32Array | BigInt64Array, length: number, limit: number): void => {
  if (length === 0) return;
  const first = Number(offsets[0]);
  const last = Number(offsets[length]);
  if (first < 0 || last < first || last > limit) {
    throw new IpcFormatError(`offsets [${first}, ${last}] are out of range (limit ${limit})`);
  }
};

/** Load one column (and its children) from the body, consuming nodes and buffers in order. */
export const loadData = (type: DataType, ctx: LoadContext): Data => {
  const node = nextNode(ctx);
  const { length, nullCount } = node;
  switch (type.typeId) {
    case Type.Null:
      return new Data(type, 0, length, length);
    case Type.Bool: {
      const v = validity(ctx, node);
      const values = nextBytes(ctx);
      if (values.byteLength < (length + 7) >> 3) throw new IpcFormatError('boolean buffer is too short');
      return new Data(type, 0, length, nullCount, [undefined, values, v] as never);
    }
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp:
    case Type.Duration: case Type.Decimal: case Type.Interval: {
      const v = validity(ctx, node);
      const ctor = (type as unknown as { ArrayType: TypedCtor }).ArrayType;
      const stride = strideOf(type);
      const values = typed(ctor, nextBytes(ctx), length * stride);
      return new Data(type, 0, length, nullCount, [undefined, values, v] as never);
    }
    case Type.FixedSizeBinary: {
      const v = validity(ctx, node);
      const width = (type as unknown as { byteWidth: number }).byteWidth;
      const values = nextBytes(ctx);
      if (values.byteLength < length * width) throw new IpcFormatError('fixed_size_binary buffer is too short');
      return new Data(type, 0, length, nullCount, [undefined, values, v] as never);
    }
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
      const v = validity(ctx, node);
      const large = type.typeId === Type.LargeUtf8 || type.typeId === Type.LargeBinary;
      const offsets = large
        ? typed(BigInt64Array, nextBytes(ctx), length === 0 ? 0 : length + 1)
        : typed(Int32Array, nextBytes(ctx), length === 0 ? 0 : length + 1);
      const values = nextBytes(ctx);
      checkOffsets(offsets, length, values.byteLength);
      return new Data(type, 0, length, nullCount, [length === 0 ? new (large ? BigInt64Array : Int32Array)(1) : offsets, values, v] as never);
    }
    case Type.List: case Type.Map: case Type.LargeList: {
      const v = validity(ctx, node);
      const large = type.typeId === Type.LargeList;
      const offsets = large
        ? typed(BigInt64Array, nextBytes(ctx), length === 0 ? 0 : length + 1)
        : typed(Int32Array, nextBytes(ctx), length === 0 ? 0 : length + 1);
      const childField = type.children[0];
      if (childField === undefined) throw new IpcFormatError('list type without a child field');
      const child = loadData(childField.type, ctx);
      checkOffsets(offsets, length, child.length);
      return new Data(type, 0, length, nullCount, [length === 0 ? new (large ? BigInt64Array : Int32Array)(1) : offsets, undefined, v] as never, [child]);
    }
    case Type.FixedSizeList: {
      const v = validity(ctx, node);
      const childField = type.children[0];
      if (childField === undefined) throw new IpcFormatError('fixed_size_list type without a child field');
      const child = loadData(childField.type, ctx);
      const size = (type as unknown as { listSize: number }).listSize;
      if (child.length < length * size) throw new IpcFormatError('fixed_size_list child is too short');
      return new Data(type, 0, length, nullCount, [undefined, undefined, v] as never, [child]);
    }
    case Type.Struct: {
      const v = validity(ctx, node);
      const children = type.children.map((f) => loadData(f.type, ctx));
      for (const c of children) if (c.length < length) throw new IpcFormatError('struct child is shorter than its parent');
      return new Data(type, 0, length, nullCount, [undefined, undefined, v] as never, children);
    }
    case Type.Dictionary: {
      const v = validity(ctx, node);
      const dt = type as unknown as { id: number; indices: DataType; dictionary: DataType };
      const ctor = (dt.indices as unknown as { ArrayType: TypedCtor }).ArrayType;
      const indices = typed(ctor, nextBytes(ctx), length);
      const dictionary = ctx.dictionaries.get(dt.id);
      if (dictionary === undefined) {
        if (length === 0 || nullCount === length) return new Data(type, 0, length, nullCount, [undefined, indices, v] as never, [], makeVector(new Data(dt.dictionary, 0, 0, 0)));
        throw new IpcFormatError(`no dictionary batch was sent for dictionary id ${dt.id}`);
      }
      for (let i = 0; i < length; i++) {
        const k = Number(indices[i]);
        if ((k < 0 || k >= dictionary.length) && (nullCount === 0 || isValidBit(v, i))) {
          throw new IpcFormatError(`dictionary index ${k} out of range (${dictionary.length} entries)`);
        }
      }
      return new Data(type, 0, length, nullCount, [undefined, indices, v] as never, [], dictionary);
    }
    case Type.Union: {
      const mode = (type as unknown as { mode: number }).mode;
      const typeIds = typed(Int8Array, nextBytes(ctx), length);
      const offsets = mode === 1 ? typed(Int32Array, nextBytes(ctx), length) : undefined;
      const children = type.children.map((f) => loadData(f.type, ctx));
      return new Data(type, 0, length, nullCount, [offsets, undefined, undefined, typeIds] as never, children);
    }
    default:
      throw new IpcFormatError(`unsupported Arrow type ${String(type)}`);
  }
};

const isValidBit = (bitmap: Uint8Array, i: number): boolean => ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;

/** Number of typed-array elements per value of a fixed-width type. */
export const strideOf = (type: DataType): number => {
  switch (type.typeId) {
    case Type.Decimal: return (type as unknown as { bitWidth: number }).bitWidth / 32;
    case Type.Interval: {
      const unit = (type as unknown as { unit: number }).unit;
      return unit === 0 ? 1 : unit === 1 ? 2 : 4;
    }
    default: return 1;
  }
};

// ---------------------------------------------------------------- encoding

/** Accumulates the nodes and buffers of one record batch body while columns are assembled. */
export interface AssembleContext {
  readonly nodes: FieldNode[];
  readonly buffers: Uint8Array[];
  /** Dictionaries met while assembling (created on the first one). */
  dictionaries: Map<number, Vector> | undefined;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const sliceBitmap = (bitmap: Uint8Array, offset: number, length: number): Uint8Array => {
  if ((offset & 7) === 0) return bitmap.subarray(offset >> 3, (offset + length + 7) >> 3);
  const out = new Uint8Array((length + 7) >> 3);
  for (let i = 0; i < length; i++) {
    const j = offset + i;
    if (((bitmap[j >> 3] ?? 0) >> (j & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
};

const pushValidity = (ctx: AssembleContext, data: Data): void => {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (data.nullCount <= 0 || bitmap === undefined || bitmap.byteLength === 0) ctx.buffers.push(EMPTY);
  else ctx.buffers.push(sliceBitmap(bitmap, data.offset, data.length));
};

const rebaseOffsets = (offsets: Int32Array | BigInt64Array, length: number): [Uint8Array, number, number] => {
  const slice = offsets.subarray(0, length + 1);
  const first = Number(slice[0] ?? 0);
  const last = Number(slice[length] ?? first);
  if (first === 0) return [bytesOf(slice), first, last];
  if (slice instanceof BigInt64Array) {
    const out = new BigInt64Array(length + 1);
    const f = BigInt(first);
    for (let i = 0; i <= length; i++) out[i] = slice[i]! - f;
    return [bytesOf(out), first, last];
  }
  const out = new Int32Array(length + 1);
  for (let i = 0; i <= length; i++) out[i] = slice[i]! - first;
  return [bytesOf(out), first, last];
};

/**
 * Append one column (and its children) to the body being assembled. Follows
 * arrow-js slicing semantics: values, offsets and type ids are already sliced
 * to the column, while validity and boolean bitmaps are indexed from `offset`.
 * `declared` is the schema's type for the column: dictionary ids come from
 * it, so a column built elsewhere still lands on its schema's dictionary.
 */
export const assembleData = (data: Data, ctx: AssembleContext, declared: DataType = data.type): void => {
  const { offset, length } = data;
  const type = declared;
  ctx.nodes.push({ length, nullCount: Math.max(0, data.nullCount) });
  switch (type.typeId) {
    case Type.Null:
      return;
    case Type.Bool:
      pushValidity(ctx, data);
      ctx.buffers.push(length === 0 ? EMPTY : sliceBitmap(data.values as Uint8Array, offset, length));
      return;
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp:
    case Type.Duration: case Type.Decimal: case Type.Interval: case Type.FixedSizeBinary:
    case Type.Dictionary: {
      pushValidity(ctx, data);
      const values = data.values as (ArrayBufferView & { readonly BYTES_PER_ELEMENT: number }) | undefined;
      // The first `length` values (already sliced to the column), as bytes: one view, no intermediate subarray.
      ctx.buffers.push(values === undefined ? EMPTY : new Uint8Array(values.buffer, values.byteOffset, Math.min(values.byteLength, length * data.stride * values.BYTES_PER_ELEMENT)));
      if (type.typeId === Type.Dictionary && data.dictionary !== undefined) {
        (ctx.dictionaries ??= new Map()).set((type as unknown as { id: number }).id, data.dictionary);
      }
      return;
    }
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
      pushValidity(ctx, data);
      const offsets = data.valueOffsets as Int32Array | BigInt64Array | undefined;
      if (offsets === undefined || length === 0) {
        ctx.buffers.push(EMPTY, EMPTY);
        return;
      }
      const [off, first, last] = rebaseOffsets(offsets, length);
      ctx.buffers.push(off, (data.values as Uint8Array).subarray(first, last));
      return;
    }
    case Type.List: case Type.Map: case Type.LargeList: {
      pushValidity(ctx, data);
      const child = data.children[0]!;
      const offsets = data.valueOffsets as Int32Array | BigInt64Array | undefined;
      if (offsets === undefined || length === 0) {
        ctx.buffers.push(EMPTY);
        assembleData(child.slice(0, 0), ctx, type.children[0]?.type);
        return;
      }
      const [off, first, last] = rebaseOffsets(offsets, length);
      ctx.buffers.push(off);
      assembleData(first === 0 && last === child.length ? child : child.slice(first, last - first), ctx, type.children[0]?.type);
      return;
    }
    case Type.FixedSizeList: case Type.Struct:
      pushValidity(ctx, data);
      data.children.forEach((child, i) => assembleData(child, ctx, type.children[i]?.type));
      return;
    case Type.Union: {
      const mode = (type as unknown as { mode: number }).mode;
      ctx.buffers.push(bytesOf((data.typeIds as Int8Array).subarray(0, length)));
      if (mode === 1) ctx.buffers.push(bytesOf((data.valueOffsets as Int32Array).subarray(0, length)));
      data.children.forEach((child, i) => assembleData(child, ctx, type.children[i]?.type));
      return;
    }
    default:
      throw new TypeError(`unsupported Arrow type ${String(type)}`);
  }
};
