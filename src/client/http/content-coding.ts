/**
 * HTTP bodies in and out of their content codings, with web APIs only (no
 * Node modules, so a browser build can use it): gzip through
 * `CompressionStream` / `DecompressionStream`, zstd decoding through `fzstd`.
 *
 * Which coding a response body still carries: the server names it in
 * `X-VGI-Content-Encoding` when it chose it only from the client's
 * `X-VGI-Accept-Encoding`; nothing in the transport knows that header, so
 * the body arrives as encoded and is always ours to undo. Otherwise it uses
 * the standard `Content-Encoding`, which fetch undoes itself for gzip,
 * deflate and br; zstd it may or may not undo (Node 20's fetch does not, newer
 * runtimes do), so a body under `Content-Encoding: zstd` is decoded only
 * while it still starts with a zstd frame.
 */
import { RpcClientError } from '../client-error.js';
import { HttpHeader } from './wire-headers.js';
import { concatBytes } from '../../wire/batch-encoder.js';

/** The codecs this client decodes, in its order of preference (sent in both accept-encoding headers). */
export const DECODABLE_ENCODINGS = 'zstd, gzip';

/** Thrown while reading or decoding a body that grows past its limit. */
export class BodyTooLarge extends Error {
  /** `limit`: the byte limit that was passed. */
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

/** The coding a response body still carries, once fetch has done its part. */
export type ResponseCoding = 'gzip' | 'zstd' | 'zstd-if-framed' | undefined;

/** Which coding is left to undo (see the module comment); an unknown one is a ProtocolError. */
export const responseCoding = (headers: Headers): ResponseCoding => {
  const custom = headers.get(HttpHeader.vgiContentEncoding)?.trim().toLowerCase();
  if (custom !== undefined && custom !== '' && custom !== 'identity') {
    if (custom === 'gzip' || custom === 'zstd') return custom;
    throw RpcClientError.local('ProtocolError', `the server sent an unsupported ${HttpHeader.vgiContentEncoding}: ${custom}`);
  }
  const standard = headers.get(HttpHeader.contentEncoding)?.trim().toLowerCase();
  if (standard === undefined || standard === '' || standard === 'identity') return undefined;
  if (standard === 'zstd') return 'zstd-if-framed';
  if (standard === 'gzip' || standard === 'x-gzip' || standard === 'deflate' || standard === 'br') return undefined; // fetch undid it
  throw RpcClientError.local('ProtocolError', `the server sent an unsupported ${HttpHeader.contentEncoding}: ${standard}`);
};

/** True when `body` starts with a zstd frame (or a skippable frame). */
const zstdFramed = (body: Uint8Array): boolean =>
  body.byteLength >= 4 &&
  ((body[0] === 0x28 && body[1] === 0xb5 && body[2] === 0x2f && body[3] === 0xfd) ||
    ((body[0]! & 0xf0) === 0x50 && body[1] === 0x2a && body[2] === 0x4d && body[3] === 0x18));


/**
 * Read a byte stream to its end, at most `limit` bytes: past that the stream
 * is cancelled and BodyTooLarge thrown.
 */
export const readAll = async (stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> => {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel('response limit exceeded').catch(() => undefined);
        throw new BodyTooLarge(limit);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
};

/** How much of a dropped answer is read (beyond it the connection is given up rather than drained). */
const DISCARD_LIMIT = 64 * 1024;

/** Read (a bounded part of) an answer being dropped (a retried 503), so its connection can be reused. */
export const discardBody = async (response: Response): Promise<void> => {
  await readAll(response.body, DISCARD_LIMIT).catch(() => undefined);
};

/** Decode a gzip body with `DecompressionStream`, producing at most `limit` bytes. */
const gunzip = async (body: Uint8Array, limit: number): Promise<Uint8Array> => {
  try {
    return await readAll(new Blob([body]).stream().pipeThrough(new DecompressionStream('gzip')), limit);
  } catch (e) {
    if (e instanceof BodyTooLarge) throw e;
    throw RpcClientError.local('ProtocolError', `cannot decode the gzip response body: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/** Decode a zstd body with fzstd's streaming decoder, producing at most `limit` bytes. */
const unzstd = async (body: Uint8Array, limit: number): Promise<Uint8Array> => {
  // Loaded on the first zstd body: a program that never reads one (a server importing this
  // package's index for its service definitions) does not pay for it at start-up.
  const { Decompress } = await import('fzstd');
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Each block fzstd hands over is a fresh buffer, so it can be kept as is.
  const decoder = new Decompress((chunk) => {
    total += chunk.byteLength;
    if (total > limit) throw new BodyTooLarge(limit);
    if (chunk.byteLength > 0) chunks.push(chunk);
  });
  try {
    decoder.push(body, true);
  } catch (e) {
    if (e instanceof BodyTooLarge) throw e;
    throw RpcClientError.local('ProtocolError', `cannot decode the zstd response body: ${e instanceof Error ? e.message : String(e)}`);
  }
  return concatBytes(chunks);
};

/** Undo `coding` on `body`, producing at most `limit` decoded bytes (BodyTooLarge past it). */
export const decodeBody = async (coding: ResponseCoding, body: Uint8Array, limit: number): Promise<Uint8Array> => {
  switch (coding) {
    case undefined:
      return body;
    case 'gzip':
      return gunzip(body, limit);
    case 'zstd':
      return unzstd(body, limit);
    case 'zstd-if-framed':
      return zstdFramed(body) ? unzstd(body, limit) : body;
  }
};

/** Gzip a request body with `CompressionStream`. */
export const gzip = (body: Uint8Array): Promise<Uint8Array> =>
  readAll(new Blob([body]).stream().pipeThrough(new CompressionStream('gzip')), Number.MAX_SAFE_INTEGER);
