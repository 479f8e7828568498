/**
 * Port of TestCors and TestCorsOffMode
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 *
 * Fixtures: `conformance_http_cors_port` is `corsHttp(url)` (CORS for
 * https://conformance.example, with storage on), and its
 * `conformance_fake_storage` is the in-process fake storage of
 * http-stream-support.ts. `conformance_http_port` is PLAIN_HTTP.
 */
import { expect, it } from 'vitest';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import { useFakeStorage } from './http-stream-support.js';
import { CORS_ORIGIN, corsHttp, type HttpReply, headerList, postArrow, request, rpcPath, snippet, unaryRequestBody } from './http-support.js';

/** Headers that ride failures rather than the success path OPTIONS /health describes, so they are named. */
const ALWAYS_EXPOSED = ['vgi-auth-reason', 'x-request-id', 'x-vgi-rpc-error'];
/** `Cross-Origin-Resource-Policy` of a CORS-enabled server. */
const CORP_VALUE = 'cross-origin';

const SKIP_NO_PREFLIGHT = 'server does not answer CORS preflights';
const SKIP_NO_CORS = 'server does not implement CORS';

const fakeStorage = useFakeStorage();

/** The `conformance_http_cors_port` worker. */
const corsWorker = async (): Promise<HttpWorker> => httpWorker(corsHttp((await fakeStorage()).url));

/** `_preflight`: a browser's preflight for an RPC POST with `Content-Type`. */
const preflight = (w: HttpWorker): Promise<HttpReply> =>
  request(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, {
    method: 'OPTIONS',
    headers: { Origin: CORS_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });

/** `_exposed`: `Access-Control-Expose-Headers` as a lower-case name set (`{'*'}` for the wildcard). */
const exposedOf = (r: HttpReply): Set<string> => {
  const raw = r.headers.get('access-control-expose-headers') ?? '';
  return raw.trim() === '*' ? new Set(['*']) : new Set(headerList(raw));
};

/** Capability headers a response carries (names starting `vgi-` or `x-vgi-`). */
const vgiHeaderNames = (r: HttpReply): Set<string> =>
  new Set([...r.headers.keys()].map((n) => n.toLowerCase()).filter((n) => n.startsWith('vgi-') || n.startsWith('x-vgi-')));

/** A cross-origin `echo_int(1)` POST, which must succeed. */
const crossOriginCall = async (w: HttpWorker): Promise<HttpReply> => {
  const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 1 }), { Origin: CORS_ORIGIN });
  expect(resp.status, `${resp.status}: ${snippet(resp)}`).toBe(200);
  return resp;
};

httpGroup('TestCors', () => {
  it('test_preflight_allows_the_origin', async (ctx) => {
    const resp = await preflight(await corsWorker());
    const allow = resp.headers.get('access-control-allow-origin');
    if (allow === null) ctx.skip(SKIP_NO_PREFLIGHT);
    expect([CORS_ORIGIN, '*'], `origin not allowed: ${JSON.stringify(allow)}`).toContain(allow);
  });

  it('test_preflight_allows_post', async (ctx) => {
    const resp = await preflight(await corsWorker());
    if (!resp.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_PREFLIGHT);
    const allowed = new Set((resp.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim().toUpperCase()));
    expect(allowed.has('POST') || allowed.has('*'), `POST not permitted: ${[...allowed].sort().join(', ')}`).toBe(true);
  });

  it('test_preflight_allows_the_content_type', async (ctx) => {
    const resp = await preflight(await corsWorker());
    if (!resp.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_PREFLIGHT);
    const allowed = new Set((resp.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase()));
    expect(allowed.has('content-type') || allowed.has('*'), `Content-Type not allowed: ${[...allowed].sort().join(', ')}`).toBe(true);
  });

  for (const header of ['content-type', 'x-vgi-accept-encoding', 'vgi-session', 'vgi-session-accept', 'vgi-proxy-proof']) {
    it(`test_preflight_allows_the_request_headers[${header}]`, async (ctx) => {
      const w = await corsWorker();
      const resp = await request(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, {
        method: 'OPTIONS',
        headers: { Origin: CORS_ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': header },
      });
      if (!resp.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_PREFLIGHT);
      const allowed = new Set((resp.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase()));
      expect(allowed.has(header) || allowed.has('*'), `a browser may not send '${header}'; allowed: ${[...allowed].sort().join(', ')}`).toBe(true);
    });
  }

  it('test_actual_response_carries_the_origin', async (ctx) => {
    const w = await corsWorker();
    const resp = await crossOriginCall(w);
    const allow = resp.headers.get('access-control-allow-origin');
    if (allow === null && !(await preflight(w)).headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_CORS);
    expect([CORS_ORIGIN, '*'], `actual response not readable cross-origin: ${JSON.stringify(allow)}`).toContain(allow);
  });

  it('test_advertised_capabilities_are_all_exposed', async (ctx) => {
    const w = await corsWorker();
    const pre = await preflight(w);
    if (!pre.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_CORS);
    const exposed = exposedOf(pre);
    if (exposed.has('*')) return; // a wildcard exposes everything
    const advertised = vgiHeaderNames(await request(`${w.origin}/health`, { method: 'OPTIONS' }));
    expect(advertised.size, 'server advertises no capability headers on OPTIONS /health').toBeGreaterThan(0);
    const missing = [...advertised].filter((h) => !exposed.has(h)).sort();
    expect(missing, `advertised but not readable by a browser (exposed: ${[...exposed].sort().join(', ')})`).toEqual([]);
  });

  it('test_worker_advertises_the_optional_capabilities', async () => {
    const w = await corsWorker();
    const advertised = vgiHeaderNames(await request(`${w.origin}/health`, { method: 'OPTIONS' }));
    expect(
      advertised.has('vgi-upload-url-support'),
      `the CORS worker advertises no upload-URL support; point the CORS fixture at a storage-enabled worker (got ${[...advertised].sort().join(', ')})`,
    ).toBe(true);
  });

  it('test_resource_policy_allows_cross_origin_embedders', async (ctx) => {
    const resp = await crossOriginCall(await corsWorker());
    if (!resp.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_CORS);
    // Not skipped when absent: a port that supplies the CORS fixture has declared browser support.
    const corp = resp.headers.get('cross-origin-resource-policy');
    expect(corp, `Cross-Origin-Resource-Policy is ${JSON.stringify(corp)}, expected '${CORP_VALUE}'`).toBe(CORP_VALUE);
  });

  for (const header of ALWAYS_EXPOSED) {
    it(`test_failure_path_headers_are_exposed[${header}]`, async (ctx) => {
      const pre = await preflight(await corsWorker());
      if (!pre.headers.has('access-control-allow-origin')) ctx.skip(SKIP_NO_CORS);
      const exposed = exposedOf(pre);
      expect(exposed.has(header) || exposed.has('*'), `${header} rides failure responses but is not exposed (exposed: ${[...exposed].sort().join(', ')})`).toBe(true);
    });
  }
});

httpGroup('TestCorsOffMode', () => {
  it('test_no_cors_headers_by_default', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    const resp = await request(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, {
      method: 'OPTIONS',
      headers: { Origin: CORS_ORIGIN, 'Access-Control-Request-Method': 'POST' },
    });
    expect(resp.headers.has('access-control-allow-origin'), 'an unconfigured server must not grant cross-origin access').toBe(false);
  });

  it('test_no_resource_policy_by_default', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 1 }), { Origin: CORS_ORIGIN });
    expect(resp.headers.has('cross-origin-resource-policy'), 'a server with no CORS configured must not send a resource policy').toBe(false);
  });
});
