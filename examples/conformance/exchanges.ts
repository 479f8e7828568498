/**
 * Exchange streams (notes §4.6): each client input batch is answered with
 * exactly one output batch. Inputs arrive already conformed to the declared
 * input schema (same field names, compatible numeric types cast).
 */
import * as Effect from 'effect/Effect';
import { type BatchView, Errors, type Handlers, Method, Output, T, clientLog, resumable } from '../../src/index.js';
import type { ConformanceEnv } from './env.js';
import { codePointCompare, pyFloatRepr } from './py-format.js';
import { buildRichHeader } from './rich-header.js';
import { boundCounter } from './sessions.js';
import {
  AccumFields,
  ConformanceHeaderFields,
  CounterFields,
  EmptyFields,
  INPUT_METADATA_KEY,
  InputMetadataFields,
  RichHeaderFields,
  ScaleFields,
  SessionInFields,
  SessionOutFields,
} from './types.js';

/** All exchange methods of the service. */
export const exchangeMethods = {
  exchange_scale: Method.exchange({ params: { factor: T.float64 }, input: ScaleFields, output: ScaleFields }),
  // Its state is declared, so over HTTP a turn resumes it from the cursor token alone.
  exchange_accumulate: Method.exchange({ input: ScaleFields, output: AccumFields, state: { running_sum: T.float64, exchange_count: T.int64 } }),
  exchange_with_logs: Method.exchange({ input: ScaleFields, output: ScaleFields }),
  exchange_error_on_nth: Method.exchange({ params: { fail_on: T.int64 }, input: ScaleFields, output: ScaleFields }),
  exchange_zero_columns: Method.exchange({ input: EmptyFields, output: EmptyFields }),
  exchange_input_metadata: Method.exchange({ input: ScaleFields, output: InputMetadataFields }),
  exchange_error_on_init: Method.exchange({ input: ScaleFields, output: ScaleFields }),
  exchange_oversized: Method.exchange({ params: { rows_per_batch: T.int64 }, input: ScaleFields, output: CounterFields }),
  exchange_with_header: Method.exchange({ params: { factor: T.float64 }, header: ConformanceHeaderFields, input: ScaleFields, output: ScaleFields }),
  exchange_cast_compatible: Method.exchange({ input: ScaleFields, output: ScaleFields }),
  exchange_with_rich_header: Method.exchange({ params: { seed: T.int64, factor: T.float64 }, header: RichHeaderFields, input: ScaleFields, output: ScaleFields }),
  cancellable_exchange: Method.exchange({ input: ScaleFields, output: ScaleFields }),
  exchange_session_counter: Method.exchange({ input: SessionInFields, output: SessionOutFields }),
};

type Scale = T.TypeOf<typeof ScaleFields.value>;

/** `AccumulatingState`: a running sum over every input value, and how many turns there were. */
const accumulating = (sum: number, count: bigint) => {
  let runningSum = sum;
  let exchangeCount = count;
  return {
    exchange: (input: BatchView<typeof ScaleFields>) =>
      Effect.suspend(() => {
        // pc.sum skips nulls and is null when nothing is left; `float += None` then raises.
        const present = input.values('value').filter((v): v is number => v !== null);
        if (present.length === 0) return Effect.fail(Errors.type(`unsupported operand type(s) for +=: 'float' and 'NoneType'`));
        runningSum += present.reduce((a, b) => a + b, 0);
        exchangeCount++;
        return Effect.succeed(Output.columns({ running_sum: [runningSum], exchange_count: [exchangeCount] }));
      }),
    snapshot: () => ({ running_sum: runningSum, exchange_count: exchangeCount }),
  };
};

/** `pc.multiply(value, factor)`: element-wise, nulls stay null. */
const scaled = (values: readonly Scale[], factor: number) => Output.columns({ value: values.map((v) => (v === null ? null : v * factor)) });

/** Echo the `value` column. */
const echoed = (values: readonly Scale[]) => Output.columns({ value: values });

/** A ScaleExchangeState by `factor`. */
const scaling = (factor: number) => ({
  exchange: (input: { values(name: 'value'): Scale[] }) => Effect.sync(() => scaled(input.values('value'), factor)),
});

/** Handlers of `exchangeMethods`. */
export const exchangeHandlers = ({ probe, sessions }: ConformanceEnv): Handlers<typeof exchangeMethods> => ({
  exchange_scale: ({ factor }) => Effect.sync(() => scaling(factor)),

  exchange_accumulate: resumable(
    () => Effect.sync(() => accumulating(0.0, 0n)),
    (state) => Effect.sync(() => accumulating(state.running_sum as number, state.exchange_count as bigint)),
  ),

  exchange_with_logs: () =>
    Effect.succeed({
      exchange: (input) =>
        Effect.gen(function* () {
          yield* clientLog('INFO', 'exchange processing');
          yield* clientLog('DEBUG', 'exchange debug');
          return echoed(input.values('value'));
        }),
    }),

  exchange_error_on_nth: ({ fail_on }) =>
    Effect.sync(() => {
      let count = 0n;
      return {
        exchange: (input) =>
          Effect.suspend(() => {
            count++;
            return count >= fail_on
              ? Effect.fail(Errors.runtime(`intentional error on exchange ${count}`))
              : Effect.succeed(echoed(input.values('value')));
          }),
      };
    }),

  exchange_zero_columns: () => Effect.succeed({ exchange: () => Effect.succeed(Output.rows([])) }),

  exchange_input_metadata: () =>
    Effect.succeed({
      exchange: (input) =>
        Effect.sync(() => {
          const md = input.metadata;
          const keys = [...md.keys()].sort(codePointCompare).join(',');
          return Output.columns({ seen: [md.get(INPUT_METADATA_KEY) ?? ''], keys: [keys] });
        }),
    }),

  exchange_error_on_init: () => Effect.fail(Errors.runtime('intentional exchange init error')),

  exchange_oversized: ({ rows_per_batch }) =>
    Effect.succeed({
      exchange: () =>
        Effect.sync(() => {
          const rows = Number(rows_per_batch);
          const index = new BigInt64Array(rows);
          const value = new BigInt64Array(rows);
          for (let r = 0; r < rows; r++) {
            index[r] = BigInt(r);
            value[r] = BigInt(r) * 10n;
          }
          return Output.columns({ index, value });
        }),
    }),

  exchange_with_header: ({ factor }) =>
    Effect.sync(() => ({ header: { total_expected: 0n, description: `scale by ${pyFloatRepr(factor)}` }, ...scaling(factor) })),

  exchange_cast_compatible: () => Effect.sync(() => scaling(1.0)),

  exchange_with_rich_header: ({ seed, factor }) => Effect.sync(() => ({ header: buildRichHeader(seed), ...scaling(factor) })),

  cancellable_exchange: () =>
    Effect.succeed({
      exchange: (input) =>
        Effect.sync(() => {
          probe.bump('exchange_calls');
          return echoed(input.values('value'));
        }),
      onCancel: Effect.sync(() => probe.bump('on_cancel_calls')),
    }),

  exchange_session_counter: () =>
    Effect.succeed({
      exchange: (input) =>
        Effect.map(boundCounter(sessions), (c) => {
          for (const by of input.values('by')) if (by !== null) c.value += by;
          return Output.columns({ value: [c.value] });
        }),
    }),
});
