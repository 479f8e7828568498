import { describe, expect, it } from 'vitest';
import { SERVER_SCOPE, StateTokenError, TokenSealer, nobleTokenCipher } from '../../src/http/state-tokens.js';
import { nodeTokenCipher } from '../../transports/http/native-token-cipher.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const native = nodeTokenCipher();

/** A deterministic byte source, so a failure can be replayed. */
const bytes = (n: number, seed: number): Uint8Array => {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 0xff;
  });
};

describe('native token cipher (node:crypto ChaCha20-Poly1305 behind HChaCha20)', () => {
  it('is the native one on this machine', () => {
    expect(native).not.toBe(nobleTokenCipher);
  });

  it('matches the XChaCha20-Poly1305 test vector of draft-irtf-cfrg-xchacha (A.3.1)', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('404142434445464748494a4b4c4d4e4f5051525354555657');
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const plain = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const sealed = native.seal(key, nonce, aad, plain);
    expect(toHex(sealed)).toBe(toHex(nobleTokenCipher.seal(key, nonce, aad, plain)));
    expect(toHex(sealed.subarray(sealed.length - 16))).toBe('c0875924c1c7987947deafd8780acf49');
    expect(toHex(sealed.subarray(0, 16))).toBe('bd6d179d3e83d43b9576579493c0e939');
    expect(toHex(native.open(key, nonce, aad, sealed))).toBe(toHex(plain));
  });

  it('seals the same bytes as the pure-JS cipher and opens what it sealed, for every size up to 300 and larger ones', () => {
    const sizes = [...Array.from({ length: 301 }, (_, i) => i), 1023, 4096, 70_000];
    for (const n of sizes) {
      const key = bytes(32, n + 1), nonce = bytes(24, n + 2), aad = bytes(n % 50, n + 3), plain = bytes(n, n + 4);
      const ours = native.seal(key, nonce, aad, plain);
      const theirs = nobleTokenCipher.seal(key, nonce, aad, plain);
      expect(toHex(ours), `size ${n}`).toBe(toHex(theirs));
      expect(toHex(native.open(key, nonce, aad, theirs))).toBe(toHex(plain));
      expect(toHex(nobleTokenCipher.open(key, nonce, aad, ours))).toBe(toHex(plain));
    }
  });

  it('refuses a flipped bit anywhere: ciphertext, tag, nonce, associated data, key', () => {
    const key = bytes(32, 7), nonce = bytes(24, 8), aad = bytes(20, 9), plain = bytes(64, 10);
    const sealed = native.seal(key, nonce, aad, plain);
    const flip = (b: Uint8Array, i: number): Uint8Array => {
      const c = Uint8Array.from(b);
      c[i] = c[i]! ^ 1;
      return c;
    };
    for (let i = 0; i < sealed.length; i++) expect(() => native.open(key, nonce, aad, flip(sealed, i))).toThrow();
    for (let i = 0; i < nonce.length; i++) expect(() => native.open(key, flip(nonce, i), aad, sealed)).toThrow();
    for (let i = 0; i < aad.length; i++) expect(() => native.open(key, nonce, flip(aad, i), sealed)).toThrow();
    expect(() => native.open(flip(key, 31), nonce, aad, sealed)).toThrow();
    expect(() => native.open(key, nonce, aad, sealed.subarray(0, 15))).toThrow();
  });

  it('a sealer on either cipher opens the other one\'s tokens, and a tampered one fails as verification', () => {
    const key = bytes(32, 11);
    const js = new TokenSealer({ key });
    const nat = new TokenSealer({ key, cipher: native });
    const session = { serverId: 'srv-1', sessionId: bytes(12, 12), expiresAt: 2_000_000_000 };
    const token = nat.sealSession(session, { principal: 'alice', domain: 'bearer' });
    expect(js.openSession(token, { principal: 'alice', domain: 'bearer' }).serverId).toBe('srv-1');
    const cursor = js.sealCursor({ callId: bytes(16, 13), state: bytes(100, 14) }, { protocol: SERVER_SCOPE });
    expect(toHex(nat.openCursor(cursor, { protocol: SERVER_SCOPE }).state)).toBe(toHex(bytes(100, 14)));
    const err = (() => {
      try {
        nat.openSession(token, { principal: 'bob', domain: 'bearer' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(StateTokenError);
    expect((err as StateTokenError).failure).toBe('verification');
  });
});
