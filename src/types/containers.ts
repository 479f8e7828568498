/**
 * Container value types: optional (nullable), list, map, enums carried as
 * dictionary(int16, utf8) by member name, and dictionary-encoded strings.
 */
import * as A from 'apache-arrow';
import { type ValueType, badValue, isValid, makeColumn, nestedOf, validityOf } from './value-type.js';
import { utf8 } from './scalars.js';

/** Nullable wrapper: `null` (or `undefined` when encoding) becomes an Arrow null. */
export const optional = <V>(inner: ValueType<V>): ValueType<V | null> => {
  const base = inner as ValueType<V | null>;
  return {
    label: `optional<${inner.label}>`,
    arrowType: inner.arrowType,
    nullable: true,
    encode: (values) => base.encode(values),
    decode: (data, i) => (isValid(data, i) ? inner.decode(data, i) : null),
    nested: () => optional(nestedOf(inner)),
  };
};

/** list<item?: T>: a JS array. Elements use the nested form of T (records become structs). */
export const list = <V>(item: ValueType<V>, options: { itemNullable?: boolean } = {}): ValueType<V[]> => {
  const child = nestedOf(item);
  const arrowType = new A.List(new A.Field('item', child.arrowType, options.itemNullable ?? true));
  const label = `list<${child.label}>`;
  return {
    label,
    arrowType,
    nullable: false,
    encode(values) {
      const offsets = new Int32Array(values.length + 1);
      const flat: V[] = [];
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as unknown;
        if (v !== null && v !== undefined) {
          if (!Array.isArray(v) && !(v instanceof Set)) badValue(label, v);
          for (const x of v as Iterable<V>) flat.push(x);
        }
        offsets[i + 1] = flat.length;
      }
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(arrowType, values.length, nullCount, bitmap, undefined, offsets, [child.encode(flat)]);
    },
    decode(data, i) {
      const offsets = data.valueOffsets as Int32Array;
      const c = data.children[0]!;
      const out: V[] = [];
      // A null item decodes as null (the item field is nullable unless declared otherwise).
      for (let j = offsets[i]!; j < offsets[i + 1]!; j++) out.push(isValid(c, j) ? child.decode(c, j) : (null as V));
      return out;
    },
  };
};

/** map<key: K, value?: V>: a JS Map. */
export const map = <K, V>(key: ValueType<K>, value: ValueType<V>, options: { keysSorted?: boolean; valueNullable?: boolean } = {}): ValueType<Map<K, V>> => {
  const k = nestedOf(key);
  const v = nestedOf(value);
  const entries = new A.Struct([new A.Field('key', k.arrowType, false), new A.Field('value', v.arrowType, options.valueNullable ?? true)]);
  const arrowType = new A.Map_(new A.Field('entries', entries, false), options.keysSorted ?? false);
  const label = `map<${k.label},${v.label}>`;
  return {
    label,
    arrowType,
    nullable: false,
    encode(values) {
      const offsets = new Int32Array(values.length + 1);
      const keys: K[] = [];
      const vals: V[] = [];
      for (let i = 0; i < values.length; i++) {
        const m = values[i] as unknown;
        if (m !== null && m !== undefined) {
          const it = m instanceof Map ? m.entries() : typeof m === 'object' ? Object.entries(m as object) : badValue(label, m);
          for (const [kk, vv] of it as Iterable<[K, V]>) {
            keys.push(kk);
            vals.push(vv);
          }
        }
        offsets[i + 1] = keys.length;
      }
      const struct = makeColumn(entries, keys.length, 0, undefined, undefined, undefined, [k.encode(keys), v.encode(vals)]);
      const { bitmap, nullCount } = validityOf(values);
      return makeColumn(arrowType, values.length, nullCount, bitmap, undefined, offsets, [struct]);
    },
    decode(data, i) {
      const offsets = data.valueOffsets as Int32Array;
      const struct = data.children[0]!;
      const kc = struct.children[0]!;
      const vc = struct.children[1]!;
      const out = new Map<K, V>();
      for (let j = offsets[i]!; j < offsets[i + 1]!; j++) out.set(k.decode(kc, j), isValid(vc, j) ? v.decode(vc, j) : (null as V));
      return out;
    },
  };
};

const dictionaryCache = new Map<string, A.Vector>();

const dictionaryVector = (members: readonly string[]): A.Vector => {
  const key = JSON.stringify(members);
  let v = dictionaryCache.get(key);
  if (v === undefined) {
    v = A.makeVector(utf8.encode(members));
    dictionaryCache.set(key, v);
  }
  return v;
};

