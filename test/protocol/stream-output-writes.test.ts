/**
 * How the byte-stream driver writes a producer's output: the small output of
 * quick turns whose next tick is already waiting goes out in one write (a
 * client keeping ticks in flight, as a shared-memory client does, then
 * costs the server far fewer writes); a slow turn's output is written at
 * once, never held for the turns after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Effect from 'effect/Effect';
import * as A from 'apache-arrow';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { Method, Output, Service, T, type Dispatcher } from '../../src/index.js';
import { emptySchema } from '../../src/service/method.js';
import { StreamEncoder } from '../../src/wire/batch-encoder.js';
import { FrameSource } from '../../src/wire/frame-source.js';
import { StreamReader } from '../../src/wire/stream-reader.js';
import { requestBytes, route } from '../support/raw-exchange.js';

const Paced = Service.define('Paced', {}, {
  quick: Method.producer({ params: { count: T.int64 }, output: { n: T.int64 } }),
  slow: Method.producer({ params: { count: T.int64 }, output: { n: T.int64 } }),
});

const counting = (count: bigint, pause: Effect.Effect<void>) =>
  Effect.sync(() => {
    let n = 0n;
    return { produce: () => Effect.as(pause, n >= count ? Output.done : Output.rows([{ n: n++ }])) };
  });

const PacedLive = Paced.toLayer({
  quick: ({ count }) => counting(count, Effect.void),
  slow: ({ count }) => counting(count, Effect.sleep('15 millis')),
});

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Paced], PacedLive));
});
afterAll(() => dispose());

/**
 * Send a producer request, its input schema, `ticks` ticks and the end of
 * the input all at once; return the data rows each server write carried
 * (one entry per write).
 */
const run = async (method: 'quick' | 'slow', count: number, ticks: number): Promise<bigint[][]> => {
  const frames = new FrameSource();
  const writes: Uint8Array[][] = [];
  const count64 = A.makeData({ type: new A.Int64(), length: 1, data: BigInt64Array.of(BigInt(count)) });
  const input: Uint8Array[] = requestBytes(Paced.methods[method].paramsSchema, [count64], 1, route('Paced', method));
  const ticksEnc = new StreamEncoder(emptySchema());
  ticksEnc.writeSchema(input);
  for (let i = 0; i < ticks; i++) ticksEnc.writeColumns(input, 0, []);
  ticksEnc.writeEos(input);
  for (const c of input) frames.push(c);
  frames.end();
  await dispatcher.serve({ frames, transportKind: 'pipe', closed: new Promise<string>(() => {}), write: (chunks) => { writes.push([...chunks]); } });
  // Decode the response streams write by write, noting which rows each write carried.
  const reader = new StreamReader();
  return writes.map((chunks) => {
    const rows: bigint[] = [];
    for (const c of chunks) reader.push(c);
    for (let f = reader.read(); f; f = reader.read()) {
      if (f.kind === 'batch' && f.batch.numRows > 0) rows.push(...(f.batch.columns[0]!.values as BigInt64Array));
    }
    return rows;
  });
};

describe('producer output writes', () => {
  it('quick turns with the next tick already waiting: their batches share writes', async () => {
    const perWrite = await run('quick', 6, 7);
    expect(perWrite.flat()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    const withData = perWrite.filter((rows) => rows.length > 0);
    // One write per batch without coalescing; held up to 8 turns (or 2 ms on a loaded machine: a few writes).
    expect(withData.length).toBeLessThan(6);
  });

  it('a slow turn is written at once, not held for the next', async () => {
    const perWrite = await run('slow', 3, 4);
    expect(perWrite.flat()).toEqual([0n, 1n, 2n]);
    expect(perWrite.filter((rows) => rows.length > 0)).toEqual([[0n], [1n], [2n]]);
  });
});
