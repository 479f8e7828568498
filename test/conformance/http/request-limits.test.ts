/**
 * Port of TestCompressedHttpRequestCap
 * (vgi_rpc/conformance/_request_limits_pytest.py @ 1da388f, the only stored
 * version).
 *
 * Fixture: `conformance_http_small_request_cap_port` is SMALL_REQUEST_CAP_HTTP
 * (`--max-request-bytes 4096`). zstd bodies are compressed with zstd-napi,
 * gzip bodies with node:zlib.
 *
 * The stored version predates namespaced routes: it POSTs to the flat
 * `/echo_string` and `/echo_int`, which a current server answers with 404
 * before it reads the body (protocol-delta §2.2). Here the calls go to
 * `/ConformanceService/{method}`, as every hand-built request of the newest
 * suite does. The bodies also carry `vgi_rpc.protocol`, which the stored
 * version omits; over HTTP either form is accepted.
 */
import { expect, it } from 'vitest';
import { httpGroup, httpWorker } from '../http-harness.js';
import { SMALL_REQUEST_CAP_HTTP, compressBody, headerList, postArrow, request, resultValue, rpcPath, snippet, unaryRequestBody } from './http-support.js';

const IDENTITY = { 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' };

httpGroup('TestCompressedHttpRequestCap', () => {
  for (const codec of ['zstd', 'gzip'] as const) {
    it(`test_decoded_expansion_is_413_and_connection_recovers[${codec}]`, async (ctx) => {
      const w = await httpWorker(SMALL_REQUEST_CAP_HTTP);
      const options = await request(`${w.origin}/health`, { method: 'OPTIONS', timeoutMs: 3_000 });
      const rawCap = options.headers.get('vgi-max-request-bytes');
      if (rawCap === null) ctx.skip('fixture worker does not advertise max_request_bytes');
      const cap = Number.parseInt(rawCap!, 10);
      expect(cap >= 512 && cap <= 64 * 1024, `fixture must advertise a deliberately small request cap, got ${cap}`).toBe(true);

      const advertisedRaw = options.headers.get('vgi-supported-encodings');
      expect(advertisedRaw, 'server must advertise request codecs').not.toBeNull();
      expect(new Set(headerList(advertisedRaw!)), 'the conformance worker must support both zstd and gzip').toEqual(new Set(['zstd', 'gzip']));

      const expanded = unaryRequestBody('echo_string', { value: 'x'.repeat(Math.max(32 * 1024, cap * 8)) });
      const encoded = compressBody(codec, expanded);
      expect(expanded.byteLength).toBeGreaterThan(cap);
      expect(encoded.byteLength, `fixture cap ${cap} is too small for the ${codec} control body (${encoded.byteLength} encoded bytes)`).toBeLessThanOrEqual(cap);

      const rejected = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_string')}`, encoded, { 'Content-Encoding': codec, ...IDENTITY }, 3_000);
      expect(rejected.status, `${codec} decoded expansion must be 413, got ${rejected.status}: ${snippet(rejected)}`).toBe(413);

      const control = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 41 }), IDENTITY, 3_000);
      expect(control.status, snippet(control)).toBe(200);
      expect(resultValue(control.body)).toBe(41n);
    });
  }
});
