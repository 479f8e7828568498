/**
 * Unary methods with scalar, container and optional values: echoes of every
 * Arrow width and temporal type, void methods, multi-parameter calls with
 * defaults, the three error methods and the client-logging methods
 * (notes §4.1, §4.3, §4.4).
 */
import * as Effect from 'effect/Effect';
import { Errors, type Handlers, Method, T, clientLog } from '../../src/index.js';
import { Status } from './types.js';

const echoOf = <V>(t: T.ValueType<V>) => Method.unary({ params: { value: t }, result: t });

/** Unary scalar/container/optional/wide echoes, defaults, errors and logging. */
export const unaryMethods = {
  // §4.1 scalar echo, void, containers, optional
  echo_string: echoOf(T.utf8),
  echo_bytes: Method.unary({ params: { data: T.binary }, result: T.binary }),
  oversized_unary: Method.unary({ params: { target_bytes: T.int64 }, result: T.binary }),
  echo_int: echoOf(T.int64),
  echo_float: echoOf(T.float64),
  echo_bool: echoOf(T.bool),
  void_noop: Method.unary({}),
  void_with_param: Method.unary({ params: { value: T.int64 } }),
  echo_enum: Method.unary({ params: { status: Status }, result: Status }),
  echo_list: Method.unary({ params: { values: T.list(T.optional(T.utf8)) }, result: T.list(T.optional(T.utf8)) }),
  echo_dict: Method.unary({ params: { mapping: T.map(T.utf8, T.optional(T.int64)) }, result: T.map(T.utf8, T.optional(T.int64)) }),
  echo_nested_list: Method.unary({
    params: { matrix: T.list(T.optional(T.list(T.optional(T.int64)))) },
    result: T.list(T.optional(T.list(T.optional(T.int64)))),
  }),
  echo_optional_string: echoOf(T.optional(T.utf8)),
  echo_optional_int: echoOf(T.optional(T.int64)),
  /** `Annotated[int | None, ArrowType(pa.int32())]`: nullable int32. */
  echo_annotated_optional_int: echoOf(T.optional(T.int32)),
  /** `Annotated[int, ArrowType(pa.int32(), nullable=False)] | None`: the explicit marker wins, non-null int32. */
  echo_outer_optional_non_null: echoOf(T.int32),

  // §4.3 annotated widths, temporal, wide
  echo_int32: echoOf(T.int32),
  echo_float32: echoOf(T.float32),
  echo_int8: echoOf(T.int8),
  echo_int16: echoOf(T.int16),
  echo_uint8: echoOf(T.uint8),
  echo_uint16: echoOf(T.uint16),
  echo_uint32: echoOf(T.uint32),
  echo_uint64: echoOf(T.uint64),
  echo_date: echoOf(T.date32),
  echo_timestamp: echoOf(T.timestampUs),
  echo_timestamp_utc: echoOf(T.timestampUsTz('UTC')),
  echo_time: echoOf(T.time64Us),
  echo_duration: echoOf(T.durationUs),
  echo_decimal: echoOf(T.decimal128(20, 4)),
  echo_large_string: echoOf(T.largeUtf8),
  echo_large_binary: echoOf(T.largeBinary),
  echo_fixed_binary: echoOf(T.fixedSizeBinary(8)),
  echo_dict_encoded_string: echoOf(T.dictionaryString),

  // §4.4 multi-param, defaults, errors, logging
  add_floats: Method.unary({ params: { a: T.float64, b: T.float64 }, result: T.float64 }),
  concatenate: Method.unary({
    params: { prefix: T.utf8, suffix: T.utf8, separator: T.utf8 },
    defaults: { separator: '-' },
    result: T.utf8,
    doc: 'Join prefix and suffix with the separator.',
  }),
  with_defaults: Method.unary({
    params: { required: T.int64, optional_str: T.utf8, optional_int: T.int64 },
    defaults: { optional_str: 'default', optional_int: 42n },
    result: T.utf8,
    doc: 'Describe the three arguments; the optional ones fall back to their defaults.',
  }),
  raise_value_error: Method.unary({ params: { message: T.utf8 }, result: T.utf8 }),
  raise_runtime_error: Method.unary({ params: { message: T.utf8 }, result: T.utf8 }),
  raise_type_error: Method.unary({ params: { message: T.utf8 }, result: T.utf8 }),
  echo_with_info_log: echoOf(T.utf8),
  echo_with_multi_logs: echoOf(T.utf8),
  echo_with_log_extras: echoOf(T.utf8),
  echo_with_all_log_levels: echoOf(T.utf8),
};

