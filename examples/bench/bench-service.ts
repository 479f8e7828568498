/**
 * The benchmark service, protocol `Bench`: unary `add` and `echo_bytes`,
 * producer `produce` ({i: int64, x: float64} batches) and exchange `double`.
 */
import * as Effect from 'effect/Effect';
import { Method, Output, Service, T } from '../../src/index.js';

/** The Bench protocol (unversioned). */
export const Bench = Service.define('Bench', {}, {
  add: Method.unary({ params: { a: T.float64, b: T.float64 }, result: T.float64 }),
  echo_bytes: Method.unary({ params: { data: T.binary }, result: T.binary }),
  produce: Method.producer({ params: { n_batches: T.int64, rows: T.int64 }, output: { i: T.int64, x: T.float64 } }),
  double: Method.exchange({ params: { factor: T.float64 }, input: { x: T.float64 }, output: { x: T.float64 } }),
});

const columnsFor = (rows: number): { i: BigInt64Array; x: Float64Array } => {
  const i = new BigInt64Array(rows);
  const x = new Float64Array(rows);
  for (let k = 0; k < rows; k++) {
    i[k] = BigInt(k);
    x[k] = k * 0.5;
  }
  return { i, x };
};

/** Bench handlers. The producer builds its columns once and emits them every tick. */
export const BenchLive = Bench.toLayer({
  add: ({ a, b }) => Effect.succeed(a + b),
  echo_bytes: ({ data }) => Effect.succeed(data),
  produce: ({ n_batches, rows }) =>
    Effect.sync(() => {
      if (rows < 0n || n_batches < 0n) throw new RangeError('n_batches and rows must be >= 0');
      const columns = columnsFor(Number(rows));
      let left = n_batches;
      return { produce: () => Effect.sync(() => (left-- <= 0n ? Output.done : Output.columns(columns))) };
    }),
  double: ({ factor }) =>
    Effect.succeed({
      exchange: (input) =>
        Effect.sync(() => {
          const x = input.column('x').values as Float64Array;
          const out = new Float64Array(input.numRows);
          for (let k = 0; k < out.length; k++) out[k] = x[k]! * factor;
          return Output.columns({ x: out });
        }),
    }),
});
