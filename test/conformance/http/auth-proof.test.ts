/**
 * Port of TestUnauthorized, TestProxyProof and TestProxyProofOffMode
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550; proof vectors from
 * vgi_rpc/conformance/proof_harness.py @ 31f50f7).
 *
 * Fixtures: `conformance_http_auth_port` and its alias
 * `conformance_http_auth_reason_port` are AUTH_HTTP (one reject-all worker).
 * `proof_worker_factory(config)` is `proofSpec(config)` (mounted at `/vgi`),
 * and `conformance_http_port` is PLAIN_HTTP. A proof worker is shared by every
 * test of this file that uses the same config. The reference starts a fresh
 * one per `with` block, and no test here depends on that: the only fixed
 * nonces are those of test_replayed_nonce_rejected, and they are used nowhere
 * else.
 */
import { expect, it } from 'vitest';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import {
  AUTH_HTTP,
  type HttpReply,
  PROOF_DEFAULT,
  PROOF_KID,
  PROOF_SECOND_KID,
  PROOF_SECOND_SECRET_HEX,
  PROOF_SECRET_HEX,
  type ProofConfig,
  jsonOf,
  mintProof,
  postArrow,
  proofSpec,
  request,
  rpcPath,
  unaryRequestBody,
  withSecondKey,
} from './http-support.js';

const PROOF_HEADER = 'VGI-Proxy-Proof';
const PROOF_REQUIRED_HEADER = 'vgi-proxy-proof-required';
const AUTH_REASON_HEADER = 'vgi-auth-reason';
const AUTH_PROXY_REQUIRED_HEADER = 'vgi-auth-proxy-required';
/** The closed set of reason codes (docs/unauthorized-spec.md §3), spelled out. */
const AUTH_REASONS = new Set(['missing_credential', 'invalid_credential', 'expired_credential', 'insufficient_scope', 'proxy_required', 'unauthorized']);
/** The header a request names its wanted refusal reason in (honoured by the auth-reason worker). */
const CONFORMANCE_REASON_HEADER = 'X-Conformance-Auth-Reason';
/** The reasons a request can ask for (`proxy_required` and `unauthorized` are asserted separately). */
const REQUESTABLE_REASONS = ['missing_credential', 'invalid_credential', 'expired_credential', 'insufficient_scope'] as const;

const SKIP_NO_REASON = 'server does not emit VGI-Auth-Reason';

/** A proof worker as the reference's `ProofWorker`: the running worker plus the config it was started with. */
interface ProofWorker {
  readonly worker: HttpWorker;
  readonly config: ProofConfig;
}

const proofWorker = async (config: ProofConfig): Promise<ProofWorker> => ({ worker: await httpWorker(proofSpec(config)), config });

/** `ProofWorker.rpc_url(method)`. */
const rpcUrl = (p: ProofWorker, method: string): string => `${p.worker.origin}${rpcPath(p.worker.prefix, method)}`;

/** `TestProxyProof._mint`: a proof for this worker under the conformance key. */
const mint = (p: ProofWorker, opts: { readonly now?: number; readonly nonce?: string } = {}): string =>
  mintProof(PROOF_SECRET_HEX, PROOF_KID, p.config.originId, opts);

/** Unix seconds. */
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- TestUnauthorized

/**
 * `TestUnauthorized._post`: POST a well-formed `echo_int` body to whichever
 * candidate RPC path answers 401; fails when none does.
 */
const unauthorizedPost = async (w: HttpWorker, accept?: string, wantReason?: string): Promise<HttpReply> => {
  const headers: Record<string, string> = {};
  if (accept !== undefined) headers.accept = accept;
  if (wantReason !== undefined) headers[CONFORMANCE_REASON_HEADER] = wantReason;
  const body = unaryRequestBody('echo_int', { value: 1 });
  let last: HttpReply | undefined;
  for (const prefix of ['', '/vgi']) {
    last = await postArrow(`${w.origin}${rpcPath(prefix, 'echo_int')}`, body, headers);
    if (last.status === 401) return last;
  }
  throw new Error(`no RPC endpoint returned 401 on port ${w.port}; last status ${last?.status}`);
};

/** `TestUnauthorized._proof_post`: POST to a proof worker, optionally with a proof. */
const proofPost = (p: ProofWorker, token: string | undefined): Promise<HttpReply> =>
  postArrow(rpcUrl(p, 'echo_int'), unaryRequestBody('echo_int', { value: 1 }), {
    accept: '*/*',
    ...(token === undefined ? {} : { [PROOF_HEADER]: token }),
  });

