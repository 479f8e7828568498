/**
 * `build_rich_header(seed)`: the reference's deterministic RichHeader, which
 * every port must reproduce field for field. Python integer semantics are
 * kept: arbitrary-size ints (bigint here) and `%` with the divisor's sign.
 */
import type { RecordOf } from '../../src/types/record.js';
import { pyMod } from './py-format.js';
import { type Status, RichHeaderFields, STATUS_MEMBERS } from './types.js';

/** A RichHeader row. */
export type RichHeader = RecordOf<typeof RichHeaderFields>;

/** The reference's `_STATUS_CYCLE`. */
const STATUS_CYCLE: readonly Status[] = STATUS_MEMBERS;

/** Build the RichHeader for `seed` exactly as the reference does (notes §5.11). */
export const buildRichHeader = (seed: bigint): RichHeader => {
  const even = pyMod(seed, 2n) === 0n;
  const x = Number(seed);
  return {
    str_field: `seed-${seed}`,
    bytes_field: Uint8Array.of(Number(pyMod(seed, 256n)), Number(pyMod(seed + 1n, 256n)), Number(pyMod(seed + 2n, 256n))),
    int_field: seed * 7n,
    float_field: x * 1.5,
    bool_field: even,
    list_of_int: [seed, seed + 1n, seed + 2n],
    list_of_str: [`item-${seed}`, `item-${seed + 1n}`],
    dict_field: new Map([['a', seed], ['b', seed + 1n]]),
    enum_field: STATUS_CYCLE[Number(pyMod(seed, 3n))]!,
    nested_point: { x, y: Number(seed * 2n) },
    optional_str: even ? `opt-${seed}` : null,
    optional_int: pyMod(seed, 2n) === 1n ? seed * 3n : null,
    optional_nested: pyMod(seed, 3n) === 0n ? { x, y: 0 } : null,
    list_of_nested: [{ x, y: Number(seed + 1n) }],
    nested_list: [[seed, seed + 1n], [seed + 2n]],
    annotated_int32: Number(pyMod(seed, 1000n)),
    annotated_float32: Math.fround(x / 3),
    dict_str_str: new Map([['key', `val-${seed}`]]),
  };
};
