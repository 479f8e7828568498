/**
 * Cryptographically random bytes for the HTTP server's per-request needs
 * (request ids, token nonces, call ids), drawn from 4 KiB of Web Crypto
 * randomness at a time. One `getRandomValues` call costs 3-10 µs on Node
 * whatever its size, a visible share of a whole request; drawn from a pool,
 * a nonce costs a copy. Every byte of the pool is handed out once.
 */

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let at = POOL_BYTES;

/** Make sure `n` unused bytes are in the pool (n <= POOL_BYTES). */
const reserve = (n: number): void => {
  if (at + n > POOL_BYTES) {
    globalThis.crypto.getRandomValues(pool);
    at = 0;
  }
};

/** `n` fresh random bytes in an array of their own. */
export const pooledRandomBytes = (n: number): Uint8Array => {
  if (n > 256) return globalThis.crypto.getRandomValues(new Uint8Array(n));
  reserve(n);
  const out = pool.slice(at, at + n);
  at += n;
  return out;
};

/** Call `f` with the pool and the offset of `n` fresh random bytes in it (no allocation); they must be used before the next draw. */
export const withRandomBytes = <A>(n: number, f: (bytes: Uint8Array, offset: number) => A): A => {
  reserve(n);
  const offset = at;
  at += n;
  return f(pool, offset);
};