httpGroup('TestUnauthorized', () => {
  /** `_gated`: a 401 from the auth worker; skips when the port predates the reason-code contract. */
  const gated = async (ctx: { skip(note?: string): never }, accept?: string): Promise<HttpReply> => {
    const resp = await unauthorizedPost(await httpWorker(AUTH_HTTP), accept);
    if (!resp.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
    return resp;
  };
  /** `_reason_port`: the worker honouring X-Conformance-Auth-Reason (the same reject-all worker). */
  const reasonWorker = (): Promise<HttpWorker> => httpWorker(AUTH_HTTP);

  it('test_reason_header_present', async (ctx) => {
    const resp = await gated(ctx);
    expect(resp.headers.get(AUTH_REASON_HEADER)).toBeTruthy();
  });

  it('test_reason_in_closed_set', async (ctx) => {
    const resp = await gated(ctx);
    const reason = resp.headers.get(AUTH_REASON_HEADER)!;
    expect(AUTH_REASONS.has(reason), `${JSON.stringify(reason)} is not one of ${[...AUTH_REASONS].sort().join(', ')}`).toBe(true);
  });

  for (const want of REQUESTABLE_REASONS) {
    it(`test_requested_reason_is_honoured[${want}]`, async (ctx) => {
      const resp = await unauthorizedPost(await reasonWorker(), '*/*', want);
      if (!resp.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
      expect(resp.headers.get(AUTH_REASON_HEADER)).toBe(want);
      expect(jsonOf(resp).reason).toBe(want);
    });
  }

  it('test_unclassified_failure_is_unauthorized', async (ctx) => {
    const resp = await unauthorizedPost(await reasonWorker(), '*/*');
    if (!resp.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
    expect(resp.headers.get(AUTH_REASON_HEADER)).toBe('unauthorized');
  });

  it('test_reason_codes_are_distinct', async (ctx) => {
    const w = await reasonWorker();
    const first = await unauthorizedPost(w, '*/*', REQUESTABLE_REASONS[0]);
    if (!first.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
    const seen = new Set<string | null>();
    for (const want of REQUESTABLE_REASONS) seen.add((await unauthorizedPost(w, '*/*', want)).headers.get(AUTH_REASON_HEADER));
    expect(seen.size, `reason codes are not discriminated: ${[...seen].sort().join(', ')}`).toBe(REQUESTABLE_REASONS.length);
  });

  it('test_proxy_required_is_not_request_driven', async (ctx) => {
    const resp = await unauthorizedPost(await reasonWorker(), '*/*', 'proxy_required');
    if (!resp.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
    expect(resp.headers.get(AUTH_REASON_HEADER)).not.toBe('proxy_required');
    expect(resp.headers.has(AUTH_PROXY_REQUIRED_HEADER)).toBe(false);
  });

  it('test_json_envelope_for_machine_clients', async (ctx) => {
    const resp = await gated(ctx, '*/*');
    const contentType = resp.headers.get('content-type') ?? '';
    expect(contentType.startsWith('application/json'), contentType).toBe(true);
    const body = jsonOf(resp);
    expect(body.error).toBe('unauthorized');
    expect(AUTH_REASONS.has(body.reason as string), `reason ${String(body.reason)}`).toBe(true);
    expect(typeof body.detail).toBe('string');
    // Header and body must tell the same story.
    expect(body.reason).toBe(resp.headers.get(AUTH_REASON_HEADER));
  });

  it('test_html_page_for_browsers', async (ctx) => {
    const resp = await gated(ctx, 'text/html,application/xhtml+xml');
    const contentType = resp.headers.get('content-type') ?? '';
    expect(contentType.startsWith('text/html') || contentType.startsWith('application/json'), contentType).toBe(true);
    expect(AUTH_REASONS.has(resp.headers.get(AUTH_REASON_HEADER) ?? '')).toBe(true);
  });

  it('test_not_cached', async (ctx) => {
    const resp = await gated(ctx);
    const cacheControl = resp.headers.get('cache-control') ?? '';
    expect(cacheControl.includes('no-store') || cacheControl.includes('no-cache'), `got ${JSON.stringify(cacheControl)}`).toBe(true);
  });

  it('test_no_proxy_note_without_proxy_auth', async (ctx) => {
    const resp = await gated(ctx, '*/*');
    expect(resp.headers.has(AUTH_PROXY_REQUIRED_HEADER)).toBe(false);
    expect('proxy_hint' in jsonOf(resp)).toBe(false);
  });

  it('test_proxy_note_when_proxy_required', async (ctx) => {
    const p = await proofWorker(PROOF_DEFAULT);
    const resp = await proofPost(p, undefined);
    if (!resp.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);
    expect(resp.status).toBe(401);
    expect(resp.headers.get(AUTH_PROXY_REQUIRED_HEADER)).toBe('true');
    expect(resp.headers.get(AUTH_REASON_HEADER)).toBe('proxy_required');
    expect(jsonOf(resp).proxy_hint, 'proxy_hint must be present and non-empty').toBeTruthy();
  });

  it('test_proxy_rejection_is_uniform', async (ctx) => {
    const p = await proofWorker(PROOF_DEFAULT);
    const good = mintProof(PROOF_SECRET_HEX, PROOF_KID, p.config.originId);
    // Positive control: a worker refusing everything would otherwise pass.
    expect((await proofPost(p, good)).status).toBe(200);

    const tampered = good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A');
    const responses = [await proofPost(p, undefined), await proofPost(p, 'not-a-proof'), await proofPost(p, tampered)];
    if (!responses[0]!.headers.has(AUTH_REASON_HEADER)) ctx.skip(SKIP_NO_REASON);

    const reasons = new Set(responses.map((r) => r.headers.get(AUTH_REASON_HEADER)));
    expect([...reasons], "reason leaked the verifier's diagnosis").toEqual(['proxy_required']);
    const details = new Set(responses.map((r) => jsonOf(r).detail));
    expect(details.size, `detail distinguishes proof failures: ${[...details].map(String).join(' | ')}`).toBe(1);
  });
});

// ---------------------------------------------------------------- TestProxyProof

/** `TestProxyProof._post`: POST a real `{method}(value=1)` body, optionally with a proof; returns the status. */
const proofStatus = async (p: ProofWorker, token: string | undefined, method = 'echo_int'): Promise<number> =>
  (await postArrow(rpcUrl(p, method), unaryRequestBody(method, { value: 1 }), token === undefined ? {} : { [PROOF_HEADER]: token })).status;

/** Malformed proof tokens (the parametrize list of test_malformed_rejected_not_500). */
const MALFORMED_TOKENS = [
  '',
  'garbage',
  'v1.a.b.c',
  'v1.a.b.c.d.e',
  `v2.conformance-proxy.1.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`,
  `v1.bad!kid.1.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`,
  `v1.conformance-proxy.notanumber.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`,
  `v1.conformance-proxy.1.short.${'A'.repeat(43)}`,
];

/** `_health_headers`: the headers of whichever health path answers 200. */
const healthHeaders = async (p: ProofWorker): Promise<Headers> => {
  for (const path of ['/health', `${p.worker.prefix}/health`]) {
    const resp = await request(`${p.worker.origin}${path}`);
    if (resp.status === 200) return resp.headers;
  }
  throw new Error('no health endpoint answered 200');
};

httpGroup('TestProxyProof', () => {
  it('test_valid_proof_accepted', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    expect(await proofStatus(p, mint(p))).toBe(200);
  });

  it('test_missing_proof_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    expect(await proofStatus(p, mint(p)), 'positive control failed').toBe(200);
    expect(await proofStatus(p, undefined)).toBe(401);
  });

  for (const token of MALFORMED_TOKENS) {
    it(`test_malformed_rejected_not_500[${token}]`, async () => {
      const p = await proofWorker(PROOF_DEFAULT);
      const status = await proofStatus(p, token);
      expect(status, `malformed token produced a server error: ${JSON.stringify(token)}`).not.toBe(500);
      expect(status).toBe(401);
    });
  }

  it('test_tampered_fields_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    const parts = mint(p, { nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }).split('.');
    for (const [index, replacement] of [[2, '1'], [3, 'BBBBBBBBBBBBBBBBBBBBBB'], [4, 'A'.repeat(43)]] as const) {
      const mutated = [...parts];
      mutated[index] = replacement;
      expect(await proofStatus(p, mutated.join('.')), `field ${index} tamper accepted`).toBe(401);
    }
  });

  it('test_wrong_origin_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    expect(await proofStatus(p, mint(p)), 'positive control failed').toBe(200);
    const foreign = mintProof(PROOF_SECRET_HEX, PROOF_KID, 'some-other-worker');
    expect(await proofStatus(p, foreign)).toBe(401);
  });

  it('test_expired_and_future_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    const skew = p.config.skewSeconds;
    const now = nowSeconds();
    expect(await proofStatus(p, mint(p)), 'positive control failed').toBe(200);
    expect(await proofStatus(p, mint(p, { now: now - skew - 60 })), 'expired accepted').toBe(401);
    expect(await proofStatus(p, mint(p, { now: now + skew + 60 })), 'future accepted').toBe(401);
  });

  it('test_replayed_nonce_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    const now = nowSeconds();
    const token = mint(p, { now, nonce: 'Q0ZPUk1BTkNFTk9OQ0UxMQ' });
    expect(await proofStatus(p, token)).toBe(200);
    expect(await proofStatus(p, token), 'replay accepted').toBe(401);
    const other = mint(p, { now, nonce: 'Q0ZPUk1BTkNFTk9OQ0UyMg' });
    expect(await proofStatus(p, other), 'distinct nonce in the same second must pass').toBe(200);
  });

  it('test_rotation_overlap', async () => {
    const p = await proofWorker(withSecondKey(PROOF_DEFAULT));
    const origin = p.config.originId;
    const old = mintProof(PROOF_SECRET_HEX, PROOF_KID, origin);
    const fresh = mintProof(PROOF_SECOND_SECRET_HEX, PROOF_SECOND_KID, origin);
    expect(await proofStatus(p, old), 'old key rejected during overlap').toBe(200);
    expect(await proofStatus(p, fresh), 'new key rejected during overlap').toBe(200);
  });

  it('test_unknown_kid_rejected', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    expect(await proofStatus(p, mintProof(PROOF_SECRET_HEX, 'no-such-kid', p.config.originId))).toBe(401);
  });

  it('test_health_and_options_exempt', async () => {
    const p = await proofWorker(PROOF_DEFAULT);
    expect(await proofStatus(p, undefined), 'positive control: RPC must be gated').toBe(401);
    // Health may live at the root or under the prefix; it must answer somewhere without a proof.
    const codes: Record<string, number> = {};
    for (const path of ['/health', `${p.worker.prefix}/health`]) codes[path] = (await request(`${p.worker.origin}${path}`)).status;
    expect(Object.values(codes), `health must be reachable unproofed: ${JSON.stringify(codes)}`).toContain(200);
  });

  it('test_require_mode_advertises_the_capability', async () => {
    const headers = await healthHeaders(await proofWorker(PROOF_DEFAULT));
    const value = headers.get(PROOF_REQUIRED_HEADER);
    expect(value, `require-mode worker must advertise VGI-Proxy-Proof-Required; got ${[...headers.keys()].sort().join(', ')}`).not.toBeNull();
    expect(value!.toLowerCase()).toBe('true');
  });

  it('test_allow_mode_does_not_advertise_the_capability', async () => {
    const headers = await healthHeaders(await proofWorker({ ...PROOF_DEFAULT, mode: 'allow' }));
    expect(headers.has(PROOF_REQUIRED_HEADER), 'allow mode must not advertise VGI-Proxy-Proof-Required').toBe(false);
  });

  it('test_allow_mode_does_not_deny', async () => {
    const p = await proofWorker({ ...PROOF_DEFAULT, mode: 'allow' });
    expect(await proofStatus(p, undefined), 'allow mode must not deny').toBe(200);
    expect(await proofStatus(p, mint(p))).toBe(200);
  });
}, 'proof');

// ---------------------------------------------------------------- TestProxyProofOffMode

httpGroup('TestProxyProofOffMode', () => {
  it('test_unconfigured_worker_accepts_without_a_proof', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 1 }));
    expect(resp.status).toBe(200);
  });

  it('test_unconfigured_worker_ignores_a_bogus_proof_header', async () => {
    const w = await httpWorker(PLAIN_HTTP);
    const resp = await postArrow(`${w.origin}${rpcPath(w.prefix, 'echo_int')}`, unaryRequestBody('echo_int', { value: 1 }), {
      [PROOF_HEADER]: 'v1.whatever.0.not-a-real-nonce.nope',
    });
    expect(resp.status).toBe(200);
  });
}, 'proof');
