/**
 * Port of TestServeStartLifecycle (1 test) from the reference conformance
 * suite, Query-farm/vgi-rpc-python
 * vgi_rpc/conformance/_transport_lifecycle_pytest.py @
 * 2b0b30f0480aec52327991c68929cb114ce0524c (the newest stored version),
 * collected by _pytest_suite.py @ 749b55029f39211deb0687ac469f474349308b58.
 *
 * Fixture `conformance_http_serve_start_fail_once_port`: the worker started
 * with `--fail-serve-start-once`, whose first on_serve_start notification
 * fails. The harness only waits for `PORT:<n>` (no HTTP readiness probe,
 * which would consume the injected failure).
 *
 * That stored version POSTs the flat `/add_floats` with a request that has
 * no `vgi_rpc.protocol`; the newest suite routes `/{protocol}/{method}` and
 * stamps the routing key on every hand-built request (a flat path is a 404
 * now), so this posts `/ConformanceService/add_floats` with a complete
 * request. Both requests go through `fetch`'s keep-alive pool, i.e. one
 * persistent client as in the reference.
 */
import { expect, it } from 'vitest';
import { approx } from '../suite/stream-support.js';
import { httpGroup, httpWorker } from '../http-harness.js';
import { SERVE_START_FAIL_ONCE_HTTP, columnValues, rpcUrl } from './http-stream-support.js';
import { ARROW_CONTENT_TYPE, allBatches, unaryRequestBody } from './http-support.js';

httpGroup('TestServeStartLifecycle', () => {
  it('test_first_failure_retries_and_keeps_listener_reusable', { timeout: 30_000 }, async () => {
    const worker = await httpWorker(SERVE_START_FAIL_ONCE_HTTP);
    const body = unaryRequestBody('add_floats', { a: 1.0, b: 2.0 });
    const url = rpcUrl(worker, 'add_floats');
    const headers = { 'Content-Type': ARROW_CONTENT_TYPE, 'Accept-Encoding': 'identity' };

    const failed = await fetch(url, { method: 'POST', body, headers });
    await failed.arrayBuffer();
    expect(failed.status, `the injected on_serve_start failure was not exposed: expected HTTP 500, got ${failed.status}`).toBe(500);

    const recovered = await fetch(url, { method: 'POST', body, headers });
    const content = new Uint8Array(await recovered.arrayBuffer());
    expect(recovered.status, `listener/process was not reusable after on_serve_start failure: follow-up returned HTTP ${recovered.status}`).toBe(200);
    const [result] = allBatches(content);
    expect(result, 'the recovered response carried no batch').toBeDefined();
    approx(columnValues(result!, 'result')[0] as number, 3.0);
  });
});
