/**
 * The request correlation id: the client's `X-Request-ID` echoed on the
 * response, or a fresh 16-hex-character id (the reference's format). It is
 * stamped on every response and written into the access-log record, so one
 * id joins both.
 */

/** Request and response header carrying the correlation id. */
export const REQUEST_ID_HEADER = 'X-Request-ID';

import { withRandomBytes } from './random-pool.js';

const HEX = '0123456789abcdef';

const hex8 = (bytes: Uint8Array, from: number): string => {
  let out = '';
  for (let i = from; i < from + 8; i++) out += HEX[bytes[i]! >>> 4]! + HEX[bytes[i]! & 15]!;
  return out;
};

/** A fresh id: 16 lower-case hex characters from 8 random bytes (drawn from the random pool: one getRandomValues per id was 3.5 µs of every response). */
export const newRequestId = (): string => withRandomBytes(8, hex8);

/** The id for a request: its `X-Request-ID` (trimmed) when non-empty, else a fresh one. `headers` have lower-case names. */
export const requestIdOf = (headers: ReadonlyMap<string, string>): string => {
  const given = headers.get('x-request-id')?.trim();
  return given !== undefined && given !== '' ? given : newRequestId();
};
