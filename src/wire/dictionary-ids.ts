/**
 * Dictionary ids within one schema must be distinct per dictionary-encoded
 * field (readers key dictionaries by id). Value types carry a placeholder id;
 * schemas built from them are renumbered here, depth-first in field order,
 * as pyarrow numbers them.
 */
import { DataType, Dictionary, Field, FixedSizeList, List, Map_, Schema, Struct } from 'apache-arrow';

const renumberType = (t: DataType, next: { id: number }): DataType => {
  if (DataType.isDictionary(t)) {
    const d = t as Dictionary;
    return new Dictionary(renumberType(d.dictionary, next), d.indices, next.id++, d.isOrdered);
  }
  if (DataType.isStruct(t)) return new Struct(t.children.map((f) => renumberField(f, next)));
  if (DataType.isList(t)) return new List(renumberField(t.children[0]!, next));
  if (DataType.isFixedSizeList(t)) return new FixedSizeList((t as FixedSizeList).listSize, renumberField(t.children[0]!, next));
  if (DataType.isMap(t)) return new Map_(renumberField(t.children[0]! as Field<Struct>, next) as Field<Struct>, (t as Map_).keysSorted);
  return t;
};

const renumberField = (f: Field, next: { id: number }): Field => new Field(f.name, renumberType(f.type, next), f.nullable, f.metadata);

const hasDictionary = (t: DataType): boolean => DataType.isDictionary(t) || (t.children ?? []).some((c) => hasDictionary(c.type));

/** `schema` with its dictionary fields numbered 0, 1, 2... (returned unchanged when it has none). */
export const withDistinctDictionaryIds = (schema: Schema): Schema => {
  if (!schema.fields.some((f) => hasDictionary(f.type))) return schema;
  const next = { id: 0 };
  return new Schema(schema.fields.map((f) => renumberField(f, next)), schema.metadata);
};
