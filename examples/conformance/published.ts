/**
 * `published_string` (the 90th method, newer than the npm peer; notes §4.8).
 *
 * The reference publishes `{result: [value]}` once to the worker's external
 * storage, caches the reference per `(value, include_sha256)`, and answers
 * every call with a pointer batch (`vgi_rpc.location` [+ `.sha256`]) instead
 * of the value. Without storage it raises
 * `RuntimeError("published_string requires external storage")`.
 *
 * This runtime has no external storage yet, and a unary handler cannot
 * answer with a pointer batch, so the method always takes the no-storage
 * path. When storage lands, the per-process cache belongs here.
 */
import * as Effect from 'effect/Effect';
import { Errors, type Handlers, Method, T } from '../../src/index.js';

/** The one method added after the peer era. */
export const publishedMethods = {
  published_string: Method.unary({ params: { value: T.utf8, include_sha256: T.bool }, result: T.utf8 }),
};

/** Handler of `published_string`: the reference's no-storage error. */
export const publishedHandlers: Handlers<typeof publishedMethods> = {
  published_string: () => Effect.fail(Errors.runtime('published_string requires external storage')),
};
