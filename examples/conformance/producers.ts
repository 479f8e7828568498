/**
 * Producer streams (notes §4.5): one `produce` per client tick, emitting one
 * batch or finishing. Outputs use the all-nullable stream schemas of
 * types.ts; headers are ConformanceHeader or RichHeader.
 */
import * as Effect from 'effect/Effect';
import { Errors, type Handlers, Method, Output, T, clientLog, resumable } from '../../src/index.js';
import type { ConformanceEnv } from './env.js';
import { buildRichHeader } from './rich-header.js';
import { boundCounter } from './sessions.js';
import {
  AnnotatedFields,
  ConformanceHeaderFields,
  CounterFields,
  DynamicFields,
  RichHeaderFields,
  SessionOutFields,
  TICK_METADATA_KEY,
  TickFields,
} from './types.js';

/** All producer methods of the service. */
export const producerMethods = {
  // Its state is declared, so over HTTP a continuation resumes it from the cursor token alone.
  produce_n: Method.producer({ params: { count: T.int64 }, output: CounterFields, state: { count: T.int64, current: T.int64 } }),
  produce_tick_metadata: Method.producer({ params: { count: T.int64 }, output: TickFields }),
  produce_empty: Method.producer({ output: CounterFields }),
  produce_single: Method.producer({ output: CounterFields }),
  produce_large_batches: Method.producer({ params: { rows_per_batch: T.int64, batch_count: T.int64 }, output: CounterFields }),
  produce_annotated_batches: Method.producer({ params: { count: T.int64, rows_per_batch: T.int64 }, output: AnnotatedFields }),
  produce_with_logs: Method.producer({ params: { count: T.int64 }, output: CounterFields }),
  produce_error_mid_stream: Method.producer({ params: { emit_before_error: T.int64 }, output: CounterFields }),
  produce_error_on_init: Method.producer({ output: CounterFields }),
  produce_oversized_batch: Method.producer({ params: { rows_per_batch: T.int64 }, output: CounterFields }),
  produce_with_header: Method.producer({
    params: { count: T.int64 },
    header: ConformanceHeaderFields,
    output: CounterFields,
    doc: 'Send a header announcing the count, then count batches.',
  }),
  produce_with_header_and_logs: Method.producer({ params: { count: T.int64 }, header: ConformanceHeaderFields, output: CounterFields }),
  produce_with_rich_header: Method.producer({ params: { seed: T.int64, count: T.int64 }, header: RichHeaderFields, output: CounterFields }),
  /**
   * The reference's output schema is `build_dynamic_schema(include_strings,
   * include_floats)`, chosen per call. Stream output schemas are fixed per
   * method in this runtime, so this declares the widest form and leaves the
   * excluded columns all-null (a deviation until streams can pick their
   * schema at init).
   */
  produce_dynamic_schema: Method.producer({
    params: { seed: T.int64, count: T.int64, include_strings: T.bool, include_floats: T.bool },
    header: RichHeaderFields,
    output: DynamicFields,
  }),
  cancellable_producer: Method.producer({ output: CounterFields }),
  stream_session_counter: Method.producer({ params: { count: T.int64 }, output: SessionOutFields }),
};

/** The reference's `{index: [i], value: [i * 10]}` batch. */
const counterBatch = (i: bigint) => Output.columns({ index: [i], value: [i * 10n] });

/** Rows `first .. first + n - 1` with value = index * 10. */
const counterRange = (first: bigint, n: bigint) => {
  const rows = Number(n);
  const index = new BigInt64Array(rows);
  const value = new BigInt64Array(rows);
  for (let r = 0; r < rows; r++) {
    const i = first + BigInt(r);
    index[r] = i;
    value[r] = i * 10n;
  }
  return Output.columns({ index, value });
};

/** `CounterState` / `HeaderProducerState`: `count` batches like produce_n, then finish. */
const counting = (count: bigint, from = 0n) => {
  let current = from;
  return {
    produce: () => Effect.sync(() => (current >= count ? Output.done : counterBatch(current++))),
    snapshot: () => ({ count, current }),
  };
};

