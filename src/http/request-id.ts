/**
 * The request correlation id: the client's `X-Request-ID` echoed on the
 * response, or a fresh 16-hex-character id (the reference's format). It is
 * stamped on every response and written into the access-log record, so one
 * id joins both.
 */

/** Request and response header carrying the correlation id. */
export const REQUEST_ID_HEADER = 'X-Request-ID';

const HEX = '0123456789abcdef';

/** A fresh id: 16 lower-case hex characters from 8 random bytes. */
export const newRequestId = (): string => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(8));
  let out = '';
  for (const b of bytes) out += HEX[b >>> 4]! + HEX[b & 15]!;
  return out;
};

/** The id for a request: its `X-Request-ID` (trimmed) when non-empty, else a fresh one. `headers` have lower-case names. */
export const requestIdOf = (headers: ReadonlyMap<string, string>): string => {
  const given = headers.get('x-request-id')?.trim();
  return given !== undefined && given !== '' ? given : newRequestId();
};
