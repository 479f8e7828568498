import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromBase64Url, toBase64 } from '../../src/http/base64.js';
import {
  type CallContent,
  SERVER_SCOPE,
  StateTokenError,
  TOKEN_COMPRESS_MIN_BYTES,
  type TokenFailure,
  type TokenScope,
  TokenSealer,
  callAssociatedData,
  cursorAssociatedData,
  newCallId,
  newSessionId,
} from '../../src/http/state-tokens.js';
import { zstdTokenCompressor } from '../../transports/http/body-codecs.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const ANON: TokenScope = { protocol: 'Demo' };
const ALICE: TokenScope = { principal: 'alice', domain: 'bearer', protocol: 'Demo' };
const T0 = 1_800_000_000;

const compressor = zstdTokenCompressor();
if (compressor === undefined) throw new Error('zstd-napi is a dev dependency; the token compressor must load');

const sealer = (opts: { key?: Uint8Array; ttl?: number; at?: () => number; compress?: boolean } = {}): TokenSealer =>
  new TokenSealer({
    key: opts.key ?? KEY,
    ...(opts.ttl === undefined ? {} : { ttlSeconds: opts.ttl }),
    ...(opts.compress === false ? {} : { compressor }),
    now: opts.at ?? (() => T0),
  });

const enc = new TextEncoder();

const callContent = (over: Partial<CallContent> = {}): CallContent => ({
  callId: newCallId(),
  callState: enc.encode('call-state'),
  typeName: 'CountState',
  outputSchema: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8),
  inputSchema: new Uint8Array(0),
  streamId: '0123456789abcdef0123456789abcdef',
  ...over,
});

/** Run `f` and return the StateTokenError it throws (failing the test if it does not). */
const failureOf = (f: () => unknown): StateTokenError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StateTokenError);
    return e as StateTokenError;
  }
  throw new Error('expected a StateTokenError, nothing was thrown');
};

const expectFailure = (f: () => unknown, failure: TokenFailure, message?: string): void => {
  const e = failureOf(f);
  expect(e.failure).toBe(failure);
  expect(e.status).toBe(400);
  if (message !== undefined) expect(e.message).toBe(message);
};

/** Decrypt a stream token by hand (raw 32-byte key): [version, plaintext with its codec byte]. */
const decryptByHand = (token: string, key: Uint8Array, aad: Uint8Array): [number, Uint8Array] => {
  const raw = fromBase64(token)!;
  return [raw[0]!, xchacha20poly1305(key, raw.subarray(1, 25), aad).decrypt(raw.subarray(25))];
};

/** Seal an arbitrary plaintext under `KEY` by hand, as a stream token of `version`. */
const sealByHand = (version: number, plaintext: Uint8Array, aad: Uint8Array): string => {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(24));
  const sealed = xchacha20poly1305(KEY, nonce, aad).encrypt(plaintext);
  const out = new Uint8Array(25 + sealed.length);
  out[0] = version;
  out.set(nonce, 1);
  out.set(sealed, 25);
  return toBase64(out);
};

