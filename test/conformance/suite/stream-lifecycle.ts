/**
 * Port of the reference's `vgi_rpc/conformance/_lifecycle_tests.py`
 * (index version 601fa8d, the one imported by `_pytest_suite.py` @ 749b550):
 * the multi-step recovery and cancellation assertions shared by
 * TestErrorRecovery and TestCancel. Function names follow the reference
 * (`assert_cancel_producer_once` → `assertCancelProducerOnce`).
 *
 * Unlike the reference these also close every session they open on failure
 * paths, because the subprocess transport shares one connection across a
 * group's tests.
 */
import { expect } from 'vitest';
import type { ConformanceConn } from '../harness.js';
import { Output } from '../../../src/index.js';
import { rpcError, settle, using } from './stream-support.js';

type Svc = ConformanceConn['svc'];

/** `_expect_rpc_error`: `call` must surface a server-side RpcError. */
const expectRpcError = async (call: () => Promise<unknown>, operation: string): Promise<void> => {
  const e = await rpcError(call).catch((err: unknown) => {
    throw new Error(`${operation} did not raise RpcError: ${String(err)}`);
  });
  // A server-side error carries the server's exception type, never a local client-side one.
  expect(['ProtocolError', 'TransportError'], `${operation}: ${e.errorType}: ${e.message}`).not.toContain(e.errorType);
};

/** `_assert_same_proxy_healthy`: unary and streaming dispatch still work on the same connection. */
export const assertSameProxyHealthy = async (svc: Svc): Promise<void> => {
  expect(await svc.echo_int({ value: 42n })).toBe(42n);
  await using(svc.exchange_scale({ factor: 2.0 }), async (session) => {
    const output = await session.exchange(Output.rows([{ value: 5.0 }]));
    const actual = output.values('value')[0];
    expect(actual).not.toBeNull();
    expect(actual).not.toBeUndefined();
    expect(Math.abs(actual! - 10.0)).toBeLessThan(1e-6);
  });
  expect(await svc.echo_string({ value: 'recovered' })).toBe('recovered');
};

/** `assert_unary_error_recovery`. */
export const assertUnaryErrorRecovery = async (svc: Svc): Promise<void> => {
  await expectRpcError(() => svc.raise_runtime_error({ message: 'intentional recovery probe' }), 'raise_runtime_error');
  await assertSameProxyHealthy(svc);
};

/** `assert_producer_error_recovery`. */
export const assertProducerErrorRecovery = async (svc: Svc): Promise<void> => {
  await expectRpcError(async () => {
    const session = await svc.produce_error_mid_stream({ emit_before_error: 1n });
    try {
      for await (const _batch of session) {
        // drain
      }
    } finally {
      await settle(session);
    }
  }, 'produce_error_mid_stream');
  await assertSameProxyHealthy(svc);
};

/** `assert_exchange_error_recovery`. */
export const assertExchangeErrorRecovery = async (svc: Svc): Promise<void> => {
  const session = await svc.exchange_error_on_nth({ fail_on: 3n });
  try {
    await session.exchange(Output.rows([{ value: 1.0 }]));
    await session.exchange(Output.rows([{ value: 2.0 }]));
    await expectRpcError(() => session.exchange(Output.rows([{ value: 3.0 }])), 'third exchange_error_on_nth turn');
  } finally {
    await settle(session);
  }
  await assertSameProxyHealthy(svc);
};

/** `proxy.cancel_probe_counters()` as numbers `[produce_calls, exchange_calls, on_cancel_calls]`. */
export const cancelProbeCounters = async (svc: Svc): Promise<[number, number, number]> => {
  const c = await svc.cancel_probe_counters();
  expect(c).toHaveLength(3);
  return c.map((n) => Number(n)) as [number, number, number];
};

/** `assert_cancel_producer_once`. */
export const assertCancelProducerOnce = async (svc: Svc): Promise<void> => {
  await svc.reset_cancel_probe();
  const session = await svc.cancellable_producer();
  try {
    const iterator = session[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      const r = await iterator.next();
      expect(r.done).toBe(false);
    }
    await session.cancel();
    await iterator.return?.(undefined);
  } finally {
    await settle(session);
  }
  const [produceCalls, exchangeCalls, onCancelCalls] = await cancelProbeCounters(svc);
  expect(produceCalls, `expected produce_calls>=3, got ${produceCalls}`).toBeGreaterThanOrEqual(3);
  expect(exchangeCalls, `expected exchange_calls=0, got ${exchangeCalls}`).toBe(0);
  expect(onCancelCalls, `expected on_cancel_calls=1, got ${onCancelCalls}`).toBe(1);
  await assertSameProxyHealthy(svc);
};