const echo = <A>({ value }: { value: A }) => Effect.succeed(value);

/** Handlers of `unaryMethods`. */
export const unaryHandlers: Handlers<typeof unaryMethods> = {
  echo_string: echo,
  echo_bytes: ({ data }) => Effect.succeed(data),
  oversized_unary: ({ target_bytes }) =>
    target_bytes < 0n ? Effect.fail(Errors.value('target_bytes must be non-negative')) : Effect.sync(() => new Uint8Array(Number(target_bytes))),
  echo_int: echo,
  echo_float: echo,
  echo_bool: echo,
  void_noop: () => Effect.void,
  void_with_param: () => Effect.void,
  echo_enum: ({ status }) => Effect.succeed(status),
  echo_list: ({ values }) => Effect.succeed(values),
  echo_dict: ({ mapping }) => Effect.succeed(mapping),
  echo_nested_list: ({ matrix }) => Effect.succeed(matrix),
  echo_optional_string: echo,
  echo_optional_int: echo,
  echo_annotated_optional_int: echo,
  echo_outer_optional_non_null: echo,

  echo_int32: echo,
  echo_float32: echo,
  echo_int8: echo,
  echo_int16: echo,
  echo_uint8: echo,
  echo_uint16: echo,
  echo_uint32: echo,
  echo_uint64: echo,
  echo_date: echo,
  echo_timestamp: echo,
  echo_timestamp_utc: echo,
  echo_time: echo,
  echo_duration: echo,
  echo_decimal: echo,
  echo_large_string: echo,
  echo_large_binary: echo,
  echo_fixed_binary: echo,
  echo_dict_encoded_string: echo,

  add_floats: ({ a, b }) => Effect.succeed(a + b),
  concatenate: ({ prefix, suffix, separator }) => Effect.succeed(`${prefix}${separator}${suffix}`),
  with_defaults: ({ required, optional_str, optional_int }) =>
    Effect.succeed(`required=${required}, optional_str=${optional_str}, optional_int=${optional_int}`),
  raise_value_error: ({ message }) => Effect.fail(Errors.value(message)),
  raise_runtime_error: ({ message }) => Effect.fail(Errors.runtime(message)),
  raise_type_error: ({ message }) => Effect.fail(Errors.type(message)),
  echo_with_info_log: ({ value }) => Effect.as(clientLog('INFO', `info: ${value}`), value),
  echo_with_multi_logs: ({ value }) =>
    Effect.gen(function* () {
      yield* clientLog('DEBUG', `debug: ${value}`);
      yield* clientLog('INFO', `info: ${value}`);
      yield* clientLog('WARN', `warn: ${value}`);
      return value;
    }),
  echo_with_log_extras: ({ value }) => Effect.as(clientLog('INFO', `info: ${value}`, { source: 'conformance', detail: value }), value),
  echo_with_all_log_levels: ({ value }) =>
    Effect.gen(function* () {
      yield* clientLog('TRACE', `trace: ${value}`);
      yield* clientLog('DEBUG', `debug: ${value}`);
      yield* clientLog('INFO', `info: ${value}`);
      yield* clientLog('WARN', `warn: ${value}`);
      yield* clientLog('ERROR', `error: ${value}`);
      return value;
    }),
};
