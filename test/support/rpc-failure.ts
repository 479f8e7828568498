/**
 * Test support: the RpcClientError a call fails with (a call that succeeds,
 * or fails with anything else, fails the test).
 */
import { RpcClientError } from '../../src/index.js';

/** Await `p` (or call it) and return the RpcClientError it rejects with. */
export const rpcFailure = async (p: Promise<unknown> | (() => Promise<unknown>)): Promise<RpcClientError> => {
  const promise = typeof p === 'function' ? p() : p;
  const e = await promise.then(
    (v) => new Error(`expected an RpcError, the call succeeded with ${String(v)}`),
    (err: unknown) => err,
  );
  if (!(e instanceof RpcClientError)) throw e instanceof Error ? e : new Error(String(e));
  return e;
};
