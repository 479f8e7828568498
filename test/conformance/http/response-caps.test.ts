/**
 * Port of TestHttpResponseCap (2 tests), TestExternalizedResponseCap (3) and
 * TestHttpResponseCapProducer (2) from the reference conformance suite,
 * Query-farm/vgi-rpc-python vgi_rpc/conformance/_pytest_suite.py @
 * 749b55029f39211deb0687ac469f474349308b58.
 *
 * Fixtures: `conformance_http_strict_cap_port` is the worker with
 * `--max-response-bytes 1048576 --max-externalized-response-bytes 1048576`
 * (the reference's strict-cap worker; the peer's `--strict`), and
 * `conformance_http_externalized_cap_port` the worker wired to the fake
 * storage with a tight 64 KiB external cap and a generous 8 MiB body cap
 * (4 KiB default externalize threshold), so the external cap is the one
 * that bites. The reference drives them with its HTTP client; here the raw
 * client of http-stream-support.ts does.
 */
import { expect, it } from 'vitest';
import { httpGroup, httpWorker } from '../http-harness.js';
import {
  type Capabilities,
  RawHttpClient,
  STRICT_CAP_HTTP,
  capabilities,
  columnValues,
  externalizedCapHttp,
  useFakeStorage,
  wireError,
} from './http-stream-support.js';

const fakeStorage = useFakeStorage();

httpGroup('TestHttpResponseCap', () => {
  it('test_unary_strict_fail', async () => {
    const worker = await httpWorker(STRICT_CAP_HTTP);
    const caps = await capabilities(worker);
    expect(caps.maxResponseBytes, 'strict-cap fixture must advertise a wire cap').not.toBeNull();
    const proxy = new RawHttpClient(worker);
    const e = await wireError(proxy.call('oversized_unary', { target_bytes: BigInt(caps.maxResponseBytes! * 4) }));
    expect(e.message).toMatch(/max_response_bytes/);
  });

  it('test_exchange_strict_fail', async () => {
    const worker = await httpWorker(STRICT_CAP_HTTP);
    const caps = await capabilities(worker);
    expect(caps.maxResponseBytes).not.toBeNull();
    const targetRows = Math.max(1024, Math.floor((caps.maxResponseBytes! * 4) / 16));
    const proxy = new RawHttpClient(worker);
    // The error may surface on /init or on the first exchange, as inside the reference's `with` block.
    const e = await wireError(async () => {
      const session = await proxy.exchange('exchange_oversized', { rows_per_batch: BigInt(targetRows) });
      try {
        await session.exchange({ value: [1.0] });
      } finally {
        session.close();
      }
    });
    expect(e.message).toMatch(/max_response_bytes/);
  });
});

httpGroup('TestExternalizedResponseCap', () => {
  /** `_caps`: skip unless the external cap is advertised. */
  const caps = async (ctx: { skip(condition: boolean, note?: string): void }): Promise<{ caps: Capabilities; cap: number; proxy: RawHttpClient }> => {
    const worker = await httpWorker(externalizedCapHttp((await fakeStorage()).url));
    const c = await capabilities(worker);
    ctx.skip(c.maxExternalizedResponseBytes === null, 'server does not advertise VGI-Max-Externalized-Response-Bytes');
    return { caps: c, cap: c.maxExternalizedResponseBytes!, proxy: new RawHttpClient(worker) };
  };

  it('test_unary_externalized_overshoot_fails', async (ctx) => {
    const { cap, proxy } = await caps(ctx);
    const payload = 'x'.repeat(cap * 8);
    const e = await wireError(proxy.call('echo_large_string', { value: payload }));
    expect(e.message).toMatch(/max_externalized_response_bytes/);
  });

  it('test_under_cap_still_externalizes', async (ctx) => {
    const { cap, proxy } = await caps(ctx);
    // Above a typical externalize threshold, well below the cap: travels the external channel without tripping it.
    const payload = 'y'.repeat(Math.floor(cap / 8));
    expect(await proxy.call('echo_large_string', { value: payload })).toBe(payload);
  });

  it('test_producer_gets_no_continuation_escape', async (ctx) => {
    const { cap, proxy } = await caps(ctx);
    const targetRows = Math.max(4096, Math.floor((cap * 8) / 16));
    const e = await wireError(async () => (await proxy.producer('produce_oversized_batch', { rows_per_batch: BigInt(targetRows) })).all());
    expect(e.message).toMatch(/max_externalized_response_bytes/);
  });
}, 'storage');

httpGroup('TestHttpResponseCapProducer', () => {
  it('test_cap_does_not_coalesce_producer_turns', async () => {
    const proxy = new RawHttpClient(await httpWorker(STRICT_CAP_HTTP));
    const session = await proxy.producer('produce_n', { count: 3n });
    const [first, firstToken] = await session.nextWithToken();
    expect(first).not.toBeNull();
    expect(columnValues(first!, 'index')[0]).toBe(0n);
    expect(firstToken, 'unfinished first turn must carry a continuation token').not.toBeNull();

    const [second, secondToken] = await session.nextWithToken();
    expect(second).not.toBeNull();
    expect(columnValues(second!, 'index')[0]).toBe(1n);
    expect(secondToken, 'unfinished second turn must carry a continuation token').not.toBeNull();
    session.close();
  });

  it('test_producer_overshoot_is_strict_error', async () => {
    const worker = await httpWorker(STRICT_CAP_HTTP);
    const caps = await capabilities(worker);
    expect(caps.maxResponseBytes).not.toBeNull();
    // About twice the wire cap of int64+int64 rows, in a single batch.
    const targetRows = Math.max(1024, Math.floor((caps.maxResponseBytes! * 2) / 16));
    const proxy = new RawHttpClient(worker);
    const e = await wireError(async () => (await proxy.producer('produce_oversized_batch', { rows_per_batch: BigInt(targetRows) })).all());
    expect(e.message).toMatch(/max_response_bytes/);
    expect(e.errorType).toBe('ResponseTooLargeError');
  });
});