/** `assert_cancel_exchange_once`. */
export const assertCancelExchangeOnce = async (svc: Svc): Promise<void> => {
  await svc.reset_cancel_probe();
  const session = await svc.cancellable_exchange();
  try {
    await session.exchange(Output.rows([{ value: 1.0 }]));
    await session.exchange(Output.rows([{ value: 2.0 }]));
    await session.cancel();
  } finally {
    await settle(session);
  }
  const [produceCalls, exchangeCalls, onCancelCalls] = await cancelProbeCounters(svc);
  expect(produceCalls, `expected produce_calls=0, got ${produceCalls}`).toBe(0);
  expect(exchangeCalls, `expected exchange_calls=2, got ${exchangeCalls}`).toBe(2);
  expect(onCancelCalls, `expected on_cancel_calls=1, got ${onCancelCalls}`).toBe(1);
};

/** `assert_cancel_before_exchange_once`. */
export const assertCancelBeforeExchangeOnce = async (svc: Svc): Promise<void> => {
  await svc.reset_cancel_probe();
  const session = await svc.cancellable_exchange();
  try {
    await session.cancel();
  } finally {
    await settle(session);
  }
  const [produceCalls, exchangeCalls, onCancelCalls] = await cancelProbeCounters(svc);
  expect(produceCalls, `expected produce_calls=0, got ${produceCalls}`).toBe(0);
  expect(exchangeCalls, `expected exchange_calls=0, got ${exchangeCalls}`).toBe(0);
  expect(onCancelCalls, `expected on_cancel_calls=1, got ${onCancelCalls}`).toBe(1);
  await assertSameProxyHealthy(svc);
};

/** `assert_cancel_idempotent_once`. */
export const assertCancelIdempotentOnce = async (svc: Svc): Promise<void> => {
  await svc.reset_cancel_probe();
  const session = await svc.cancellable_exchange();
  try {
    await session.cancel();
    await session.cancel();
  } finally {
    await settle(session);
  }
  const [produceCalls, exchangeCalls, onCancelCalls] = await cancelProbeCounters(svc);
  expect(produceCalls, `expected produce_calls=0, got ${produceCalls}`).toBe(0);
  expect(exchangeCalls, `expected exchange_calls=0, got ${exchangeCalls}`).toBe(0);
  expect(onCancelCalls, `expected on_cancel_calls=1, got ${onCancelCalls}`).toBe(1);
  await assertSameProxyHealthy(svc);
};

/**
 * `assert_cancel_close_ordering_safe`, which accepts 1 or 2 `on_cancel_calls`
 * on any transport. Returns the count it read, so a test can pin the value
 * its transport must give.
 */
export const assertCancelCloseOrderingSafe = async (svc: Svc): Promise<number> => {
  await svc.reset_cancel_probe();
  const closeThenCancel = await svc.cancellable_exchange();
  try {
    await closeThenCancel.close();
    await closeThenCancel.cancel();
  } finally {
    await settle(closeThenCancel);
  }

  const cancelThenClose = await svc.cancellable_exchange();
  try {
    await cancelThenClose.cancel();
    await cancelThenClose.close();
  } finally {
    await settle(cancelThenClose);
  }

  const [produceCalls, exchangeCalls, onCancelCalls] = await cancelProbeCounters(svc);
  expect(produceCalls, `expected produce_calls=0, got ${produceCalls}`).toBe(0);
  expect(exchangeCalls, `expected exchange_calls=0, got ${exchangeCalls}`).toBe(0);
  // Stateless HTTP may close an unused stream without a live cancel token;
  // persistent transports observe that close as cancellation.
  expect([1, 2], `expected on_cancel_calls in (1, 2), got ${onCancelCalls}`).toContain(onCancelCalls);
  await assertSameProxyHealthy(svc);
  return onCancelCalls;
};
