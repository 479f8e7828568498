/**
 * Helpers shared by the ported stream groups of the reference conformance
 * suite (`vgi_rpc/conformance/_pytest_suite.py` @ 749b550): pytest-style
 * error and float assertions, quiet stream cleanup (the subprocess
 * transport shares one connection per group, so every test must leave it
 * clean), `_assert_rich_header`, and raw exchange streams whose input
 * schema differs from the method's declared one.
 */
import { expect } from 'vitest';
import * as A from 'apache-arrow';
import { Keys, RpcClientError, type ClientTransport, type StreamSession } from '../../../src/index.js';
import { encodeRequest } from '../../../src/client/connection.js';
import type { ExchangeMethod } from '../../../src/service/method.js';
import { StreamEncoder } from '../../../src/wire/batch-encoder.js';
import type { DecodedBatch } from '../../../src/wire/stream-reader.js';
import { buildRichHeader, type RichHeader } from '../../../examples/conformance/rich-header.js';
import { CONFORMANCE_PROTOCOL, CONFORMANCE_VERSION } from '../../../examples/conformance/service.js';
import { errorOf } from '../../support/raw-exchange.js';
import { rpcFailure } from '../../support/rpc-failure.js';

/** `pytest.raises(RpcError)`: await `p`, require it to reject with an RpcClientError, return it. */
export const rpcError = rpcFailure;

/** `pytest.raises(RpcError, match=pattern)`: the reference matches against `str(RpcError)`, i.e. "Type: message". */
export const expectMatch = (e: RpcClientError, pattern: RegExp): void => {
  expect(`${e.errorType}: ${e.message}`).toMatch(pattern);
};

/** `pytest.approx(expected)` with its defaults (rel 1e-6, abs 1e-12). */
export const approx = (actual: number | null | undefined, expected: number): void => {
  expect(actual, `expected ≈ ${expected}`).not.toBeNull();
  expect(actual, `expected ≈ ${expected}`).not.toBeUndefined();
  const tol = Math.max(1e-6 * Math.abs(expected), 1e-12);
  expect(Math.abs((actual as number) - expected), `${actual} ≈ ${expected}`).toBeLessThanOrEqual(tol);
};

/** Element-wise `== [pytest.approx(...), ...]`. */
export const approxList = (actual: readonly (number | null)[], expected: readonly number[]): void => {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((x, i) => approx(actual[i], x));
};

/**
 * Leave the connection clean whatever happened: close a session that is
 * still open (no-op when the stream already ended). A failing close is
 * swallowed so the original assertion failure is what gets reported.
 */
export const settle = async (session: StreamSession<any, any, any> | undefined): Promise<void> => {
  if (session === undefined || session.finished) return;
  await session.close().catch(() => undefined);
};

/** Run `body` with `session`, then settle it (the reference's `with proxy.method() as session:`). */
export const using = async <S extends StreamSession<any, any, any>, R>(open: Promise<S>, body: (s: S) => Promise<R>): Promise<R> => {
  const s = await open;
  try {
    return await body(s);
  } finally {
    await settle(s);
  }
};

/** The reference's `_assert_rich_header(actual, seed)`: every field equals `build_rich_header(seed)` (floats approx). */
export const assertRichHeader = (actual: RichHeader | undefined, seed: bigint): void => {
  expect(actual, 'header is None').toBeDefined();
  const a = actual!;
  const e = buildRichHeader(seed);
  expect(a.str_field).toBe(e.str_field);
  // Compared by content: a decoded binary may be a Buffer (a Uint8Array subclass) on stream transports.
  expect(Array.from(a.bytes_field)).toEqual(Array.from(e.bytes_field));
  expect(a.int_field).toBe(e.int_field);
  approx(a.float_field, e.float_field);
  expect(a.bool_field).toBe(e.bool_field);
  expect(a.list_of_int).toEqual(e.list_of_int);
  expect(a.list_of_str).toEqual(e.list_of_str);
  expect(a.dict_field).toEqual(e.dict_field);
  expect(a.enum_field).toBe(e.enum_field);
  approx(a.nested_point.x, e.nested_point.x);
  approx(a.nested_point.y, e.nested_point.y);
  expect(a.optional_str).toBe(e.optional_str);
  expect(a.optional_int).toBe(e.optional_int);
  if (e.optional_nested === null) {
    expect(a.optional_nested).toBeNull();
  } else {
    expect(a.optional_nested).not.toBeNull();
    approx(a.optional_nested!.x, e.optional_nested.x);
    approx(a.optional_nested!.y, e.optional_nested.y);
  }
  expect(a.list_of_nested).toHaveLength(e.list_of_nested.length);
  e.list_of_nested.forEach((p, i) => {
    approx(a.list_of_nested[i]!.x, p!.x);
    approx(a.list_of_nested[i]!.y, p!.y);
  });
  expect(a.nested_list).toEqual(e.nested_list);
  expect(a.annotated_int32).toBe(e.annotated_int32);
  approx(a.annotated_float32, e.annotated_float32);
  expect(a.dict_str_str).toEqual(e.dict_str_str);
};

