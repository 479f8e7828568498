/**
 * Port of TestErrorHeader and TestRequestId
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 *
 * Fixtures: `conformance_http_port` is PLAIN_HTTP, and
 * `conformance_http_access_log` is ACCESS_LOG_HTTP (its JSONL file is
 * `worker.accessLogPath`).
 *
 * test_a_stream_call_emits_one_record_per_turn consumes `produce_n(4)`
 * through the reference's HTTP client. No HTTP client exists here, so the
 * stream is driven on the wire as that client drives it: `/init`, then one
 * `/exchange` continuation per turn echoing both tokens, until a response
 * carries no cursor.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Reflection } from '../../../src/index.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import type { DecodedBatch } from '../../../src/wire/stream-reader.js';
import { errorOf } from '../../support/raw-exchange.js';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import {
  ACCESS_LOG_HTTP,
  type HttpReply,
  continuationBody,
  postArrow,
  readStreams,
  requestBody,
  rpcPath,
  snippet,
  textOf,
  tokenSentinel,
  unaryRequestBody,
} from './http-support.js';

type SkipContext = { skip(note?: string): never };

const RPC_ERROR_HEADER = 'x-vgi-rpc-error';
const REQUEST_ID_HEADER = 'X-Request-ID';
/** Batches to request from `produce_n`: more than one, so init-only logging is distinguishable. */
const STREAM_TURNS = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- TestErrorHeader

/** `TestErrorHeader._post`: a unary call at the first candidate prefix that does not answer 404. */
const errorHeaderPost = async (w: HttpWorker, method: string, params: Record<string, unknown>): Promise<HttpReply> => {
  let resp: HttpReply | undefined;
  for (const prefix of ['', '/vgi']) {
    resp = await postArrow(`${w.origin}${rpcPath(prefix, method)}`, unaryRequestBody(method, params), {}, 10_000);
    if (resp.status !== 404) return resp;
  }
  return resp!;
};

httpGroup('TestErrorHeader', () => {
  for (const method of ['raise_value_error', 'raise_type_error', 'raise_runtime_error']) {
    it(`test_error_response_sets_the_flag[${method}]`, async () => {
      const resp = await errorHeaderPost(await httpWorker(PLAIN_HTTP), method, { message: 'boom' });
      expect(
        resp.status,
        `a raising method must still answer 200 — the error rides the body, not the status (got ${resp.status} for '${method}')`,
      ).toBe(200);
      const flag = resp.headers.get(RPC_ERROR_HEADER);
      expect(flag, `X-VGI-RPC-Error absent on an error response from '${method}'`).not.toBeNull();
      expect(flag!.toLowerCase()).toBe('true');
    });
  }

  it('test_success_response_does_not_set_the_flag', async () => {
    const resp = await errorHeaderPost(await httpWorker(PLAIN_HTTP), 'echo_int', { value: 1 });
    expect(resp.status).toBe(200);
    const flag = resp.headers.get(RPC_ERROR_HEADER);
    expect(flag === null || flag.toLowerCase() !== 'true', `X-VGI-RPC-Error=${JSON.stringify(flag)} on a successful call`).toBe(true);
  });
});

// ---------------------------------------------------------------- TestRequestId