/** The call plaintext layout, built independently of the module under test. */
const callPlaintext = (c: CallContent, createdAt: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array => {
  const parts: Uint8Array[] = [];
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
  };
  const u64 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  const seg = (b: Uint8Array) => parts.push(u32(b.length), b);
  parts.push(u64(createdAt), c.callId);
  seg(c.callState);
  seg(enc.encode(c.typeName));
  seg(c.outputSchema);
  seg(c.inputSchema);
  seg(enc.encode(c.streamId));
  parts.push(u64(c.responseLimitBytes ?? 0), u64(c.preferredResponseBytes ?? 0), extra);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('cursor tokens', () => {
  it('round-trip the call id and state, with the creation time', () => {
    const s = sealer();
    const callId = newCallId();
    const state = enc.encode('cursor-state-1');
    const token = s.sealCursor({ callId, state }, ALICE);
    expect(token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(token.length % 4).toBe(0);
    const opened = s.openCursor(token, ALICE);
    expect(opened.callId).toEqual(callId);
    expect(opened.state).toEqual(state);
    expect(opened.createdAt).toBe(T0);
  });

  it('seal with a fresh nonce whenever the content, scope or second differs; within the second the same cursor is given again', () => {
    let now = T0;
    const s = sealer({ at: () => now });
    const callId = newCallId();
    const content = { callId, state: enc.encode('x') };
    const first = s.sealCursor(content, ANON);
    // The same plaintext and associated data would differ only in the nonce: the call's last cursor again.
    expect(s.sealCursor({ callId: Uint8Array.from(callId), state: enc.encode('x') }, ANON)).toBe(first);
    const nonceOf = (t: string): string => Buffer.from(fromBase64(t)!.subarray(1, 25)).toString('hex');
    const others = [
      s.sealCursor({ callId, state: enc.encode('y') }, ANON),
      s.sealCursor({ callId, state: enc.encode('y') }, ALICE),
      s.sealCursor({ callId: newCallId(), state: enc.encode('x') }, ANON),
    ];
    now = T0 + 1;
    others.push(s.sealCursor({ callId, state: enc.encode('y') }, ALICE));
    expect(new Set([first, ...others].map(nonceOf)).size).toBe(5);
    // A fresh sealer with the same key (another worker or process) opens every one of them by decrypting.
    const other = sealer({ at: () => now });
    expect(other.openCursor(others[3]!, ALICE).createdAt).toBe(T0 + 1);
    expect(other.openCursor(first, ANON).state).toEqual(enc.encode('x'));
  });

  it('a cursor this sealer sealed lately opens for its own scope only, and is refused once expired, as any other', () => {
    let now = T0;
    const s = sealer({ ttl: 10, at: () => now });
    const state = enc.encode('remembered');
    const cursor = s.sealCursor({ callId: newCallId(), state }, ALICE);
    expect(s.openCursor(cursor, ALICE).state).toEqual(state);
    expectFailure(() => s.openCursor(cursor, ANON), 'verification');
    expectFailure(() => s.openCursor(cursor, { ...ALICE, protocol: 'Other' }), 'verification');
    // One character changed: not the remembered token, so the AEAD open refuses it.
    const tampered = `${cursor.slice(0, 40)}${cursor[40] === 'A' ? 'B' : 'A'}${cursor.slice(41)}`;
    expect(() => s.openCursor(tampered, ALICE)).toThrow(StateTokenError);
    now = T0 + 11;
    expectFailure(() => s.openCursor(cursor, ALICE), 'expired');
  });

  it('carry the reference layout: version 5, codec byte, created_at, call id, u32 length, state', () => {
    const callId = newCallId();
    const state = enc.encode('abc');
    const [version, plain] = decryptByHand(sealer({ compress: false }).sealCursor({ callId, state }, ANON), KEY, cursorAssociatedData(ANON));
    expect(version).toBe(5);
    expect(plain[0]).toBe(0x00);
    const view = new DataView(plain.buffer, plain.byteOffset + 1);
    expect(Number(view.getBigUint64(0, true))).toBe(T0);
    expect(plain.subarray(9, 25)).toEqual(callId);
    expect(view.getUint32(24, true)).toBe(3);
    expect(plain.subarray(29)).toEqual(state);
  });

  it('an empty state round-trips', () => {
    const s = sealer();
    expect(s.openCursor(s.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON), ANON).state).toEqual(new Uint8Array(0));
  });

  it('refuse a call id that is not 16 bytes', () => {
    expect(() => sealer().sealCursor({ callId: new Uint8Array(15), state: new Uint8Array(0) }, ANON)).toThrow(RangeError);
  });
});

describe('call tokens', () => {
  it('round-trip every field, the budget included', () => {
    const s = sealer();
    const content = callContent({ responseLimitBytes: 1 << 20, preferredResponseBytes: 65536, inputSchema: Uint8Array.of(9, 9) });
    const opened = s.openCall(s.sealCall(content, ALICE), ALICE);
    expect(opened).toEqual({ ...content, createdAt: T0 });
  });

  it('an absent budget stays absent (sealed as 0)', () => {
    const s = sealer();
    const opened = s.openCall(s.sealCall(callContent(), ANON), ANON);
    expect('responseLimitBytes' in opened).toBe(false);
    expect('preferredResponseBytes' in opened).toBe(false);
  });

  it('carry version 2 and the documented plaintext layout', () => {
    const content = callContent({ responseLimitBytes: 70000, preferredResponseBytes: 66000 });
    const [version, plain] = decryptByHand(sealer({ compress: false }).sealCall(content, ANON), KEY, callAssociatedData(ANON));
    expect(version).toBe(2);
    expect(plain[0]).toBe(0x00);
    expect(plain.subarray(1)).toEqual(callPlaintext(content, T0));
  });

  it('refuse trailing bytes after the budget', () => {
    const content = callContent();
    const good = sealByHand(2, Uint8Array.of(0, ...callPlaintext(content, T0)), callAssociatedData(ANON));
    expect(sealer().openCall(good, ANON).streamId).toBe(content.streamId);
    const trailing = sealByHand(2, Uint8Array.of(0, ...callPlaintext(content, T0, Uint8Array.of(0))), callAssociatedData(ANON));
    expectFailure(() => sealer().openCall(trailing, ANON), 'malformed', 'Malformed call token');
  });

  it('refuse a plaintext cut short or with a segment length past the end', () => {
    const plain = callPlaintext(callContent(), T0);
    const cut = sealByHand(2, Uint8Array.of(0, ...plain.subarray(0, plain.length - 1)), callAssociatedData(ANON));
    expectFailure(() => sealer().openCall(cut, ANON), 'malformed');
    const overrun = Uint8Array.of(0, ...plain);
    new DataView(overrun.buffer).setUint32(1 + 24, 0xffffff, true); // call_state length
    expectFailure(() => sealer().openCall(sealByHand(2, overrun, callAssociatedData(ANON)), ANON), 'malformed');
  });

  it('a cursor is not a call token and vice versa', () => {
    const s = sealer();
    const cursor = s.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON);
    const call = s.sealCall(callContent(), ANON);
    expectFailure(() => s.openCall(cursor, ANON), 'version', 'Unsupported call token version 5');
    expectFailure(() => s.openCursor(call, ANON), 'version', 'Unsupported state token version 2');
  });
});

