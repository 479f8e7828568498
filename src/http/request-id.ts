/**
 * The request correlation id: the client's `X-Request-ID` echoed on the
 * response, or a fresh 16-hex-character id (the reference's format). It is
 * stamped on every response and written into the access-log record, so one
 * id joins both.
 */

/** Request and response header carrying the correlation id. */
export const REQUEST_ID_HEADER = 'X-Request-ID';

const HEX = '0123456789abcdef';

/**
 * Random bytes drawn 4 KiB at a time: one getRandomValues call costs about
 * as much (3-4 µs) as a quarter of a whole minimal HTTP request, so a
 * fresh call per id was a visible share of every response.
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** A fresh id: 16 lower-case hex characters from 8 random bytes. */
export const newRequestId = (): string => {
  if (poolAt + 8 > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let out = '';
  for (let i = poolAt; i < poolAt + 8; i++) out += HEX[pool[i]! >>> 4]! + HEX[pool[i]! & 15]!;
  poolAt += 8;
  return out;
};

/** The id for a request: its `X-Request-ID` (trimmed) when non-empty, else a fresh one. `headers` have lower-case names. */
export const requestIdOf = (headers: ReadonlyMap<string, string>): string => {
  const given = headers.get('x-request-id')?.trim();
  return given !== undefined && given !== '' ? given : newRequestId();
};
