/**
 * Base64 text for sealed tokens, in the two spellings the HTTP transport
 * uses: standard alphabet with padding (stream tokens in Arrow metadata) and
 * URL-safe without padding (the `VGI-Session` header). Pure JS, so a browser
 * build shares it.
 *
 * Decoding is strict: any character outside the alphabet, whitespace, wrong
 * padding, or non-zero bits in the last character's unused low bits is
 * refused. A token therefore has exactly one accepted spelling, so a client
 * cannot present a re-spelled copy of a token the server issued.
 */

import { NodeBuffer } from '../wire/node-buffer.js';

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const decodeTable = (alphabet: string): Int16Array => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
};

const STANDARD_TABLE = decodeTable(STANDARD);
const URL_SAFE_TABLE = decodeTable(URL_SAFE);

/** The pure-JS encoder (exported for the tests that hold it to Node's). */
export const encodeWith = (bytes: Uint8Array, alphabet: string, pad: boolean): string => {
  let out = '';
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const n = bytes[whole]! << 16;
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    out += alphabet[n >>> 18]! + alphabet[(n >>> 12) & 63]! + alphabet[(n >>> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
};

/** Decode `text` (already stripped of padding) or return undefined when it is not canonical. */
const decodeWith = (text: string, table: Int16Array): Uint8Array | undefined => {
  const tail = text.length % 4;
  if (tail === 1) return undefined;
  const out = new Uint8Array(((text.length - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  const sextet = (i: number): number => {
    const c = text.charCodeAt(i);
    return c < 128 ? table[c]! : -1;
  };
  let o = 0;
  const whole = text.length - tail;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(i);
    const b = sextet(i + 1);
    const c = sextet(i + 2);
    const d = sextet(i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail === 2) {
    const a = sextet(whole);
    const b = sextet(whole + 1);
    // The low four bits of the second character carry no data and must be zero.
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    out[o] = (a << 2) | (b >>> 4);
  } else if (tail === 3) {
    const a = sextet(whole);
    const b = sextet(whole + 1);
    const c = sextet(whole + 2);
    // The low two bits of the third character carry no data and must be zero.
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6);
    out[o++] = n >>> 16;
    out[o] = (n >>> 8) & 255;
  }
  return out;
};

// Under Node the native encoder makes the same text as encodeWith without building a string four
// characters at a time (a token is encoded on every stream turn); a browser build uses encodeWith.

/** Standard base64 (`+/`) with `=` padding. */
export const toBase64 = (bytes: Uint8Array): string =>
  NodeBuffer === undefined ? encodeWith(bytes, STANDARD, true) : NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * Strict inverse of {@link toBase64}: undefined unless `text` is exactly the
 * padded standard spelling of some byte string.
 */
export const fromBase64 = (text: string): Uint8Array | undefined => {
  if (text.length % 4 !== 0) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return decodeWith(text.slice(0, text.length - padding), STANDARD_TABLE);
};

/** URL-safe base64 (`-_`) without padding: header-safe. */
export const toBase64Url = (bytes: Uint8Array): string =>
  NodeBuffer === undefined ? encodeWith(bytes, URL_SAFE, false) : NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/**
 * Strict inverse of {@link toBase64Url}: undefined unless `text` is exactly
 * the unpadded URL-safe spelling of some byte string (padding is refused).
 */
export const fromBase64Url = (text: string): Uint8Array | undefined => decodeWith(text, URL_SAFE_TABLE);
