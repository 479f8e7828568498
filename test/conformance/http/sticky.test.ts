/**
 * Port of TestSticky (18 of its 19 tests) from the reference conformance suite,
 * Query-farm/vgi-rpc-python vgi_rpc/conformance/_pytest_suite.py @
 * 749b55029f39211deb0687ac469f474349308b58.
 *
 * The reference drives sticky sessions through its HTTP client's
 * `with_session_token()` view; here `inSession` / `RawHttpClient.withSession`
 * (http-stream-support.ts) do the same on the wire: every request in the
 * scope sends `VGI-Session-Accept: true` and the current `VGI-Session`, the
 * token and `VGI-Echo-*` headers are captured from responses and dropped on
 * `VGI-Session-Close: true`, and leaving the scope with a live session sends
 * a best-effort `DELETE {prefix}/__session__` unless the token was detached.
 *
 * Fixtures: `conformance_http_port` (the plain worker; sticky on by default
 * with the echo header `x-vgi-conformance-echo: conformance-fixed-marker`
 * and the test-only `POST`/`DELETE /__test_drain__`), and the three
 * failure-path workers: `--sticky-ttl 1`; two peers sharing
 * `--token-key 5f…5f` with `--server-id conformance-peer-a|b`;
 * `--sticky-auth` (principal from `X-Conformance-Principal`).
 *
 * `test_describe_unchanged` needs no HTTP (the reference describes an
 * in-process server on a pipe pair), so it runs now, in
 * ../suite/sticky-describe.test.ts.
 */
import { expect, it } from 'vitest';
import { type HttpWorker, PLAIN_HTTP, httpGroup, httpWorker } from '../http-harness.js';
import {
  RawHttpClient,
  STICKY_AUTH_HTTP,
  STICKY_PEER_HTTP,
  STICKY_SHORT_TTL_HTTP,
  capabilities,
  columnValues,
  inSession,
  wireError,
} from './http-stream-support.js';

/** The part of vitest's test context used here. */
interface SkipContext {
  skip(condition: boolean, note?: string): void;
}

/** `_skip_unless_sticky`: skip unless `OPTIONS /health` advertises `VGI-Sticky-Enabled: true`. */
const skipUnlessSticky = async (ctx: SkipContext, worker: HttpWorker): Promise<void> => {
  const caps = await capabilities(worker);
  ctx.skip(!caps.stickyEnabled, 'server does not advertise VGI-Sticky-Enabled — sticky conformance N/A');
};

