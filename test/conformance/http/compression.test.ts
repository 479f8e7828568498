/**
 * Port of TestHttpCompressionNegotiationConformance
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 *
 * Fixtures: `conformance_http_port` is PLAIN_HTTP, and
 * `conformance_http_no_compression_port` is NO_COMPRESSION_HTTP. Request bodies
 * are compressed here: zstd with zstd-napi, gzip with node:zlib.
 *
 * Bodies are read with fetch, which undoes gzip/deflate/br in
 * `Content-Encoding` by itself. The tests that read a body pin `identity`,
 * and the others only read headers, so this changes nothing they assert.
 */
import { expect, it } from 'vitest';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import {
  type HttpReply,
  NO_COMPRESSION_HTTP,
  advertisedEncodings,
  compressBody,
  postArrow,
  resultValue,
  responseCodec,
  rpcPath,
  snippet,
  unaryRequestBody,
} from './http-support.js';

/** Large and highly compressible, so it clears every implementation's minimum-size floor. */
const PAYLOAD = 'conformance-compression-probe '.repeat(4096);

/** `_echo`: POST `echo_string(PAYLOAD)` with extra headers; the call must succeed. */
const echo = async (w: HttpWorker, headers: Readonly<Record<string, string>>): Promise<HttpReply> => {
  const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_string')}`, unaryRequestBody('echo_string', { value: PAYLOAD }), headers, 30_000);
  expect(resp.status, `${resp.status}: ${snippet(resp)}`).toBe(200);
  return resp;
};

/** `_echo_compressed`: a compressed `echo_string(PAYLOAD)` request asking for a plain reply (status not asserted). */
const echoCompressed = (w: HttpWorker, codec: 'zstd' | 'gzip'): Promise<HttpReply> =>
  postArrow(
    `${w.origin}${rpcPath(w.prefix, 'echo_string')}`,
    compressBody(codec, unaryRequestBody('echo_string', { value: PAYLOAD })),
    { 'Content-Encoding': codec, 'Accept-Encoding': 'identity', 'X-VGI-Accept-Encoding': 'identity' },
    30_000,
  );

/** `_required_encodings`: the primary worker must advertise exactly {zstd, gzip}. */
const requiredEncodings = async (w: HttpWorker): Promise<string[]> => {
  const advertised = await advertisedEncodings(w.origin);
  expect(advertised, 'conformance worker must advertise VGI-Supported-Encodings').toBeDefined();
  expect(new Set(advertised), `conformance worker must support both zstd and gzip, got ${advertised?.join(', ')}`).toEqual(new Set(['zstd', 'gzip']));
  return advertised!;
};

const asCodec = (c: string): 'zstd' | 'gzip' => {
  if (c !== 'zstd' && c !== 'gzip') throw new Error(`unexpected codec ${c}`);
  return c;
};

httpGroup('TestHttpCompressionNegotiationConformance', () => {
  it('test_advertised_codec_decodes_a_compressed_request', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    for (const codec of await requiredEncodings(w)) {
      const resp = await echoCompressed(w, asCodec(codec));
      expect(resp.status, `${codec}: ${resp.status}: ${snippet(resp)}`).toBe(200);
      expect(resultValue(resp.body), codec).toBe(PAYLOAD);
    }
  });

  it('test_compression_disabled_server_survives_a_compressed_request', async () => {
    const w = await httpWorker(NO_COMPRESSION_HTTP);
    // `available_encodings()[0]`: zstd, the first codec the reference can produce.
    const resp = await echoCompressed(w, 'zstd');
    expect(resp.status, `compressed request must not 500: ${snippet(resp)}`).not.toBe(500);
    expect([200, 415], `${resp.status}: ${snippet(resp)}`).toContain(resp.status);
    if (resp.status === 200) {
      expect(responseCodec(resp.headers), 'a compression-disabled server must reply uncompressed').toBeUndefined();
      expect(resultValue(resp.body)).toBe(PAYLOAD);
    }
  });

  it('test_supported_encodings_is_advertised', async () => {
    const advertised = await requiredEncodings(await httpWorker(PLAIN_HTTP));
    // identity is always available; advertising it would wrongly imply a compressor.
    expect(advertised).not.toContain('identity');
  });

  it('test_identity_forces_an_uncompressed_response', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    await requiredEncodings(w);
    const resp = await echo(w, { 'X-VGI-Accept-Encoding': 'identity', 'Accept-Encoding': 'gzip, zstd' });
    expect(responseCodec(resp.headers), 'identity must not be answered with a codec').toBeUndefined();
  });

  for (const codec of ['zstd', 'gzip'] as const) {
    it(`test_custom_header_alone_negotiates[${codec}]`, async () => {
      const w = await httpWorker(PLAIN_HTTP);
      await requiredEncodings(w);
      // A blank Accept-Encoding reproduces a browser, where fetch() cannot set it;
      // left to the HTTP client's default, the codec would be found in both lists.
      const resp = await echo(w, { 'X-VGI-Accept-Encoding': codec, 'Accept-Encoding': '' });
      expect(responseCodec(resp.headers)).toBe(codec);
      expect((resp.headers.get('x-vgi-content-encoding') ?? '').trim().toLowerCase()).toBe(codec);
    });
  }

  it('test_custom_header_outranks_gzip_first_standard', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    await requiredEncodings(w);
    const resp = await echo(w, { 'Accept-Encoding': 'deflate, gzip, br, zstd', 'X-VGI-Accept-Encoding': 'zstd, gzip' });
    expect(responseCodec(resp.headers), "gzip listed first must not beat VGI's zstd preference").toBe('zstd');
    // zstd is in both headers, so the standard header carries it.
    expect((resp.headers.get('content-encoding') ?? '').trim().toLowerCase()).toBe('zstd');
  });

  it('test_empty_advertisement_means_never_compressed', async () => {
    const w = await httpWorker(NO_COMPRESSION_HTTP);
    const advertised = await advertisedEncodings(w.origin);
    expect(advertised, 'header must be present, not omitted').toBeDefined();
    expect(advertised, `expected an empty advertisement, got ${advertised?.join(', ')}`).toEqual([]);
    const resp = await echo(w, { 'Accept-Encoding': 'zstd, gzip', 'X-VGI-Accept-Encoding': 'zstd, gzip' });
    expect(responseCodec(resp.headers)).toBeUndefined();
  });

  it('test_unproducible_codec_is_not_forced', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    await requiredEncodings(w);
    const resp = await echo(w, { 'Accept-Encoding': 'br' });
    expect(responseCodec(resp.headers), 'server must not claim a codec it was never offered').toBeUndefined();
  });
});