describe('tampering', () => {
  it('flipping any bit of the envelope is refused: version byte as version, the rest as verification', () => {
    const s = sealer();
    const token = s.sealCursor({ callId: newCallId(), state: enc.encode('tamper-me') }, ANON);
    const raw = fromBase64(token)!;
    for (let i = 0; i < raw.length; i++) {
      const bad = Uint8Array.from(raw);
      bad[i]! ^= 0x01;
      expectFailure(() => s.openCursor(toBase64(bad), ANON), i === 0 ? 'version' : 'verification');
    }
  });

  it('a truncated or extended envelope is refused', () => {
    const s = sealer();
    const raw = fromBase64(s.sealCall(callContent(), ANON))!;
    expectFailure(() => s.openCall(toBase64(raw.subarray(0, raw.length - 1)), ANON), 'verification');
    expectFailure(() => s.openCall(toBase64(Uint8Array.of(...raw, 0)), ANON), 'verification');
    expectFailure(() => s.openCall(toBase64(raw.subarray(0, 40)), ANON), 'malformed');
    expectFailure(() => s.openCall('', ANON), 'malformed');
  });

  it('the verification message names the token', () => {
    const s = sealer();
    const other = sealer({ key: new Uint8Array(32) });
    expectFailure(() => s.openCursor(other.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON), ANON), 'verification', 'State token signature verification failed');
    expectFailure(() => s.openCall(other.sealCall(callContent(), ANON), ANON), 'verification', 'Call token signature verification failed');
  });
});

