/**
 * Port of TestCallTokenSplit (3 tests) and TestColdCallStateCache (2) from
 * the reference conformance suite, Query-farm/vgi-rpc-python
 * vgi_rpc/conformance/_pytest_suite.py @
 * 749b55029f39211deb0687ac469f474349308b58.
 *
 * TestCallTokenSplit reads the wire directly, as the reference does, against
 * the plain worker (`conformance_http_port`). TestColdCallStateCache runs
 * against `conformance_http_cold_call_cache_port`, the worker started with
 * `--no-call-state-cache`, so every continuation must be resolved from the
 * call token the client echoes; the reference drives it with its HTTP
 * client, here the raw client of http-stream-support.ts does (it echoes
 * both tokens on every continuation).
 */
import { expect, it } from 'vitest';
import { Keys } from '../../../src/wire/metadata-keys.js';
import type { DecodedBatch } from '../../../src/wire/stream-reader.js';
import { approxList } from '../suite/stream-support.js';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import {
  COLD_CALL_CACHE_HTTP,
  RawHttpClient,
  columnValues,
  emptyBatchBody,
  postArrowUncompressed,
  rpcUrl,
} from './http-stream-support.js';
import { allBatches, unaryRequestBody } from './http-support.js';

/** What a failed status assertion shows: the status and the start of the body. */
const describeResponse = (status: number, body: Uint8Array): string => `${status}: ${JSON.stringify(new TextDecoder().decode(body.subarray(0, 200)))}`;

httpGroup('TestCallTokenSplit', () => {
  /** `_init`: POST `{method}/init` with identity encoding pinned and return the response's batches. */
  const init = async (worker: HttpWorker, method: string, params: Record<string, unknown> = {}): Promise<DecodedBatch[]> => {
    const res = await postArrowUncompressed(rpcUrl(worker, method, '/init'), unaryRequestBody(method, params));
    expect(res.status, describeResponse(res.status, res.body)).toBe(200);
    return allBatches(res.body);
  };

  /** `_sentinel`: the metadata of the zero-row batch carrying the cursor token. */
  const sentinel = (batches: readonly DecodedBatch[]): ReadonlyMap<string, string> => {
    for (const b of batches) if (b.numRows === 0 && b.meta(Keys.streamState) !== undefined) return b.metadata!;
    throw new Error(`no token sentinel in response; batches=${JSON.stringify(batches.map((b) => [b.numRows, [...(b.metadata?.keys() ?? [])].sort()]))}`);
  };

  it('test_producer_init_mints_a_call_token', async () => {
    const md = sentinel(await init(await httpWorker(PLAIN_HTTP), 'produce_n', { count: 3n }));
    expect(md.has(Keys.callState), `producer /init must mint a call token alongside the cursor; got only ${JSON.stringify([...md.keys()].sort())}`).toBe(true);
    expect(md.get(Keys.callState), 'call token must not be empty').not.toBe('');
  });

  it('test_exchange_init_mints_a_call_token', async () => {
    const md = sentinel(await init(await httpWorker(PLAIN_HTTP), 'exchange_accumulate'));
    expect(md.has(Keys.callState), `exchange /init must mint a call token alongside the cursor; got only ${JSON.stringify([...md.keys()].sort())}`).toBe(true);
    expect(md.get(Keys.callState), 'call token must not be empty').not.toBe('');
  });

  it('test_continuation_does_not_reissue_the_call_token', async () => {
    const worker = await httpWorker(PLAIN_HTTP);
    const first = sentinel(await init(worker, 'produce_n', { count: 3n }));
    expect(first.has(Keys.callState), 'cannot check re-issue: /init minted no call token (see test_producer_init_mints_a_call_token)').toBe(true);
    const body = emptyBatchBody({ [Keys.streamState]: first.get(Keys.streamState)!, [Keys.callState]: first.get(Keys.callState)! });
    const res = await postArrowUncompressed(rpcUrl(worker, 'produce_n', '/exchange'), body);
    expect(res.status, describeResponse(res.status, res.body)).toBe(200);
    for (const b of allBatches(res.body)) {
      expect(b.metadata?.has(Keys.callState) ?? false, 'a continuation response must not re-issue the call token').toBe(false);
    }
  });
});

httpGroup('TestColdCallStateCache', () => {
  it('test_producer_continuations_survive_a_cold_cache', async () => {
    const proxy = new RawHttpClient(await httpWorker(COLD_CALL_CACHE_HTTP));
    const batches = await (await proxy.producer('produce_n', { count: 5n })).all();
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(5);
  });

  it('test_exchange_turns_survive_a_cold_cache', async () => {
    const conn = new RawHttpClient(await httpWorker(COLD_CALL_CACHE_HTTP));
    const session = await conn.exchange('exchange_accumulate');
    const sums: number[] = [];
    try {
      // Three turns: the first follows /init, the rest are continuations; each must stand on its own.
      for (const n of [1.0, 2.0, 3.0]) sums.push(columnValues(await session.exchange({ value: [n] }), 'running_sum')[0] as number);
    } finally {
      session.close();
    }
    approxList(sums, [1.0, 3.0, 6.0]);
  });
});