/** The plain worker, sticky-gated, and a client of it (`_connect(conformance_http_port)`). */
const plain = async (ctx: SkipContext): Promise<{ worker: HttpWorker; proxy: RawHttpClient }> => {
  const worker = await httpWorker(PLAIN_HTTP);
  await skipUnlessSticky(ctx, worker);
  return { worker, proxy: new RawHttpClient(worker) };
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

httpGroup('TestSticky', () => {
  it('test_open_and_resume', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      expect(await sess.call('open_counter', { initial: 7n })).toBe(7n);
      expect(sess.currentSessionToken(), 'server must mint a VGI-Session token').not.toBeNull();
      expect(await sess.call('increment_counter', { by: 10n }), 'session state must survive the second call').toBe(17n);
      // Accumulating state across calls: the same backend worker every time.
      expect(await sess.call('increment_counter', { by: 10n })).toBe(27n);
      expect(await sess.call('increment_counter', { by: 10n })).toBe(37n);
    });
  });

  it('test_explicit_close', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 1n });
      expect(await sess.call('close_counter')).toBe(1n);
      // VGI-Session-Close: true dropped the token, so nothing binds the next call and the method's own guard raises.
      expect(sess.currentSessionToken()).toBeNull();
      await wireError(sess.call('increment_counter', { by: 1n }));
    });
  });

  it('test_open_requires_accept_header', async (ctx) => {
    const { proxy } = await plain(ctx);
    // Outside any session scope: no VGI-Session-Accept header, so opening is refused.
    const e = await wireError(proxy.call('open_counter', { initial: 1n }));
    expect(e.errorType).toBe('RuntimeError');
    expect(e.message).toContain('VGI-Session-Accept');
  });

  it('test_session_lost_on_invalid_token', async (ctx) => {
    const { proxy } = await plain(ctx);
    const e = await inSession(proxy, 'not-a-real-token', (sess) => wireError(sess.call('increment_counter', { by: 1n })));
    expect(e.errorType).toBe('SessionLostError');
  });

  it('test_session_lost_after_explicit_close', async (ctx) => {
    const { proxy } = await plain(ctx);
    let stash: string | null = null;
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 99n });
      stash = sess.currentSessionToken();
      await sess.call('close_counter');
    });
    expect(stash).not.toBeNull();
    // Re-present the now-stale token in a new scope.
    const e = await inSession(proxy, stash, (sess2) => wireError(sess2.call('increment_counter', { by: 1n })));
    expect(e.errorType).toBe('SessionLostError');
  });

  it('test_delete_session_endpoint_idempotent_no_token', async (ctx) => {
    const { worker } = await plain(ctx);
    const res = await fetch(`${worker.origin}${worker.prefix}/__session__`, { method: 'DELETE' });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  });

  it('test_delete_session_endpoint_idempotent_on_garbage_token', async (ctx) => {
    const { worker } = await plain(ctx);
    const res = await fetch(`${worker.origin}${worker.prefix}/__session__`, { method: 'DELETE', headers: { 'VGI-Session': 'garbage' } });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  });

  it('test_capabilities_advertised', async (ctx) => {
    const { worker } = await plain(ctx);
    const caps = await capabilities(worker);
    expect(caps.stickyEnabled).toBe(true);
    // The default TTL is operator-tunable; it must be advertised as a positive integer.
    expect(caps.stickyDefaultTtl).not.toBeNull();
    expect(caps.stickyDefaultTtl!).toBeGreaterThan(0);
  });

  it('test_drain_rejects_new_opens', async (ctx) => {
    const { worker, proxy } = await plain(ctx);
    const drainUrl = `${worker.origin}/__test_drain__`;
    const probe = await fetch(drainUrl, { method: 'DELETE' });
    await probe.arrayBuffer();
    ctx.skip(probe.status === 404, "conformance server doesn't expose /__test_drain__ admin endpoint — drain conformance N/A for this port");
    try {
      await inSession(proxy, null, async (existing) => {
        // A session opened before draining keeps serving.
        await existing.call('open_counter', { initial: 10n });
        const drain = await fetch(drainUrl, { method: 'POST' });
        await drain.arrayBuffer();
        expect([200, 204], `unexpected status ${drain.status} from POST /__test_drain__`).toContain(drain.status);
        expect(await existing.call('increment_counter', { by: 5n }), 'existing-session calls must continue to serve during drain').toBe(15n);
        // Opening a new session while draining is refused.
        const e = await inSession(proxy, null, (fresh) => wireError(fresh.call('open_counter', { initial: 1n })));
        expect(e.errorType, `expected ServerDrainingError, got ${e.errorType}`).toBe('ServerDrainingError');
        await existing.call('close_counter');
      });
    } finally {
      // Always clear the flag so later tests on this shared worker are not poisoned.
      const clear = await fetch(drainUrl, { method: 'DELETE' });
      await clear.arrayBuffer();
    }
  });

  it('test_echo_header_round_trip', async (ctx) => {
    const { worker, proxy } = await plain(ctx);
    const caps = await capabilities(worker);
    ctx.skip(caps.stickyEchoHeaders.length === 0, "server doesn't advertise sticky echo headers — echo conformance N/A");
    const expectedName = 'x-vgi-conformance-echo';
    expect(caps.stickyEchoHeaders, `conformance server must advertise the '${expectedName}' echo header`).toContain(expectedName);
    await inSession(proxy, null, async (sess) => {
      // Opening a session must populate the captured echo headers from its VGI-Echo-* response header.
      await sess.call('open_counter', { initial: 1n });
      const captured = sess.currentEchoHeaders();
      expect(captured.has(expectedName), `client must capture VGI-Echo-${expectedName}; got ${JSON.stringify([...captured])}`).toBe(true);
      expect(captured.get(expectedName), 'captured value must round-trip the server-configured marker').toBe('conformance-fixed-marker');
    });
  });

  // Streaming methods sharing a sticky session: every HTTP turn re-enters the sticky handling.

  it('test_producer_stream_resumes_session', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 0n });
      const batches = await (await sess.producer('stream_session_counter', { count: 5n })).all();
      expect(batches).toHaveLength(5);
      expect(batches.map((b) => columnValues(b, 'value')[0])).toEqual([1n, 2n, 3n, 4n, 5n]);
      // The producer mutated the same backing object the unary path sees.
      expect(await sess.call('increment_counter', { by: 10n })).toBe(15n);
    });
  });

  it('test_exchange_stream_resumes_session', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 100n });
      let running = 100n;
      const stream = await sess.exchange('exchange_session_counter');
      try {
        for (const delta of [1n, 2n, 3n, 4n]) {
          running += delta;
          const out = await stream.exchange({ by: [delta] });
          expect(columnValues(out, 'value')[0]).toBe(running);
        }
      } finally {
        stream.close();
      }
      // Same counter, same value, through the unary path.
      expect(await sess.call('increment_counter', { by: 0n })).toBe(running);
    });
  });

  it('test_stream_without_session_raises', async (ctx) => {
    const { proxy } = await plain(ctx);
    // No session scope: no token, nothing resumed, so the producer raises.
    await wireError(async () => (await proxy.producer('stream_session_counter', { count: 3n })).all());
  });

  it('test_session_shared_between_unary_and_stream', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 10n });
      expect(await sess.call('increment_counter', { by: 5n })).toBe(15n);
      const batches = await (await sess.producer('stream_session_counter', { count: 3n })).all();
      expect(batches.map((b) => columnValues(b, 'value')[0])).toEqual([16n, 17n, 18n]);
      expect(await sess.call('increment_counter', { by: 2n })).toBe(20n);
      expect(await sess.call('close_counter')).toBe(20n);
    });
  });

  // Failure paths; each rejection is paired with a positive control on the same session.

  it('test_session_survives_method_exception', async (ctx) => {
    const { proxy } = await plain(ctx);
    await inSession(proxy, null, async (sess) => {
      await sess.call('open_counter', { initial: 1n });
      await wireError(sess.call('raise_value_error', { message: 'boom inside a sticky session' }));

      // A leaked per-session lock would block this call forever: give it a deadline instead of hanging the suite.
      const probe = sess.call('increment_counter', { by: 1n }).then(
        (value) => ({ done: true as const, value, failure: undefined }),
        (failure: unknown) => ({ done: true as const, value: undefined, failure }),
      );
      const outcome = await Promise.race([probe, sleep(15_000).then(() => ({ done: false as const, value: undefined, failure: undefined }))]);
      expect(outcome.done, 'call after an in-session exception never completed — the per-session lock was not released').toBe(true);
      expect(outcome.failure, `call after an in-session exception failed: ${String(outcome.failure)}`).toBeUndefined();
      expect([outcome.value], `session state must survive a raising method; got ${String(outcome.value)}`).toEqual([2n]);
      await sess.call('close_counter');
    });
  });

  it('test_expired_session_surfaces_session_lost', async (ctx) => {
    const worker = await httpWorker(STICKY_SHORT_TTL_HTTP);
    await skipUnlessSticky(ctx, worker);
    const ttl = (await capabilities(worker)).stickyDefaultTtl;
    expect(ttl, 'sticky server must advertise VGI-Sticky-Default-TTL').not.toBeNull();
    expect(ttl!, `short-TTL fixture must advertise a TTL a test can outwait; got ${ttl}s`).toBeLessThanOrEqual(5);
    await inSession(new RawHttpClient(worker), null, async (sess) => {
      await sess.call('open_counter', { initial: 1n });
      // Positive control: the session works before it ages out.
      expect(await sess.call('increment_counter', { by: 1n })).toBe(2n);
      // ttl + 1 s covers whole-second expiry, + 0.5 s of scheduling slack (evicting late is conformant, early is not).
      await sleep((ttl! + 1.5) * 1000);
      const e = await wireError(sess.call('increment_counter', { by: 1n }));
      expect(e.errorType, `an expired session must surface SessionLostError, got ${e.errorType}`).toBe('SessionLostError');
    });
  });

  it('test_token_from_other_worker_rejected', async (ctx) => {
    const workerA = await httpWorker(STICKY_PEER_HTTP[0]);
    const workerB = await httpWorker(STICKY_PEER_HTTP[1]);
    await skipUnlessSticky(ctx, workerA);

    const serverIds = new Set<unknown>();
    for (const w of [workerA, workerB]) {
      const res = await fetch(`${w.origin}/health`);
      serverIds.add(((await res.json()) as { server_id?: unknown }).server_id);
    }
    expect(serverIds.size, `peer fixture must supply two distinct workers; got ${JSON.stringify([...serverIds])}`).toBe(2);

    const token = await inSession(new RawHttpClient(workerA), null, async (sessA) => {
      await sessA.call('open_counter', { initial: 5n });
      return sessA.detach();
    });
    expect(token).not.toBeNull();

    const e = await inSession(new RawHttpClient(workerB), token, (sessB) => wireError(sessB.call('increment_counter', { by: 1n })));
    expect(e.errorType, `a token from another worker must surface SessionLostError, got ${e.errorType}`).toBe('SessionLostError');

    // Positive control: the same token still resolves on its owner.
    await inSession(new RawHttpClient(workerA), token, async (sessA2) => {
      expect(await sessA2.call('increment_counter', { by: 1n }), 'the owning worker must still honour the token').toBe(6n);
      await sessA2.call('close_counter');
    });
  });

  it('test_cross_principal_replay_rejected', async (ctx) => {
    const worker = await httpWorker(STICKY_AUTH_HTTP);
    await skipUnlessSticky(ctx, worker);
    const principalHeader = 'X-Conformance-Principal';

    const token = await inSession(new RawHttpClient(worker, { [principalHeader]: 'alice' }), null, async (aliceSess) => {
      await aliceSess.call('open_counter', { initial: 5n });
      expect(await aliceSess.call('increment_counter', { by: 1n }), 'a principal must be able to use its own session').toBe(6n);
      return aliceSess.detach();
    });
    expect(token).not.toBeNull();

    const e = await inSession(new RawHttpClient(worker, { [principalHeader]: 'bob' }), token, (bobSess) =>
      wireError(bobSess.call('increment_counter', { by: 100n })));
    expect(e.errorType, `a replayed cross-principal token must surface SessionLostError, got ${e.errorType}`).toBe('SessionLostError');

    // Positive control: the rejection was about identity, not the token.
    await inSession(new RawHttpClient(worker, { [principalHeader]: 'alice' }), token, async (aliceSess2) => {
      expect(await aliceSess2.call('increment_counter', { by: 1n }), 'the owning principal must still resume the session').toBe(7n);
      await aliceSess2.call('close_counter');
    });
  });
});
