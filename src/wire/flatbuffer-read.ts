/**
 * Minimal read-side FlatBuffers accessors over a DataView. Arrow message
 * headers are small; reading them directly avoids allocating generated
 * accessor objects on the hot path.
 */

/** Absolute position of field `slot` of the table at `table`, or 0 when absent. */
export const fieldPos = (dv: DataView, table: number, slot: number): number => {
  const vtable = table - dv.getInt32(table, true);
  const vtableSize = dv.getUint16(vtable, true);
  const entry = 4 + slot * 2;
  if (entry >= vtableSize) return 0;
  const rel = dv.getUint16(vtable + entry, true);
  return rel === 0 ? 0 : table + rel;
};

/** Follow the uoffset stored at `pos` and return the absolute position it points to. */
export const deref = (dv: DataView, pos: number): number => pos + dv.getUint32(pos, true);

/** Position of the root table of a flatbuffer that starts at `start`. */
export const rootTable = (dv: DataView, start: number): number => deref(dv, start);

/** Read a table field holding a sub-table offset; 0 when absent. */
export const tableAt = (dv: DataView, table: number, slot: number): number => {
  const p = fieldPos(dv, table, slot);
  return p === 0 ? 0 : deref(dv, p);
};

/** Read an int64 scalar field as a JS number (Arrow lengths fit in 2^53). */
export const int64Field = (dv: DataView, table: number, slot: number, dflt = 0): number => {
  const p = fieldPos(dv, table, slot);
  return p === 0 ? dflt : Number(dv.getBigInt64(p, true));
};

/** Read an int32 scalar field. */
export const int32Field = (dv: DataView, table: number, slot: number, dflt = 0): number => {
  const p = fieldPos(dv, table, slot);
  return p === 0 ? dflt : dv.getInt32(p, true);
};

/** Read an int16 scalar field. */
export const int16Field = (dv: DataView, table: number, slot: number, dflt = 0): number => {
  const p = fieldPos(dv, table, slot);
  return p === 0 ? dflt : dv.getInt16(p, true);
};

/** Read a uint8 scalar field. */
export const uint8Field = (dv: DataView, table: number, slot: number, dflt = 0): number => {
  const p = fieldPos(dv, table, slot);
  return p === 0 ? dflt : dv.getUint8(p);
};

/** Vector at a field: [position of first element, element count], or null when absent. */
export const vectorField = (dv: DataView, table: number, slot: number): readonly [number, number] | null => {
  const p = fieldPos(dv, table, slot);
  if (p === 0) return null;
  const v = deref(dv, p);
  return [v + 4, dv.getUint32(v, true)];
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode the UTF-8 string whose uoffset is stored at `pos`. Throws on invalid UTF-8. */
export const stringAt = (dv: DataView, pos: number): string => {
  const s = deref(dv, pos);
  const len = dv.getUint32(s, true);
  return utf8.decode(new Uint8Array(dv.buffer, dv.byteOffset + s + 4, len));
};

/** Raw bytes of the string whose uoffset is stored at `pos`. */
export const stringBytesAt = (dv: DataView, pos: number): Uint8Array => {
  const s = deref(dv, pos);
  const len = dv.getUint32(s, true);
  return new Uint8Array(dv.buffer, dv.byteOffset + s + 4, len);
};
