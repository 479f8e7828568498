/**
 * Canonical type tokens of the protocol hash (protocol-delta §3.5): a
 * lowercase, library-independent spelling of every Arrow type. Unknown types
 * raise; the Arrow library's own toString is never used.
 */
import { type DataType, type Field, Type } from 'apache-arrow';

const unitName = (unit: number, kind: 'time' | 'ts'): string => {
  const names = ['s', 'ms', 'us', 'ns'];
  const n = names[unit];
  if (n === undefined) throw new TypeError(`unknown ${kind} unit ${unit}`);
  return n;
};

const child = (f: Field, name?: string): string => `${name ?? f.name}${f.nullable ? '?' : ''}:${typeToken(f.type)}`;

/** The canonical token of an Arrow type. */
export const typeToken = (t: DataType): string => {
  const a = t as unknown as Record<string, unknown>;
  switch (t.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return `${a.isSigned ? 'int' : 'uint'}${a.bitWidth as number}`;
    case Type.Float: {
      const p = a.precision as number;
      return p === 0 ? 'float16' : p === 1 ? 'float32' : 'float64';
    }
    case Type.Utf8: return 'utf8';
    case Type.LargeUtf8: return 'large_utf8';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.FixedSizeBinary: return `fixed_size_binary(${a.byteWidth as number})`;
    case Type.Date: return (a.unit as number) === 0 ? 'date32' : 'date64';
    case Type.Time: return `${(a.bitWidth as number) === 32 ? 'time32' : 'time64'}(${unitName(a.unit as number, 'time')})`;
    case Type.Timestamp: {
      const tz = a.timezone as string | null | undefined;
      return `timestamp(${unitName(a.unit as number, 'ts')}${tz ? `,tz=${tz}` : ''})`;
    }
    case Type.Duration: return `duration(${unitName(a.unit as number, 'ts')})`;
    case Type.Decimal: return `decimal${a.bitWidth as number}(${a.precision as number},${a.scale as number})`;
    case Type.List: return `list<${child(t.children[0]!, 'item')}>`;
    case Type.LargeList: return `large_list<${child(t.children[0]!, 'item')}>`;
    case Type.FixedSizeList: return `fixed_size_list(${a.listSize as number})<${child(t.children[0]!, 'item')}>`;
    case Type.Map: {
      const entries = t.children[0]!.type;
      const [k, v] = entries.children;
      return `map<${child(k!, 'key')},${child(v!, 'value')}>${a.keysSorted ? ',keys_sorted' : ''}`;
    }
    case Type.Struct: return `struct<${t.children.map((f) => child(f)).join(',')}>`;
    case Type.Dictionary: {
      const d = t as unknown as { indices: DataType; dictionary: DataType; isOrdered: boolean };
      return `dictionary<index:${typeToken(d.indices)},value:${typeToken(d.dictionary)}>${d.isOrdered ? ',ordered' : ''}`;
    }
    case Type.Union: {
      const mode = (a.mode as number) === 1 ? 'dense_union' : 'sparse_union';
      const ids = a.typeIds as ArrayLike<number>;
      return `${mode}<${t.children.map((f, i) => `${ids[i]}=${child(f)}`).join(',')}>`;
    }
    default:
      throw new TypeError(`no canonical type token for Arrow type ${String(t)}`);
  }
};