describe('scope binding', () => {
  const s = sealer();
  const cursorFor = (scope: TokenScope) => s.sealCursor({ callId: newCallId(), state: enc.encode('s') }, scope);

  it('another principal, domain, or anonymity cannot open it', () => {
    const token = cursorFor(ALICE);
    expectFailure(() => s.openCursor(token, { ...ALICE, principal: 'bob' }), 'verification');
    expectFailure(() => s.openCursor(token, { ...ALICE, domain: 'jwt' }), 'verification');
    expectFailure(() => s.openCursor(token, ANON), 'verification');
    expectFailure(() => s.openCursor(cursorFor(ANON), ALICE), 'verification');
    // An empty principal is authenticated: it is not the anonymous caller.
    expectFailure(() => s.openCursor(cursorFor({ principal: '', protocol: 'Demo' }), ANON), 'verification');
    expect(s.openCursor(token, { ...ALICE }).state).toEqual(enc.encode('s'));
  });

  it('another protocol cannot open it', () => {
    expectFailure(() => s.openCursor(cursorFor(ALICE), { ...ALICE, protocol: 'Other' }), 'verification');
    expectFailure(() => s.openCall(s.sealCall(callContent(), ANON), { protocol: 'Other' }), 'verification');
  });

  it('peer evidence is bound too', () => {
    const bound = { ...ALICE, evidenceBinding: 'sha256:abc' };
    expect(s.openCursor(cursorFor(bound), bound).state).toEqual(enc.encode('s'));
    expectFailure(() => s.openCursor(cursorFor(bound), ALICE), 'verification');
    expectFailure(() => s.openCursor(cursorFor(ALICE), bound), 'verification');
  });

  it('associated data is the reference construction', () => {
    const text = (b: Uint8Array) => Array.from(b, (c) => String.fromCharCode(c)).join('');
    expect(text(cursorAssociatedData(ANON))).toBe('vgi_rpc.state.v6\0\0anonymous\0Demo');
    expect(text(cursorAssociatedData(ALICE))).toBe('vgi_rpc.state.v6\0\x01bearer\0alice\0Demo');
    expect(text(callAssociatedData({ principal: 'p', protocol: 'X' }))).toBe('vgi_rpc.call.v3\0\x01\0p\0X');
    expect(text(cursorAssociatedData({ evidenceBinding: 'e', protocol: 'X' }))).toBe('vgi_rpc.state.v7\0\0anonymous\0e\0X');
    expect(text(callAssociatedData({ principal: 'p', domain: 'd', evidenceBinding: 'e', protocol: 'X' }))).toBe('vgi_rpc.call.v4\0\x01d\0p\0e\0X');
  });
});

describe('expiry', () => {
  it('a token older than the TTL is refused after the tag check, younger or equal opens', () => {
    let now = T0;
    const s = sealer({ ttl: 60, at: () => now });
    const cursor = s.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON);
    const call = s.sealCall(callContent(), ANON);
    now = T0 + 60;
    expect(s.openCursor(cursor, ANON).createdAt).toBe(T0);
    expect(s.openCall(call, ANON).createdAt).toBe(T0);
    now = T0 + 61;
    expectFailure(() => s.openCursor(cursor, ANON), 'expired', 'State token expired');
    expectFailure(() => s.openCall(call, ANON), 'expired', 'Call token expired');
    // The tag is checked first: an expired token under the wrong scope is a verification failure.
    expectFailure(() => s.openCursor(cursor, ALICE), 'verification');
  });

  it('defaults to 3600 s, and 0 disables expiry', () => {
    let now = T0;
    const byDefault = sealer({ at: () => now });
    const never = sealer({ ttl: 0, at: () => now });
    const a = byDefault.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON);
    const b = never.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, ANON);
    now = T0 + 3601;
    expectFailure(() => byDefault.openCursor(a, ANON), 'expired');
    now = T0 + 10 * 365 * 86400;
    expect(never.openCursor(b, ANON).createdAt).toBe(T0);
  });

  it('a negative TTL is a configuration error', () => {
    expect(() => new TokenSealer({ key: KEY, ttlSeconds: -1 })).toThrow(RangeError);
  });
});

describe('keys', () => {
  it('a 32-byte key is used as it is', () => {
    const token = sealer({ compress: false }).sealCursor({ callId: newCallId(), state: enc.encode('k') }, ANON);
    const [, plain] = decryptByHand(token, KEY, cursorAssociatedData(ANON));
    expect(plain.subarray(29)).toEqual(enc.encode('k'));
  });

  it('any other length is replaced by its SHA-256', () => {
    for (const key of [enc.encode('short secret'), new Uint8Array(33).fill(7), new Uint8Array(0)]) {
      const token = sealer({ key, compress: false }).sealCursor({ callId: newCallId(), state: enc.encode('k') }, ANON);
      const [, plain] = decryptByHand(token, sha256(key), cursorAssociatedData(ANON));
      expect(plain.subarray(29)).toEqual(enc.encode('k'));
      expect(sealer({ key: sha256(key) }).openCursor(token, ANON).state).toEqual(enc.encode('k'));
      expectFailure(() => sealer({ key: key.length === 0 ? new Uint8Array(1) : key.subarray(1) }).openCursor(token, ANON), 'verification');
    }
  });

  it('a foreign key cannot open it', () => {
    const token = sealer().sealCall(callContent(), ANON);
    expectFailure(() => sealer({ key: KEY.map((b) => b ^ 0xff) }).openCall(token, ANON), 'verification');
  });
});

