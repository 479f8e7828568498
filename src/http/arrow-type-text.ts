/**
 * Arrow types spelled the way the reference's describe page prints them:
 * pyarrow's `str(type)` (`int64`, `double`, `string`, `list<item: string>`,
 * `timestamp[us, tz=UTC]`, ...). Only for people reading a page; the
 * protocol hash has its own canonical tokens (src/types/type-tokens.ts).
 */
import { type DataType, type Field, Type } from 'apache-arrow';

const UNITS = ['s', 'ms', 'us', 'ns'] as const;

const unit = (u: unknown): string => UNITS[u as number] ?? String(u);

/** pyarrow's `str(field)` inside a nested type: `name: type`, plus ` not null` for a non-nullable child. */
const fieldText = (f: Field): string => `${f.name}: ${arrowTypeText(f.type)}${f.nullable ? '' : ' not null'}`;

/** A child's type, with its name in parentheses when it is not the standard one (as pyarrow prints maps). */
const namedChild = (f: Field, standard: string): string => `${arrowTypeText(f.type)}${f.name === standard ? '' : ` ('${f.name}')`}`;

/** The pyarrow spelling of an Arrow type. */
export const arrowTypeText = (t: DataType): string => {
  const a = t as unknown as Record<string, unknown>;
  switch (t.typeId) {
    case Type.Null: return 'null';
    case Type.Bool: return 'bool';
    case Type.Int: return `${a.isSigned ? 'int' : 'uint'}${a.bitWidth as number}`;
    case Type.Float: {
      const p = a.precision as number;
      return p === 0 ? 'halffloat' : p === 1 ? 'float' : 'double';
    }
    case Type.Utf8: return 'string';
    case Type.LargeUtf8: return 'large_string';
    case Type.Utf8View: return 'string_view';
    case Type.Binary: return 'binary';
    case Type.LargeBinary: return 'large_binary';
    case Type.BinaryView: return 'binary_view';
    case Type.FixedSizeBinary: return `fixed_size_binary[${a.byteWidth as number}]`;
    case Type.Decimal: return `decimal${a.bitWidth as number}(${a.precision as number}, ${a.scale as number})`;
    case Type.Date: return (a.unit as number) === 0 ? 'date32[day]' : 'date64[ms]';
    case Type.Time: return `${(a.bitWidth as number) === 32 ? 'time32' : 'time64'}[${unit(a.unit)}]`;
    case Type.Timestamp: {
      const tz = a.timezone as string | null | undefined;
      return `timestamp[${unit(a.unit)}${tz ? `, tz=${tz}` : ''}]`;
    }
    case Type.Duration: return `duration[${unit(a.unit)}]`;
    case Type.Interval: {
      const u = a.unit as number;
      return u === 0 ? 'month_interval' : u === 1 ? 'day_time_interval' : 'month_day_nano_interval';
    }
    case Type.List: return `list<${fieldText(t.children[0]!)}>`;
    case Type.LargeList: return `large_list<${fieldText(t.children[0]!)}>`;
    case Type.FixedSizeList: return `fixed_size_list<${fieldText(t.children[0]!)}>[${a.listSize as number}]`;
    case Type.Struct: return `struct<${t.children.map(fieldText).join(', ')}>`;
    case Type.Map: {
      const [key, value] = t.children[0]!.type.children;
      return `map<${namedChild(key!, 'key')}, ${namedChild(value!, 'value')}${a.keysSorted ? ', keys_sorted' : ''}>`;
    }
    case Type.Union: {
      const ids = a.typeIds as ArrayLike<number>;
      const mode = (a.mode as number) === 1 ? 'dense_union' : 'sparse_union';
      return `${mode}<${t.children.map((f, i) => `${fieldText(f)}=${ids[i]}`).join(', ')}>`;
    }
    case Type.Dictionary: {
      const d = t as unknown as { indices: DataType; dictionary: DataType; isOrdered: boolean };
      return `dictionary<values=${arrowTypeText(d.dictionary)}, indices=${arrowTypeText(d.indices)}, ordered=${d.isOrdered ? 1 : 0}>`;
    }
    default:
      return String(t);
  }
};