/** A schema as comparable tuples (pyarrow `Schema.equals` without metadata: names, types, nullability). */
export const schemaShape = (s: A.Schema): [string, string, boolean][] => s.fields.map((f) => [f.name, String(f.type), f.nullable]);

// ---------------------------------------------------------------- raw exchange streams

/** One answered turn of a raw exchange: the output data batch, or the server's error. */
export type RawTurn =
  | { readonly kind: 'data'; readonly schema: A.Schema; readonly batch: DecodedBatch }
  | { readonly kind: 'error'; readonly errorType: string; readonly message: string; readonly errorKind: string | undefined };

/**
 * An exchange stream driven with hand-built frames, so its input stream can
 * declare a schema of its own (the reference client sends whatever schema
 * its first input batch has; our typed client always sends the method's
 * declared input schema). Only use it when no client call is in flight on
 * the connection.
 */
export class RawExchange {
  private enc: StreamEncoder | undefined;
  private outputSchema: A.Schema | undefined;
  private ended = false;

  private constructor(private readonly t: ClientTransport) {}

  /** Send the request for `name` (an exchange method of ConformanceService). */
  static async open(t: ClientTransport, name: string, method: ExchangeMethod, params: Record<string, unknown> = {}): Promise<RawExchange> {
    const out: Uint8Array[] = [];
    encodeRequest(out, { protocol: CONFORMANCE_PROTOCOL, protocolVersion: CONFORMANCE_VERSION }, name, method, params);
    await t.write(out);
    if (method.headerSchema !== undefined) throw new Error('RawExchange does not read header streams');
    return new RawExchange(t);
  }

  /** Send one input batch declared with `schema` and read the answer to it. */
  async exchange(schema: A.Schema, rows: number, columns: A.Data[], metadata?: Map<string, string>): Promise<RawTurn> {
    const out: Uint8Array[] = [];
    if (this.enc === undefined) {
      this.enc = new StreamEncoder(schema);
      this.enc.writeSchema(out);
    }
    this.enc.writeColumns(out, rows, columns, metadata);
    await this.t.write(out);
    if (this.outputSchema === undefined) {
      const f = await this.t.frames.next();
      if (f === null || f.kind !== 'schema') throw new Error(`expected the output schema, got ${f === null ? 'end of input' : f.kind}`);
      this.outputSchema = f.schema;
    }
    for (;;) {
      const f = await this.t.frames.next();
      if (f === null) throw new Error('input ended inside the output stream');
      if (f.kind === 'eos') {
        this.ended = true;
        throw new Error('the output stream ended without an answer');
      }
      if (f.kind !== 'batch') continue;
      const err = errorOf({ schema: this.outputSchema, batches: [f.batch] });
      if (err !== undefined) {
        // The output ends after an error: read its EOS, then end our input so the server's drain completes.
        const eos = await this.t.frames.next();
        if (eos?.kind !== 'eos') throw new Error(`expected EOS after the error, got ${eos === null ? 'end of input' : eos.kind}`);
        this.ended = true;
        await this.endInput();
        return { kind: 'error', errorType: err.type, message: err.message, errorKind: err.kind };
      }
      if (f.batch.numRows === 0 && f.batch.metadata?.has(Keys.logLevel)) continue; // a log batch
      return { kind: 'data', schema: this.outputSchema, batch: f.batch };
    }
  }

  private inputEnded = false;
  private async endInput(): Promise<void> {
    if (this.inputEnded) return;
    this.inputEnded = true;
    const out: Uint8Array[] = [];
    if (this.enc === undefined) {
      this.enc = new StreamEncoder(new A.Schema([]));
      this.enc.writeSchema(out);
    }
    this.enc.writeEos(out);
    await this.t.write(out);
  }

  /** End the exchange from the client side and read the rest of the output stream. */
  async close(): Promise<void> {
    await this.endInput();
    if (this.ended) return;
    if (this.outputSchema === undefined) {
      const f = await this.t.frames.next();
      if (f === null || f.kind !== 'schema') throw new Error('expected the output schema');
      this.outputSchema = f.schema;
    }
    for (;;) {
      const f = await this.t.frames.next();
      if (f === null) throw new Error('input ended inside the output stream');
      if (f.kind === 'eos') break;
    }
    this.ended = true;
  }
}