/**
 * Enum carried as dictionary(int16, utf8) holding the member NAME. The
 * dictionary is the full member list, so indices are stable across batches.
 */
export const enumOf = <const M extends string>(name: string, members: readonly M[]): ValueType<M> & { readonly members: readonly M[]; readonly enumName: string } => {
  const arrowType = new A.Dictionary(new A.Utf8(), new A.Int16(), null, false);
  const index = new Map<string, number>(members.map((m, i) => [m, i]));
  const label = `enum ${name}{${members.join(',')}}`;
  const dictionary = dictionaryVector(members);
  return {
    label,
    enumName: name,
    members,
    arrowType,
    nullable: false,
    encode(values) {
      const idx = new Int16Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as unknown;
        if (v === null || v === undefined) continue;
        const k = typeof v === 'string' ? index.get(v) : undefined;
        if (k === undefined) badValue(label, v);
        idx[i] = k!;
      }
      const { bitmap, nullCount } = validityOf(values);
      return new A.Data(arrowType, 0, values.length, nullCount, [undefined, idx, bitmap] as never, [], dictionary);
    },
    decode(data, i) {
      const k = Number((data.values as ArrayLike<number | bigint>)[i]);
      const name = data.dictionary?.get(k) as string | null | undefined;
      if (typeof name !== 'string' || !index.has(name)) {
        throw new TypeError(`'${String(name)}' is not a member of enum ${name === undefined ? label : label}`);
      }
      return name as M;
    },
  };
};

/** A string column dictionary-encoded as dictionary(int16, utf8); the dictionary is built per column. */
export const dictionaryString: ValueType<string> = {
  label: 'dictionary<int16,utf8>',
  arrowType: new A.Dictionary(new A.Utf8(), new A.Int16(), null, false),
  nullable: false,
  encode(values) {
    const seen = new Map<string, number>();
    const idx = new Int16Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as unknown;
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string') badValue('dictionary string', v);
      let k = seen.get(v as string);
      if (k === undefined) {
        k = seen.size;
        if (k > 32767) throw new RangeError('dictionary string column has more than 32768 distinct values');
        seen.set(v as string, k);
      }
      idx[i] = k;
    }
    const { bitmap, nullCount } = validityOf(values);
    return new A.Data(this.arrowType, 0, values.length, nullCount, [undefined, idx, bitmap] as never, [], A.makeVector(utf8.encode([...seen.keys()])));
  },
  decode(data, i) {
    const k = Number((data.values as ArrayLike<number | bigint>)[i]);
    const v = data.dictionary?.get(k);
    if (typeof v !== 'string') throw new TypeError(`dictionary index ${k} has no string value`);
    return v;
  },
};

/**
 * frozenset<T>: the same Arrow type as `list(item)` (list<item?: T>), read back
 * as a JS Set. Duplicates collapse when encoding and decoding; element order
 * carries no meaning (the reference's `frozenset[T]` fields).
 */
export const frozenset = <V>(item: ValueType<V>, options: { itemNullable?: boolean } = {}): ValueType<ReadonlySet<V>> => {
  const inner = list(item, options);
  const label = `frozenset<${nestedOf(item).label}>`;
  return {
    label,
    arrowType: inner.arrowType,
    nullable: false,
    encode(values) {
      const lists = values.map((v) => {
        const s = v as unknown;
        if (s === null || s === undefined) return s as unknown as V[];
        if (!Array.isArray(s) && !(s instanceof Set)) badValue(label, s);
        return [...new Set(s as Iterable<V>)];
      });
      return inner.encode(lists);
    },
    decode: (data, i) => new Set(inner.decode(data, i)),
  };
};

/**
 * The same dictionary-encoded value type (an `enumOf(...)` or
 * `dictionaryString`) with a dictionary id of its own. Every dictionary field
 * of one schema needs a distinct id (pyarrow numbers them per field, and
 * arrow-js refuses two different dictionary types sharing an id); declare
 * each such field with its own `ownDictionary(...)` instance.
 */
export const ownDictionary = <X extends ValueType<any>>(t: X): X => {
  const d = t.arrowType;
  if (!A.DataType.isDictionary(d)) throw new TypeError(`ownDictionary: ${t.label} is not dictionary-encoded`);
  const arrowType = new A.Dictionary(d.dictionary, d.indices, null, d.isOrdered);
  return { ...t, arrowType, encode: (values: readonly unknown[]) => t.encode(values).clone(arrowType) };
};