/** Handlers of `producerMethods`. */
export const producerHandlers = ({ probe, sessions }: ConformanceEnv): Handlers<typeof producerMethods> => ({
  produce_n: resumable(
    ({ count }) => Effect.sync(() => counting(count)),
    (state) => Effect.sync(() => counting(state.count as bigint, state.current as bigint)),
  ),

  // As the reference: the batch that reaches `count` is emitted and the stream finishes in the same call.
  produce_tick_metadata: ({ count }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: (tick) =>
          Effect.sync(() => {
            const out = Output.columns({ index: [current], seen: [tick.metadata.get(TICK_METADATA_KEY) ?? ''] });
            current++;
            return current >= count ? Output.last(out) : out;
          }),
      };
    }),

  produce_empty: () => Effect.succeed({ produce: () => Effect.succeed(Output.done) }),

  produce_single: () => Effect.succeed({ produce: () => Effect.succeed(Output.last(counterBatch(0n))) }),

  produce_large_batches: ({ rows_per_batch, batch_count }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: () =>
          Effect.sync(() => {
            if (current >= batch_count) return Output.done;
            const out = counterRange(current * rows_per_batch, rows_per_batch);
            current++;
            return out;
          }),
      };
    }),

  produce_annotated_batches: ({ count, rows_per_batch }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: () =>
          Effect.sync(() => {
            if (current >= count) return Output.done;
            const i = current++;
            const value = new BigInt64Array(Number(rows_per_batch));
            for (let r = 0; r < value.length; r++) value[r] = i * 1_000_000n + BigInt(r);
            return Output.columns({ value }, {
              'conformance.batch_index': String(i),
              'conformance.batch_total': String(count),
              'conformance.emit_label': '\u00fcn\u00efcode-\u03bb',
            });
          }),
      };
    }),

  produce_with_logs: ({ count }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: () => {
          if (current >= count) return Effect.succeed(Output.done);
          const i = current++;
          return Effect.as(clientLog('INFO', `producing batch ${i}`), counterBatch(i));
        },
      };
    }),

  produce_error_mid_stream: ({ emit_before_error }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: () =>
          current >= emit_before_error
            ? Effect.fail(Errors.runtime(`intentional error after ${emit_before_error} batches`))
            : Effect.sync(() => counterBatch(current++)),
      };
    }),

  produce_error_on_init: () => Effect.fail(Errors.runtime('intentional init error')),

  produce_oversized_batch: ({ rows_per_batch }) =>
    Effect.succeed({ produce: () => Effect.sync(() => Output.last(counterRange(0n, rows_per_batch))) }),

  produce_with_header: ({ count }) =>
    Effect.sync(() => ({ header: { total_expected: count, description: `producing ${count} batches` }, ...counting(count) })),

  produce_with_header_and_logs: ({ count }) =>
    Effect.gen(function* () {
      // Logged during init: written in the header stream, before the header row.
      yield* clientLog('INFO', 'stream init log');
      return { header: { total_expected: count, description: `producing ${count} with logs` }, ...counting(count) };
    }),

  produce_with_rich_header: ({ seed, count }) => Effect.sync(() => ({ header: buildRichHeader(seed), ...counting(count) })),

  produce_dynamic_schema: ({ seed, count, include_strings, include_floats }) =>
    Effect.sync(() => {
      let current = 0n;
      return {
        header: buildRichHeader(seed),
        // The output schema is chosen per call, as the reference's build_dynamic_schema does.
        columns: ['index', ...(include_strings ? (['label'] as const) : []), ...(include_floats ? (['score'] as const) : [])],
        produce: () =>
          Effect.sync(() => {
            if (current >= count) return Output.done;
            const i = current++;
            return Output.rows([{ index: i, label: include_strings ? `row-${i}` : null, score: include_floats ? Number(i) * 1.5 : null }]);
          }),
      };
    }),

  cancellable_producer: () =>
    Effect.sync(() => {
      let current = 0n;
      return {
        produce: () =>
          Effect.sync(() => {
            probe.bump('produce_calls');
            return counterBatch(current++);
          }),
        onCancel: Effect.sync(() => probe.bump('on_cancel_calls')),
      };
    }),

  stream_session_counter: ({ count }) =>
    Effect.sync(() => {
      let emitted = 0n;
      return {
        produce: () =>
          emitted >= count
            ? Effect.succeed(Output.done)
            : Effect.map(boundCounter(sessions), (c) => {
                c.value += 1n;
                emitted++;
                return Output.columns({ value: [c.value] });
              }),
      };
    }),
});
