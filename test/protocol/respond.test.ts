/**
 * The dispatcher's message-level entry: one decoded request in, its whole
 * response stream out (unary calls, refused requests, transport options),
 * or the stream call to drive, with no connection involved.
 */
import * as Effect from 'effect/Effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { encodeRequest } from '../../src/client/connection.js';
import { type Dispatcher, FrameSource, Keys, Method, Output, Service, T } from '../../src/index.js';
import { readRequestStream } from '../../src/protocol/dispatcher.js';
import type { ConnectionCalls } from '../../src/protocol/call-scope.js';

const Calc = Service.define('Calc', {}, {
  add: Method.unary({ params: { a: T.float64, b: T.float64 }, result: T.float64 }),
  count: Method.producer({ params: { n: T.int64 }, output: { i: T.int64 } }),
});
const CalcLive = Calc.toLayer({
  add: ({ a, b }) => Effect.succeed(a + b),
  count: () => Effect.succeed({ produce: () => Effect.succeed(Output.done) }),
});

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Calc], CalcLive));
});
afterAll(() => dispose());

const calls: ConnectionCalls = { reason: undefined, size: 0, interruptAll: () => {} };

/** Frames of `bytes`, read the way a transport would. */
const framesOf = (bytes: readonly Uint8Array[]): FrameSource => {
  const frames = new FrameSource();
  for (const b of bytes) frames.push(b);
  frames.end();
  return frames;
};

/** A request for `method` of Calc, decoded as a transport hands it over. */
const request = async (method: 'add' | 'count', params: Record<string, unknown>, wireName: string = method) => {
  const out: Uint8Array[] = [];
  encodeRequest(out, { protocol: 'Calc', protocolVersion: undefined }, wireName, Calc.methods[method], params);
  return (await readRequestStream({ frames: framesOf(out) } as never))!;
};

/** The batches of a response stream: rows of the first column and each batch's metadata. */
const batches = async (out: readonly Uint8Array[]) => {
  const frames = framesOf(out);
  const seen: { numRows: number; metadata: ReadonlyMap<string, string> | undefined; first: unknown }[] = [];
  for (let f = await frames.next(); f !== null; f = await frames.next()) {
    if (f.kind === 'batch') seen.push({ numRows: f.batch.numRows, metadata: f.batch.metadata, first: f.batch.numRows > 0 ? f.batch.columns[0]?.values[0] : undefined });
  }
  return seen;
};

describe('Dispatcher.respond: the message-level entry', () => {
  it('answers a unary request with its whole response stream', async () => {
    const answer = await dispatcher.respond(await request('add', { a: 2, b: 3.5 }), 'http', calls);
    expect(answer._tag).toBe('response');
    const [result] = await batches(answer._tag === 'response' ? answer.out : []);
    expect(result).toMatchObject({ numRows: 1, first: 5.5 });
  });

  it('refuses an unknown method with an error stream, running nothing', async () => {
    const answer = await dispatcher.respond(await request('add', { a: 1, b: 1 }, 'nope'), 'http', calls);
    const [error] = await batches(answer._tag === 'response' ? answer.out : []);
    expect(error?.numRows).toBe(0);
    expect(error?.metadata?.get(Keys.logLevel)).toBe('EXCEPTION');
    expect(error?.metadata?.get(Keys.logMessage)).toMatch(/nope/);
  });

  it('hands a stream call back to be driven, with its call scope', async () => {
    const answer = await dispatcher.respond(await request('count', { n: 3n }), 'http', calls);
    expect(answer._tag).toBe('stream');
    if (answer._tag === 'stream') {
      expect(answer.method.kind).toBe('producer');
      expect(answer.scope.context.method).toBe('count');
      expect(answer.scope.context.transportKind).toBe('http');
      expect(answer.params).toEqual({ n: 3n });
    }
  });
});
