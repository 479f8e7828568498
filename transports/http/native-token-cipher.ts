/**
 * XChaCha20-Poly1305 for the HTTP tokens on Node's native ChaCha20-Poly1305
 * (OpenSSL): the 24-byte nonce's first 16 bytes derive a subkey with
 * HChaCha20 (from @noble/ciphers, a few hundred nanoseconds), and the IETF
 * cipher runs with `0x00000000 || nonce[16..24]` as its 12-byte nonce, as
 * the XChaCha construction defines. Same bytes as the pure-JS default,
 * 2-6x faster per token (bench: tokens of 40-2,000 bytes seal in 3.8-6.7 us
 * against 6.8-39 us), which every exchange turn and sticky resume pays.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { endianness } from 'node:os';
import { hchacha } from '@noble/ciphers/chacha.js';
import { type TokenCipher, nobleTokenCipher } from '../../src/http/state-tokens.js';

/** "expand 32-byte k" as little-endian words. */
const SIGMA = Uint32Array.of(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574);
const TAG_BYTES = 16;

/** Scratch words, reused: every call runs to completion on its thread before the next. */
const keyWords = new Uint32Array(8);
const keyBytes = new Uint8Array(keyWords.buffer);
const nonceWords = new Uint32Array(4);
const nonceBytes = new Uint8Array(nonceWords.buffer);
const subkeyWords = new Uint32Array(8);
const subkey = new Uint8Array(subkeyWords.buffer);
const ietfNonce = new Uint8Array(12);

/** HChaCha20(key, nonce[0..16]) into `subkey`, and the IETF nonce into `ietfNonce`. */
const derive = (key: Uint8Array, nonce: Uint8Array): void => {
  keyBytes.set(key);
  for (let i = 0; i < 16; i++) nonceBytes[i] = nonce[i]!;
  hchacha(SIGMA, keyWords, nonceWords, subkeyWords);
  for (let i = 0; i < 8; i++) ietfNonce[4 + i] = nonce[16 + i]!;
};

const nativeCipher: TokenCipher = {
  seal(key, nonce, aad, plain) {
    derive(key, nonce);
    const c = createCipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: TAG_BYTES });
    c.setAAD(aad, { plaintextLength: plain.length });
    const head = c.update(plain);
    const tail = c.final();
    const out = new Uint8Array(head.length + tail.length + TAG_BYTES);
    out.set(head);
    out.set(tail, head.length);
    out.set(c.getAuthTag(), head.length + tail.length);
    return out;
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < TAG_BYTES) throw new Error('sealed token shorter than its tag');
    derive(key, nonce);
    const body = sealed.subarray(0, sealed.length - TAG_BYTES);
    const d = createDecipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: TAG_BYTES });
    d.setAAD(aad, { plaintextLength: body.length });
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const head = d.update(body);
    const tail = d.final(); // throws when the tag does not verify
    return tail.length === 0 ? new Uint8Array(head.buffer, head.byteOffset, head.length) : Buffer.concat([head, tail]);
  },
};

/**
 * The token cipher a Node server uses: native where OpenSSL offers
 * ChaCha20-Poly1305 on a little-endian host (the word views above assume it),
 * else the pure-JS default.
 */
export const nodeTokenCipher = (): TokenCipher => {
  try {
    if (endianness() !== 'LE') return nobleTokenCipher;
    createCipheriv('chacha20-poly1305', subkey, ietfNonce, { authTagLength: TAG_BYTES });
    return nativeCipher;
  } catch {
    return nobleTokenCipher;
  }
};