/** `TestRequestId._call`: `echo_int(1)`, optionally with an `X-Request-ID`, at the first candidate prefix answering 200. */
const requestIdCall = async (w: HttpWorker, requestId?: string): Promise<HttpReply> => {
  const headers = requestId === undefined ? {} : { [REQUEST_ID_HEADER]: requestId };
  let resp: HttpReply | undefined;
  for (const prefix of ['', '/vgi']) {
    resp = await postArrow(`${w.origin}${rpcPath(prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 1 }), headers, 10_000);
    if (resp.status === 200) return resp;
  }
  return resp!;
};

/** `_emitted`: the response's request id; skips when the port emits none. */
const emitted = async (ctx: SkipContext, w: HttpWorker, requestId?: string): Promise<string> => {
  const resp = await requestIdCall(w, requestId);
  expect(resp.status, `${resp.status}: ${textOf(resp).slice(0, 200)}`).toBe(200);
  const got = resp.headers.get(REQUEST_ID_HEADER);
  if (got === null) ctx.skip(`server does not emit ${REQUEST_ID_HEADER}`);
  return got;
};

/** The `vgi_rpc.access` records of a JSONL access log (all of them, or those after line `from`). */
const accessRecords = (path: string, from = 0): Record<string, unknown>[] => {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(from)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.logger === 'vgi_rpc.access');
};

/** Non-empty lines of the access log so far. */
const logLines = (path: string): number => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').length : 0);

/** Poll the log for up to 10 s until `done(records)` holds (the record is written as the response completes); returns the last read. */
const pollRecords = async (path: string, from: number, done: (records: Record<string, unknown>[]) => boolean): Promise<Record<string, unknown>[]> => {
  const deadline = Date.now() + 10_000;
  let records: Record<string, unknown>[] = [];
  while (Date.now() < deadline) {
    records = accessRecords(path, from);
    if (done(records)) break;
    await sleep(200);
  }
  return records;
};

const logPathOf = (w: HttpWorker): string => {
  if (w.accessLogPath === undefined) throw new Error('the access-log fixture exposes no log path');
  return w.accessLogPath;
};

/** Data batches of a producer turn (neither log/error batches nor the token sentinel); throws on an EXCEPTION batch. */
const turnData = (batches: readonly DecodedBatch[]): DecodedBatch[] => {
  const data: DecodedBatch[] = [];
  for (const b of batches) {
    const level = b.meta(Keys.logLevel);
    if (level === 'EXCEPTION') throw new Error(`the stream failed: ${b.meta(Keys.logMessage) ?? '(no message)'}`);
    if (level !== undefined) continue;
    if (b.numRows === 0 && b.meta(Keys.streamState) !== undefined) continue;
    data.push(b);
  }
  return data;
};

/**
 * Run a producer to its end on the wire; `routed: false` when `/init` is
 * answered 404 with `method_not_implemented` (the worker serves no HTTP streams).
 */
const drainProducer = async (w: HttpWorker, method: string, params: Record<string, unknown>): Promise<{ routed: boolean; data: DecodedBatch[] }> => {
  const identity = { 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' };
  let resp = await postArrow(`${w.origin}${rpcPath(w.prefix, method, '/init')}`, unaryRequestBody(method, params), identity, 10_000);
  if (resp.status === 404) {
    const kind = readStreams(resp.body).map(errorOf).find((e) => e !== undefined)?.kind;
    if (kind === 'method_not_implemented') return { routed: false, data: [] };
  }
  const data: DecodedBatch[] = [];
  let callToken: string | undefined;
  for (let turn = 0; ; turn++) {
    expect(resp.status, `turn ${turn}: ${resp.status}: ${snippet(resp)}`).toBe(200);
    const batches = readStreams(resp.body).flatMap((s) => s.batches);
    data.push(...turnData(batches));
    const sentinel = tokenSentinel(batches);
    if (sentinel === undefined) return { routed: true, data };
    callToken = sentinel.meta(Keys.callState) ?? callToken;
    if (turn > 100) throw new Error(`${method} did not finish after ${turn} turns`);
    resp = await postArrow(`${w.origin}${rpcPath(w.prefix, method, '/exchange')}`, continuationBody(sentinel.meta(Keys.streamState)!, callToken), identity, 10_000);
  }
};

httpGroup('TestRequestId', () => {
  it('test_response_carries_a_request_id', async (ctx) => {
    const got = await emitted(ctx, await httpWorker(PLAIN_HTTP));
    expect(got.trim(), 'request id must not be empty').not.toBe('');
  });

  it('test_inbound_request_id_is_echoed', async (ctx) => {
    const mine = 'conformance-request-id-0123456789';
    const got = await emitted(ctx, await httpWorker(PLAIN_HTTP), mine);
    expect(got, `inbound ${REQUEST_ID_HEADER} was replaced with ${JSON.stringify(got)}`).toBe(mine);
  });

  it('test_generated_ids_differ_between_requests', async (ctx) => {
    const w = await httpWorker(PLAIN_HTTP);
    const first = await emitted(ctx, w);
    const second = await emitted(ctx, w);
    expect(first, 'generated request ids must be unique per request').not.toBe(second);
  });

  it('test_request_id_matches_the_access_log', async (ctx) => {
    const w = await httpWorker(ACCESS_LOG_HTTP);
    const path = logPathOf(w);
    const mine = 'conformance-correlation-abcdef0123';
    expect(await emitted(ctx, w, mine)).toBe(mine);
    const records = await pollRecords(path, 0, (rs) => rs.some((r) => String(r.request_id ?? '') === mine));
    const ids = records.map((r) => String(r.request_id ?? ''));
    expect(ids, `the response reported ${REQUEST_ID_HEADER}='${mine}' but no access-log record carries that request_id (saw ${ids.slice(-5).join(', ')})`).toContain(mine);
  });

  it('test_a_secondary_protocols_record_carries_its_own_identity', async (ctx) => {
    const w = await httpWorker(ACCESS_LOG_HTTP);
    const path = logPathOf(w);
    const reflection = 'vgi_rpc.Reflection.v1';
    const body = requestBody(Reflection, 'list_protocols');
    let resp: HttpReply | undefined;
    for (const prefix of ['', '/vgi']) {
      resp = await postArrow(`${w.origin}${prefix}/${reflection}/list_protocols`, body, {}, 10_000);
      if (resp.status === 200) break;
    }
    if (resp!.status !== 200) ctx.skip(`worker does not host ${reflection} over HTTP (${resp!.status})`);

    const records = await pollRecords(path, 0, (rs) => rs.some((r) => r.method === 'list_protocols'));
    const mine = records.filter((r) => r.method === 'list_protocols');
    expect(mine.length, `a ${reflection} call succeeded but produced no access record naming it`).toBeGreaterThan(0);
    const app = records.filter((r) => r.method === 'echo_int');
    for (const rec of mine) {
      expect(rec.protocol, `a ${reflection} call logged protocol=${JSON.stringify(rec.protocol)}; the record must name the owning protocol`).toBe(reflection);
      if (app.length > 0) {
        expect(rec.protocol_hash, `a ${reflection} record carries the application protocol's digest`).not.toBe(app[0]!.protocol_hash);
      }
    }
  });

  it('test_a_stream_call_emits_one_record_per_turn', async (ctx) => {
    const w = await httpWorker(ACCESS_LOG_HTTP);
    const path = logPathOf(w);
    const before = logLines(path);

    const { routed, data } = await drainProducer(w, 'produce_n', { count: STREAM_TURNS });
    if (!routed) ctx.skip('worker does not serve produce_n over HTTP');
    expect(data.length, `produce_n(${STREAM_TURNS}) yielded ${data.length} batches; the stream must run several turns`).toBe(STREAM_TURNS);

    const streamRecords = (await pollRecords(path, before, (rs) => rs.some((r) => r.method === 'produce_n'))).filter((r) => r.method === 'produce_n');
    expect(streamRecords.length, 'a stream succeeded over HTTP but produced no access record').toBeGreaterThan(0);
    expect(streamRecords.length, `a ${STREAM_TURNS}-batch stream produced ${streamRecords.length} access record(s); every turn gets one`).toBeGreaterThan(1);
    for (const rec of streamRecords) {
      expect(rec.method_type, `a stream record reports method_type=${JSON.stringify(rec.method_type)}`).toBe('stream');
      const sid = rec.stream_id;
      expect(typeof sid === 'string' && sid.length === 32 && sid === sid.toLowerCase(), `stream_id must be 32 lowercase hex characters, got ${JSON.stringify(sid)}`).toBe(true);
    }
    const ids = new Set(streamRecords.map((r) => r.stream_id));
    expect(ids.size, `records of one stream call must share a stream_id, saw ${[...ids].map(String).sort().join(', ')}`).toBe(1);
  });
});
