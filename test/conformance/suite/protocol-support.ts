/**
 * Shared helpers of the ported unary, adversarial and secondary-protocol
 * groups of the reference conformance suite
 * (vgi_rpc/conformance/_pytest_suite.py and the modules it imports).
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import type * as A from 'apache-arrow';
import { RpcClientError, type AnyService, type ClientTransport } from '../../../src/index.js';
import { encodeRequest, type Target } from '../../../src/client/connection.js';
import type { MethodDef } from '../../../src/service/method.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import type { ReceivedLog } from '../../../src/client/client-log.js';
import { readResponse, type RawResponse } from '../../support/raw-exchange.js';

/** The part of vitest's test context used here (`ctx.skip(note)`). */
export interface SkipContext {
  skip(note?: string): never;
}

/** `pytest.raises(RpcError)`: the call must reject with an RpcClientError, which is returned. */
export const failure = async (p: Promise<unknown>): Promise<RpcClientError> => {
  const outcome = await p.then(
    (value: unknown) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`the call succeeded and returned ${String(outcome.value)}; an error was required`);
  expect(outcome.error).toBeInstanceOf(RpcClientError);
  return outcome.error as RpcClientError;
};

/** `pytest.raises(..., match=re)`: Python searches `str(exc)`, i.e. "Type: message". */
export const matches = (e: RpcClientError, re: RegExp): void => {
  expect(`${e.errorType}: ${e.message}`).toMatch(re);
};

/** A log collector (`logs.append`). */
export const collectLogs = (): { logs: ReceivedLog[]; onLog: (l: ReceivedLog) => void } => {
  const logs: ReceivedLog[] = [];
  return { logs, onLog: (l) => logs.push(l) };
};

/** One EXCEPTION batch's metadata, decoded but not interpreted (the reference's `WireError`). */
export interface WireError {
  readonly top: ReadonlyMap<string, string>;
  readonly extra: Record<string, unknown>;
}

/** The first EXCEPTION batch of a raw response (the reference's `_exception_batch`). */
export const exceptionBatch = (r: RawResponse): WireError => {
  const b = r.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION');
  if (b === undefined) throw new Error(`no EXCEPTION batch in the response (${r.batches.length} batches)`);
  return { top: b.metadata ?? new Map(), extra: JSON.parse(b.meta(Keys.logExtra) ?? '{}') as Record<string, unknown> };
};

/** The server must write the error model: `vgi_rpc.error_code` on every EXCEPTION batch. */
export const requireErrorModel = (_ctx: SkipContext, error: WireError): void => {
  if (!error.top.has(Keys.errorCode)) throw new Error(`the EXCEPTION batch carries no ${Keys.errorCode}`);
};

/**
 * Send one unary request for `service.method` as hand-built bytes on a
 * transport and read the whole response stream. Only use it when no client
 * call is in flight on that transport.
 */
export const rawCall = async (
  transport: ClientTransport,
  service: AnyService,
  method: string,
  params: Record<string, unknown>,
): Promise<RawResponse> => {
  const def = service.methods[method] as MethodDef | undefined;
  if (def === undefined) throw new Error(`${service.name} has no method ${method}`);
  const target: Target = { protocol: service.name, protocolVersion: service.version };
  const out: Uint8Array[] = [];
  encodeRequest(out, target, method, def, params);
  await transport.write(out);
  return readResponse(transport);
};

/** Send pre-built request bytes and read one response stream. */
export const rawSend = async (transport: ClientTransport, chunks: readonly Uint8Array[]): Promise<RawResponse> => {
  await transport.write(chunks);
  return readResponse(transport);
};

/** Compare detail arrays as JSON values (the reference's `_same_details`; JSON numbers 7 and 7.0 are one value). */
export const sameDetails = (got: unknown, expected: unknown): boolean => isDeepStrictEqual(got, expected);

/** Days since the Unix epoch for a calendar date (Arrow date32; Python `datetime.date`). */
export const date32 = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / 86_400_000;

/** Microseconds since the epoch (Arrow timestamp(us); Python `datetime.datetime`). */
export const timestampUs = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, us = 0): bigint =>
  BigInt(Date.UTC(y, mo - 1, d, h, mi, s)) * 1000n + BigInt(us);

/** Microseconds since midnight (Arrow time64(us); Python `datetime.time`). */
export const time64Us = (h: number, m: number, s: number, us: number): bigint => BigInt(((h * 60 + m) * 60 + s) * 1_000_000 + us);

/** A schema's fields as `name:Type:nullable` strings (e.g. `value:Int64:true`). */
export const fieldsOf = (schema: A.Schema): string[] => schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`);
