/**
 * The conformance service's value types: the Status enum, the reference's
 * dataclasses (Point, BoundingBox, AllTypes, WideTypes, ContainerWideTypes,
 * DeepNested, EmbeddedArrow, NestedContainers), the two header records and
 * the field sets of every stream input/output schema.
 *
 * Mapping rules (notes §2): list items and map values are nullable, map keys
 * are not; dataclass fields are non-null unless Optional; a dataclass nested
 * in another or in a container is a struct. Every stream schema is
 * all-nullable, because the reference builds them with `pa.field(name, type)`.
 * Every dictionary field of one schema gets its own dictionary id.
 */
import * as A from 'apache-arrow';
import { T } from '../../src/index.js';
import type { ValueType } from '../../src/types/value-type.js';

// ---------------------------------------------------------------- Status

/** Member names of the reference's `Status` enum, in declaration order (the wire carries the name). */
export const STATUS_MEMBERS = ['PENDING', 'ACTIVE', 'CLOSED'] as const;

/** A Status member name. */
export type Status = (typeof STATUS_MEMBERS)[number];

/** The Python values of the members (accepted inside dataclasses as a legacy spelling). */
export const STATUS_VALUES: Readonly<Record<Status, string>> = { PENDING: 'pending', ACTIVE: 'active', CLOSED: 'closed' };

/** True when `v` is a Status member name. */
export const isStatus = (v: unknown): v is Status => typeof v === 'string' && (STATUS_MEMBERS as readonly string[]).includes(v);

/** Status as a top-level parameter or result: dictionary<int16, utf8> by member name, strict decoding. */
export const Status = T.enumOf('Status', STATUS_MEMBERS);

const statusByValue = new Map<string, Status>(STATUS_MEMBERS.map((m) => [STATUS_VALUES[m], m]));

/**
 * Status as a dataclass field: its own dictionary id, and decoding accepts
 * the lowercase value as well as the name (the reference's legacy fallback
 * inside dataclasses), always yielding the name.
 */
export const statusField = (): ValueType<Status> => {
  const own = T.ownDictionary(Status);
  return {
    ...own,
    label: 'Status field',
    decode(data, i) {
      const raw = T.dictionaryString.decode(data, i);
      if (isStatus(raw)) return raw;
      const byValue = statusByValue.get(raw);
      if (byValue !== undefined) return byValue;
      throw new TypeError(`'${raw}' is not a valid Status`);
    },
  };
};

/**
 * A Status-typed column read as its raw string (own dictionary id). Used for
 * the container parameters whose handler validates membership itself, so a
 * bad name surfaces with the reference's own TypeError message.
 */
export const statusName = (): ValueType<string> => {
  const own = T.ownDictionary(Status) as unknown as ValueType<string>;
  return { ...own, label: 'Status name', decode: (data, i) => T.dictionaryString.decode(data, i) };
};

// ---------------------------------------------------------------- dataclasses

/** Point(x, y): both float64, non-null; `struct<x:float64,y:float64>` when nested. */
export const Point = T.record('Point', { x: T.float64, y: T.float64 });

/** BoundingBox(top_left: Point, bottom_right: Point, label: str). */
export const BoundingBox = T.record('BoundingBox', { top_left: Point, bottom_right: Point, label: T.utf8 });

/** AllTypes (18 fields; `annotated_*` come before `nested_list`). */
export const AllTypes = T.record('AllTypes', {
  str_field: T.utf8,
  bytes_field: T.binary,
  int_field: T.int64,
  float_field: T.float64,
  bool_field: T.bool,
  list_of_int: T.list(T.optional(T.int64)),
  list_of_str: T.list(T.optional(T.utf8)),
  dict_field: T.map(T.utf8, T.optional(T.int64)),
  enum_field: statusField(),
  nested_point: Point,
  optional_str: T.optional(T.utf8),
  optional_int: T.optional(T.int64),
  optional_nested: T.optional(Point),
  list_of_nested: T.list(T.optional(Point)),
  annotated_int32: T.int32,
  annotated_float32: T.float32,
  nested_list: T.list(T.optional(T.list(T.optional(T.int64)))),
  dict_str_str: T.map(T.utf8, T.optional(T.utf8)),
});

const decimal20x4 = T.decimal128(20, 4);

/** WideTypes (17 fields): Arrow widths, temporal types, decimal, large and fixed-size binaries. */
export const WideTypes = T.record('WideTypes', {
  int8_field: T.int8,
  int16_field: T.int16,
  int32_field: T.int32,
  uint8_field: T.uint8,
  uint16_field: T.uint16,
  uint32_field: T.uint32,
  uint64_field: T.uint64,
  float32_field: T.float32,
  date_field: T.date32,
  timestamp_field: T.timestampUs,
  timestamp_utc_field: T.timestampUsTz('UTC'),
  time_field: T.time64Us,
  duration_field: T.durationUs,
  decimal_field: decimal20x4,
  large_string_field: T.largeUtf8,
  large_binary_field: T.largeBinary,
  fixed_binary_field: T.fixedSizeBinary(8),
});