describe('base64 spelling', () => {
  it('anything but the canonical padded standard spelling is malformed', () => {
    const s = sealer();
    const token = s.sealCall(callContent(), ANON);
    const variants = [
      token.replace(/=+$/, ''), // padding dropped (when there is any)
      ` ${token}`,
      `${token}\n`,
      token.replaceAll('+', '-').replaceAll('/', '_'),
      `${token}====`,
      'not base64!',
    ].filter((v) => v !== token);
    expect(variants.length).toBeGreaterThanOrEqual(4);
    for (const v of variants) {
      expectFailure(() => s.openCall(v, ANON), 'malformed', 'Malformed call token');
    }
  });

  it('non-zero unused bits in the last character are refused', () => {
    // 41 raw bytes -> 56 chars with one '=': the last data character has 2 unused bits.
    const raw = globalThis.crypto.getRandomValues(new Uint8Array(41));
    const text = toBase64(raw);
    expect(text.endsWith('=') && !text.endsWith('==')).toBe(true);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = alphabet.indexOf(text[text.length - 2]!);
    const respelled = text.slice(0, -2) + alphabet[last | 1] + '=';
    expect(fromBase64(text)).toEqual(raw);
    expect(fromBase64(respelled)).toBeUndefined();
    expectFailure(() => sealer().openCursor(respelled, ANON), 'malformed');
  });
});

describe('compression inside the seal', () => {
  it('is used when it makes the payload smaller, and opens', () => {
    const s = sealer();
    const state = enc.encode('repetitive cursor state '.repeat(400));
    const token = s.sealCursor({ callId: newCallId(), state }, ANON);
    expect(fromBase64(token)!.length).toBeLessThan(state.length / 4);
    const [, plain] = decryptByHand(token, KEY, cursorAssociatedData(ANON));
    expect(plain[0]).toBe(0x01);
    expect(s.openCursor(token, ANON).state).toEqual(state);
  });

  it('is skipped when it does not pay (small or random payloads)', () => {
    const s = sealer();
    for (const state of [enc.encode('x'), globalThis.crypto.getRandomValues(new Uint8Array(4096))]) {
      const token = s.sealCursor({ callId: newCallId(), state }, ANON);
      const [, plain] = decryptByHand(token, KEY, cursorAssociatedData(ANON));
      expect(plain[0]).toBe(0x00);
      expect(s.openCursor(token, ANON).state).toEqual(state);
    }
  });

  it(`is not tried below ${TOKEN_COMPRESS_MIN_BYTES} bytes of plaintext, however compressible`, () => {
    const s = sealer();
    // 28 bytes of cursor framing precede the state.
    const below = new Uint8Array(TOKEN_COMPRESS_MIN_BYTES - 29);
    const above = new Uint8Array(TOKEN_COMPRESS_MIN_BYTES);
    const codec = (state: Uint8Array): number => decryptByHand(s.sealCursor({ callId: newCallId(), state }, ANON), KEY, cursorAssociatedData(ANON))[1][0]!;
    expect(codec(below)).toBe(0x00);
    expect(codec(above)).toBe(0x01);
  });

  it('a large call token compresses too', () => {
    const s = sealer();
    const content = callContent({ callState: enc.encode('{"k":"v"},'.repeat(1000)) });
    const token = s.sealCall(content, ANON);
    expect(fromBase64(token)!.length).toBeLessThan(2000);
    expect(s.openCall(token, ANON).callState).toEqual(content.callState);
  });

  it('an unknown codec byte is refused', () => {
    const plain = callPlaintext(callContent(), T0);
    for (const codec of [0x02, 0x7f, 0xff]) {
      expectFailure(() => sealer().openCall(sealByHand(2, Uint8Array.of(codec, ...plain), callAssociatedData(ANON)), ANON), 'payload', 'Malformed token payload');
    }
    expectFailure(() => sealer().openCall(sealByHand(2, new Uint8Array(0), callAssociatedData(ANON)), ANON), 'payload');
  });

  it('a zstd payload is refused without a compressor, or when it is corrupt', () => {
    const plain = callPlaintext(callContent({ callState: enc.encode('z'.repeat(5000)) }), T0);
    const zstdToken = sealByHand(2, Uint8Array.of(1, ...compressor.compress(plain)), callAssociatedData(ANON));
    expect(sealer().openCall(zstdToken, ANON).callState.length).toBe(5000);
    expectFailure(() => sealer({ compress: false }).openCall(zstdToken, ANON), 'payload');
    expectFailure(() => sealer().openCall(sealByHand(2, Uint8Array.of(1, 1, 2, 3, 4), callAssociatedData(ANON)), ANON), 'payload');
  });

  it('a payload that decompresses past 64 MiB is refused', () => {
    const big = new Uint8Array((64 << 20) + 1);
    const packed = compressor.compress(big);
    const token = sealByHand(5, Uint8Array.of(1, ...packed), cursorAssociatedData(ANON));
    expectFailure(() => sealer().openCursor(token, ANON), 'payload');
  });
});