/** ContainerWideTypes (9 fields): wide types inside lists, maps and optionals; a frozenset; a list with null items. */
export const ContainerWideTypes = T.record('ContainerWideTypes', {
  list_decimal: T.list(T.optional(decimal20x4)),
  list_date: T.list(T.optional(T.date32)),
  list_timestamp: T.list(T.optional(T.timestampUs)),
  optional_date: T.optional(T.date32),
  optional_decimal: T.optional(decimal20x4),
  optional_timestamp: T.optional(T.timestampUs),
  dict_str_decimal: T.map(T.utf8, T.optional(decimal20x4)),
  frozenset_int: T.frozenset(T.optional(T.int64)),
  list_optional_int: T.list(T.optional(T.int64)),
});

/** DeepNested (4 fields): nested lists, an optional list, dictionary-encoded strings alone and in a list. */
export const DeepNested = T.record('DeepNested', {
  list_of_lists_decimal: T.list(T.optional(T.list(T.optional(decimal20x4)))),
  optional_list_date: T.optional(T.list(T.optional(T.date32))),
  dict_encoded_string: T.ownDictionary(T.dictionaryString),
  list_of_dict_encoded: T.list(T.optional(T.ownDictionary(T.dictionaryString))),
});

/** EmbeddedArrow: a RecordBatch (full IPC stream) and a Schema (`Schema.serialize()`: one message, no EOS), both binary. */
export const EmbeddedArrow = T.record('EmbeddedArrow', {
  batch: T.recordBatchValue,
  schema: T.schemaMessageValue,
});

/** NestedContainers (7 fields): enums, structs and a RecordBatch inside lists, maps, a frozenset and optionals. */
export const NestedContainers = T.record('NestedContainers', {
  statuses: T.list(T.optional(statusField())),
  points: T.list(T.optional(Point)),
  status_by_name: T.map(T.utf8, T.optional(statusField())),
  frozen_statuses: T.frozenset(T.optional(statusField())),
  tagged_status: T.optional(statusField()),
  tagged_point: T.optional(Point),
  tagged_batch: T.optional(T.recordBatchValue),
});

// ---------------------------------------------------------------- headers

/** ConformanceHeader: the header of the `*_with_header*` streams (hash-verified). */
export const ConformanceHeaderFields = { total_expected: T.int64, description: T.utf8 };

/** RichHeader (18 fields; hash-verified; `nested_list` comes before `annotated_*`, unlike AllTypes). */
export const RichHeaderFields = {
  str_field: T.utf8,
  bytes_field: T.binary,
  int_field: T.int64,
  float_field: T.float64,
  bool_field: T.bool,
  list_of_int: T.list(T.optional(T.int64)),
  list_of_str: T.list(T.optional(T.utf8)),
  dict_field: T.map(T.utf8, T.optional(T.int64)),
  enum_field: statusField(),
  nested_point: Point,
  optional_str: T.optional(T.utf8),
  optional_int: T.optional(T.int64),
  optional_nested: T.optional(Point),
  list_of_nested: T.list(T.optional(Point)),
  nested_list: T.list(T.optional(T.list(T.optional(T.int64)))),
  annotated_int32: T.int32,
  annotated_float32: T.float32,
  dict_str_str: T.map(T.utf8, T.optional(T.utf8)),
};

// ---------------------------------------------------------------- stream schemas (all nullable)

/** COUNTER: `index: int64, value: int64`. */
export const CounterFields = { index: T.optional(T.int64), value: T.optional(T.int64) };
/** SCALE: `value: float64`. */
export const ScaleFields = { value: T.optional(T.float64) };
/** ACCUM_OUT: `running_sum: float64, exchange_count: int64`. */
export const AccumFields = { running_sum: T.optional(T.float64), exchange_count: T.optional(T.int64) };
/** TICK: `index: int64, seen: utf8`. */
export const TickFields = { index: T.optional(T.int64), seen: T.optional(T.utf8) };
/** ANNOTATED: `value: int64`. */
export const AnnotatedFields = { value: T.optional(T.int64) };
/** INPUT_METADATA_OUT: `seen: utf8, keys: utf8`. */
export const InputMetadataFields = { seen: T.optional(T.utf8), keys: T.optional(T.utf8) };
/** SESSION_OUT: `value: int64`. */
export const SessionOutFields = { value: T.optional(T.int64) };
/** SESSION_IN: `by: int64`. */
export const SessionInFields = { by: T.optional(T.int64) };
/**
 * DYNAMIC, widest form: `index: int64, label: utf8, score: float64`. The
 * reference drops `label`/`score` per call; see producers.ts.
 */
export const DynamicFields = { index: T.optional(T.int64), label: T.optional(T.utf8), score: T.optional(T.float64) };
/** EMPTY: no fields (zero-column exchange). */
export const EmptyFields = {};

/** The reference's `build_dynamic_schema(include_strings, include_floats)` (all fields nullable). */
export const buildDynamicSchema = (includeStrings: boolean, includeFloats: boolean): A.Schema =>
  new A.Schema([
    new A.Field('index', new A.Int64(), true),
    ...(includeStrings ? [new A.Field('label', new A.Utf8(), true)] : []),
    ...(includeFloats ? [new A.Field('score', new A.Float64(), true)] : []),
  ]);

// ---------------------------------------------------------------- well-known metadata keys

/** Tick-batch metadata key echoed by `produce_tick_metadata`. */
export const TICK_METADATA_KEY = 'vgi.conformance.tick';
/** Input-batch metadata key echoed by `exchange_input_metadata`. */
export const INPUT_METADATA_KEY = 'vgi.conformance.input';