describe('session tokens', () => {
  const session = { serverId: 'worker-a1', sessionId: newSessionId(), expiresAt: T0 + 300 };

  it('round-trip, as unpadded base64url', () => {
    const s = sealer();
    const token = s.sealSession(session, { principal: 'alice' });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(s.openSession(token, { principal: 'alice' })).toEqual({ ...session, createdAt: T0 });
  });

  it('use version 1, the documented plaintext with no codec byte, and the cursor AAD with the server scope', () => {
    const token = sealer().sealSession(session, {});
    const raw = fromBase64Url(token)!;
    expect(raw[0]).toBe(1);
    const plain = xchacha20poly1305(KEY, raw.subarray(1, 25), cursorAssociatedData({ protocol: SERVER_SCOPE })).decrypt(raw.subarray(25));
    const view = new DataView(plain.buffer, plain.byteOffset);
    expect(Number(view.getBigUint64(0, true))).toBe(T0);
    expect(plain[8]).toBe(9);
    expect(new TextDecoder().decode(plain.subarray(9, 18))).toBe('worker-a1');
    expect(plain.subarray(18, 30)).toEqual(session.sessionId);
    expect(Number(view.getBigUint64(30, true))).toBe(T0 + 300);
    expect(plain.length).toBe(38);
  });

  it('another principal, a stream token, or padding cannot stand in', () => {
    const s = sealer();
    const token = s.sealSession(session, { principal: 'alice' });
    expect(() => s.openSession(token, { principal: 'bob' })).toThrow(StateTokenError);
    expectFailure(() => s.openSession(token, {}), 'verification', 'Session token signature verification failed');
    expectFailure(() => s.openSession(`${token}=`, { principal: 'alice' }), 'malformed', 'Malformed session token');
    expectFailure(() => s.openSession(`+${token.slice(1)}`, { principal: 'alice' }), 'malformed');
    const cursor = s.sealCursor({ callId: newCallId(), state: new Uint8Array(0) }, { protocol: SERVER_SCOPE });
    expectFailure(() => s.openSession(cursor.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''), {}), 'version');
  });

  it('expiry is left to the registry', () => {
    let now = T0;
    const s = sealer({ ttl: 1, at: () => now });
    const token = s.sealSession({ ...session, expiresAt: T0 + 1 }, {});
    now = T0 + 1000;
    expect(s.openSession(token, {}).expiresAt).toBe(T0 + 1);
  });

  it('refuse bad content', () => {
    const s = sealer();
    expect(() => s.sealSession({ ...session, sessionId: new Uint8Array(16) }, {})).toThrow(RangeError);
    expect(() => s.sealSession({ ...session, serverId: 'x'.repeat(256) }, {})).toThrow(RangeError);
    expect(s.openSession(s.sealSession({ ...session, serverId: 'x'.repeat(255) }, {}), {}).serverId).toHaveLength(255);
  });
});
