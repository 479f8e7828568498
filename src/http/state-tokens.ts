/**
 * Sealed tokens of the HTTP transport: the stream cursor, the call token and
 * the sticky-session token. HTTP streams are stateless on the wire, so the
 * server hands its state to the client inside these and gets it back on the
 * next request; they are opaque to clients and opened only by the
 * implementation that minted them, so the plaintext layout is ours (it
 * follows the reference's and the peer's, see below).
 *
 * Envelope (the reference's `vgi_rpc.crypto`): `version u8 || 24-byte random
 * nonce || XChaCha20-Poly1305 ciphertext+tag`. Stream tokens travel as
 * standard padded base64, the session token as unpadded base64url.
 *
 * Stream-token plaintext starts with a codec byte (0x00 raw, 0x01 zstd) and
 * is compressed *inside* the seal, because ciphertext no longer compresses;
 * compression is kept only when it makes the payload smaller. The compressor
 * is injected so this module stays pure JS (the Node one is in
 * transports/http/body-codecs.ts).
 *
 * The associated data binds a token to who asked for it and which protocol
 * owns the stream: a token replayed by another principal, or under another
 * protocol's `/exchange`, fails the tag check like any forgery. Opening
 * checks, in order: envelope version, AEAD tag, payload codec and framing,
 * then age (TTL). Every failure is a {@link StateTokenError}, answered 400.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from './base64.js';
import { CursorMemo } from './cursor-memo.js';
import { pooledRandomBytes } from './random-pool.js';
import { concatBytes } from '../wire/batch-encoder.js';

/** Which token failed to open. */
export type TokenKind = 'cursor' | 'call' | 'session';

/** Why a token failed to open (one HTTP answer for all: 400). */
export type TokenFailure =
  /** Not base64 in the expected spelling, or too short to be an envelope, or bad framing inside. */
  | 'malformed'
  /** The envelope's version byte is not this token kind's. */
  | 'version'
  /** The AEAD tag does not verify: tampered, another key, another principal or protocol. */
  | 'verification'
  /** The codec byte is unknown, or the compressed payload does not decode within the cap. */
  | 'payload'
  /** Older than the TTL. */
  | 'expired';

/** A token could not be opened. Every cause maps to HTTP 400 (the session layer maps it to `session_lost`). */
export class StateTokenError extends Error {
  override readonly name = 'StateTokenError';
  /** HTTP status a server answers with. */
  readonly status = 400;

  constructor(
    readonly token: TokenKind,
    readonly failure: TokenFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Compression used inside the seal. `decompress` must refuse (throw) rather
 * than produce more than `maxBytes`.
 */
export interface TokenCompressor {
  compress(bytes: Uint8Array): Uint8Array;
  decompress(bytes: Uint8Array, maxBytes: number): Uint8Array;
}

/**
 * The AEAD under the envelope: XChaCha20-Poly1305 with a 32-byte key and a
 * 24-byte nonce, the 16-byte tag appended. `open` throws when the tag does
 * not verify. The default is @noble/ciphers (pure JS, so this module runs in
 * browsers); a Node server injects a native one (transports/http).
 */
export interface TokenCipher {
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array;
}

/** XChaCha20-Poly1305 from @noble/ciphers (pure JS). */
export const nobleTokenCipher: TokenCipher = {
  seal: (key, nonce, aad, plain) => xchacha20poly1305(key, nonce, aad).encrypt(plain),
  open: (key, nonce, aad, sealed) => xchacha20poly1305(key, nonce, aad).decrypt(sealed),
};

/** Who a token is bound to. An absent `principal` is an anonymous caller. */
export interface TokenIdentity {
  /** The authenticated principal (may be empty: still authenticated, unlike absent). */
  readonly principal?: string;
  /** The principal's authentication domain (only meaningful with a principal). */
  readonly domain?: string;
  /** Digest of transport-peer evidence (mTLS, SPIFFE), when the authenticator produced one. */
  readonly evidenceBinding?: string;
}

/** Everything a stream token's associated data binds: the identity and the owning protocol's wire name. */
export interface TokenScope extends TokenIdentity {
  readonly protocol: string;
}

/**
 * Protocol scope of a token that belongs to the server, not to a protocol:
 * the sticky-session token (sessions span protocols). A protocol name cannot
 * start with NUL, so it never collides with one.
 */
export const SERVER_SCOPE = '\u0000server';

/** Length of the random per-stream call id minted at `/init`. */
export const CALL_ID_BYTES = 16;
/** Length of the random sticky-session id. */
export const SESSION_ID_BYTES = 12;
/** Default token TTL in seconds (the reference's `token_ttl`). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Largest plaintext a compressed token may decompress to (the reference's cap). */
export const MAX_TOKEN_PLAINTEXT_BYTES = 64 << 20;

/** The advancing half of a stream's state, re-sealed every turn. */
export interface CursorContent {
  /** The call this cursor belongs to ({@link CALL_ID_BYTES} bytes). */
  readonly callId: Uint8Array;
  /** Serialized cursor state. */
  readonly state: Uint8Array;
}

/** The fixed half of a stream's state, sealed once by `/init` and never re-issued. */
export interface CallContent {
  /** Random id ({@link CALL_ID_BYTES} bytes) that every cursor of the call repeats. */
  readonly callId: Uint8Array;
  /** Serialized call state (empty when the stream has none). */
  readonly callState: Uint8Array;
  /** Name of the call state's type (empty when none). */
  readonly typeName: string;
  /** The stream's output schema, serialized. */
  readonly outputSchema: Uint8Array;
  /** The stream's input schema, serialized (exchange streams; may be empty). */
  readonly inputSchema: Uint8Array;
  /** Correlation id of the stream (access log `stream_id`). */
  readonly streamId: string;
  /** Init-time hard response limit; absent means unbounded. */
  readonly responseLimitBytes?: number;
  /** Init-time preferred response size; absent means none. */
  readonly preferredResponseBytes?: number;
}

/** A sticky session's token content. */
export interface SessionContent {
  /** The server (worker process) that holds the session; at most 255 UTF-8 bytes. */
  readonly serverId: string;
  /** Random session id ({@link SESSION_ID_BYTES} bytes). */
  readonly sessionId: Uint8Array;
  /** Absolute expiry, seconds since the epoch. */
  readonly expiresAt: number;
}

/** What an opened token also carries: when it was sealed (seconds since the epoch). */
export interface Sealed {
  readonly createdAt: number;
}

/** How a {@link TokenSealer} is made. */
export interface TokenSealerOptions {
  /** The token key: exactly 32 bytes are used as they are, anything else is hashed with SHA-256. */
  readonly key: Uint8Array;
  /** Maximum age of cursor and call tokens in seconds; 0 disables expiry. Default 3600. */
  readonly ttlSeconds?: number;
  /** Compression inside the seal; without one, tokens are sealed raw and compressed ones are refused. */
  readonly compressor?: TokenCompressor;
  /** The AEAD implementation; default {@link nobleTokenCipher}. Any conforming one seals the same bytes. */
  readonly cipher?: TokenCipher;
  /** Clock in whole seconds since the epoch (tests inject one). */
  readonly now?: () => number;
  /**
   * Routing hint written as the first {@link ROUTE_HINT_BYTES} bytes of
   * every nonce this sealer draws (the rest stays random): a front end reads
   * it back with {@link tokenRouteHint}, without the key, to send a
   * continuation to the thread that sealed its token. The nonce is ours to
   * choose; XChaCha20's 192-bit nonce keeps 160 random bits.
   */
  readonly routeHint?: Uint8Array;
}

/** Length of a sealer's routing hint (see TokenSealerOptions.routeHint). */
export const ROUTE_HINT_BYTES = 4;

/**
 * The routing hint in the nonce of a sealed token (either base64 spelling),
 * read without opening it; undefined when the text is too short or not
 * base64. A token sealed without a hint yields random bytes: callers check
 * the hint names something of theirs.
 */
export const tokenRouteHint = (token: string): Uint8Array | undefined => {
  const head = token.slice(0, 8);
  if (head.length < 8) return undefined;
  const raw = fromBase64(head) ?? fromBase64Url(head);
  return raw === undefined ? undefined : raw.subarray(1, 1 + ROUTE_HINT_BYTES);
};

// Envelope version bytes, one line per token kind (they change independently).
const CURSOR_VERSION = 5;
const CALL_VERSION = 2;
const SESSION_VERSION = 1;

const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const MIN_ENVELOPE_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

/**
 * Plaintexts shorter than this are sealed raw without trying zstd: a
 * frame's own overhead leaves little to win, and every exchange turn's
 * cursor (a few dozen bytes) would pay for the attempt.
 */
export const TOKEN_COMPRESS_MIN_BYTES = 256;

const CODEC_RAW = 0x00;
const CODEC_ZSTD = 0x01;

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

// AAD prefixes of the current reference and peer. The bound variants are used
// when peer evidence contributes to the identity.
const CURSOR_AAD = UTF8.encode('vgi_rpc.state.v6\u0000');
const CURSOR_AAD_BOUND = UTF8.encode('vgi_rpc.state.v7\u0000');
const CALL_AAD = UTF8.encode('vgi_rpc.call.v3\u0000');
const CALL_AAD_BOUND = UTF8.encode('vgi_rpc.call.v4\u0000');
const ANONYMOUS = UTF8.encode('\u0000anonymous');


/**
 * The associated data, as the reference builds it:
 * `prefix || identity [|| \0 binding] || \0 protocol`, where identity is
 * `\0anonymous`, or `0x01 || domain || 0x00 || principal` when authenticated.
 * The prefix is fixed-length, and the protocol tail comes last, so the
 * variable-length identity in between cannot be confused with either.
 */
const associatedData = (plain: Uint8Array, bound: Uint8Array, scope: TokenScope): Uint8Array => {
  const anonymous = scope.principal === undefined && (scope.evidenceBinding === undefined || scope.evidenceBinding === '');
  if (anonymous) {
    // The common case, built once per prefix and protocol (protocols are the server's own: a handful).
    let byProtocol = anonymousAad.get(plain);
    if (byProtocol === undefined) anonymousAad.set(plain, (byProtocol = new Map()));
    const cached = byProtocol.get(scope.protocol);
    if (cached !== undefined) return cached;
    const built = buildAssociatedData(plain, bound, scope);
    if (byProtocol.size < 64) byProtocol.set(scope.protocol, built);
    return built;
  }
  return buildAssociatedData(plain, bound, scope);
};

/** Anonymous callers' associated data, by AAD prefix and protocol. */
const anonymousAad = new Map<Uint8Array, Map<string, Uint8Array>>();

const buildAssociatedData = (plain: Uint8Array, bound: Uint8Array, scope: TokenScope): Uint8Array => {
  const binding = scope.evidenceBinding !== undefined && scope.evidenceBinding !== '' ? scope.evidenceBinding : undefined;
  const parts: Uint8Array[] = [binding === undefined ? plain : bound];
  if (scope.principal === undefined) {
    parts.push(ANONYMOUS);
  } else {
    parts.push(Uint8Array.of(0x01), UTF8.encode(scope.domain ?? ''), Uint8Array.of(0x00), UTF8.encode(scope.principal));
  }
  if (binding !== undefined) parts.push(Uint8Array.of(0x00), UTF8.encode(binding));
  parts.push(UTF8.encode(`\u0000${scope.protocol}`));
  return concatBytes(parts);
};

/** The cursor token's associated data for `scope` (exported for tests and diagnostics). */
export const cursorAssociatedData = (scope: TokenScope): Uint8Array => associatedData(CURSOR_AAD, CURSOR_AAD_BOUND, scope);

/** The sticky-session token's associated data for `identity`: the cursor token's, scoped to the server (sessions span protocols). */
const sessionAssociatedData = (identity: TokenIdentity): Uint8Array => cursorAssociatedData({ ...identity, protocol: SERVER_SCOPE });

/** The call token's associated data for `scope` (exported for tests and diagnostics). */
export const callAssociatedData = (scope: TokenScope): Uint8Array => associatedData(CALL_AAD, CALL_AAD_BOUND, scope);

/** The token key actually used: 32 bytes as given, anything else SHA-256 of it (the reference's `normalize_key`). */
export const normalizeTokenKey = (key: Uint8Array): Uint8Array => (key.length === 32 ? Uint8Array.from(key) : sha256(key));

/** `n` cryptographically random bytes (Web Crypto: Node 20 and browsers; small draws from a pool, see random-pool.ts). */
export const randomBytes = (n: number): Uint8Array => pooledRandomBytes(n);

/** A fresh call id for `/init`. */
export const newCallId = (): Uint8Array => randomBytes(CALL_ID_BYTES);

/** A fresh sticky-session id. */
export const newSessionId = (): Uint8Array => randomBytes(SESSION_ID_BYTES);

const TOKEN_LABEL: Record<TokenKind, string> = { cursor: 'State', call: 'Call', session: 'Session' };

/** Builds plaintexts: little-endian integers and u32-length-prefixed segments. */
class PlainWriter {
  private readonly parts: Uint8Array[] = [];

  u8(v: number): this {
    this.parts.push(Uint8Array.of(v));
    return this;
  }

  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.parts.push(b);
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`token field must be a non-negative safe integer, got ${v}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.parts.push(b);
    return this;
  }

  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }

  segment(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }

  bytes(): Uint8Array {
    return concatBytes(this.parts);
  }
}

/** Reads what {@link PlainWriter} wrote; any overrun is a malformed token. */
class PlainReader {
  private at = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;

  constructor(
    plain: Uint8Array,
    private readonly fail: () => never,
  ) {
    // A plain Uint8Array view: an injected decompressor may hand back a Buffer, whose slice() does not copy.
    this.buf = new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
    this.view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  }

  private need(n: number): number {
    if (this.at + n > this.buf.length) this.fail();
    const start = this.at;
    this.at += n;
    return start;
  }

  u8(): number {
    return this.buf[this.need(1)]!;
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail();
    return Number(v);
  }

  /** A copy, so callers neither pin the plaintext nor see unaligned views (arrow-js needs aligned schema bytes). */
  raw(n: number): Uint8Array {
    const start = this.need(n);
    return this.buf.slice(start, start + n);
  }

  segment(): Uint8Array {
    return this.raw(this.u32());
  }

  text(bytes: Uint8Array): string {
    try {
      return UTF8_STRICT.decode(bytes);
    } catch {
      return this.fail();
    }
  }

  end(): void {
    if (this.at !== this.buf.length) this.fail();
  }
}

/**
 * Seals and opens the HTTP transport's tokens under one key. Built once per
 * thread (every worker of a deployment must share the key); it remembers the
 * cursors it sealed lately (CursorMemo), so it is not shared across threads.
 */
export class TokenSealer {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;
  private readonly compressor: TokenCompressor | undefined;
  private readonly cipher: TokenCipher;
  private readonly now: () => number;
  private readonly routeHint: Uint8Array | undefined;
  private readonly cursors = new CursorMemo();

  constructor(options: TokenSealerOptions) {
    const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`token TTL must be >= 0 seconds, got ${ttl}`);
    this.key = normalizeTokenKey(options.key);
    this.ttlSeconds = ttl;
    this.compressor = options.compressor;
    this.cipher = options.cipher ?? nobleTokenCipher;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    if (options.routeHint !== undefined) checkLength('route hint', options.routeHint, ROUTE_HINT_BYTES);
    this.routeHint = options.routeHint;
  }

  /**
   * Seal a cursor for `scope`: `created_at u64 || call_id 16 || state_len u32 || state`.
   * The call's last cursor is given again when it would differ only in its nonce (see CursorMemo).
   */
  sealCursor(content: CursorContent, scope: TokenScope): string {
    checkLength('call id', content.callId, CALL_ID_BYTES);
    const createdAt = this.now();
    const aad = cursorAssociatedData(scope);
    const again = this.cursors.sealed(content, aad, createdAt);
    if (again !== undefined) return again;
    const plain = new PlainWriter().u64(createdAt).raw(content.callId).segment(content.state).bytes();
    const token = toBase64(this.seal(CURSOR_VERSION, this.pack(plain), aad));
    this.cursors.remember(token, content, aad, createdAt);
    return token;
  }

  /** Open a cursor sealed for `scope`; throws {@link StateTokenError}. One this sealer sealed lately opens with no decryption. */
  openCursor(token: string, scope: TokenScope): CursorContent & Sealed {
    const aad = cursorAssociatedData(scope);
    const known = this.cursors.opened(token, aad);
    if (known !== undefined) {
      this.checkAge('cursor', known.createdAt);
      return known;
    }
    const plain = this.openStream('cursor', CURSOR_VERSION, token, aad);
    const r = new PlainReader(plain, malformed('cursor'));
    const createdAt = r.u64();
    const callId = r.raw(CALL_ID_BYTES);
    const state = r.segment();
    r.end();
    this.checkAge('cursor', createdAt);
    return { callId, state, createdAt };
  }

  /**
   * Seal a call token for `scope`: `created_at u64 || call_id 16`, then
   * `call_state`, `type_name`, `output_schema`, `input_schema`, `stream_id`
   * each u32-length-prefixed, then `response_limit_bytes u64` and
   * `preferred_response_bytes u64` (0 = none). This is the peer's version-2
   * idea (the init-time budget sealed with the call) on the reference's
   * fields; only this implementation opens it.
   */
  sealCall(content: CallContent, scope: TokenScope): string {
    checkLength('call id', content.callId, CALL_ID_BYTES);
    const plain = new PlainWriter()
      .u64(this.now())
      .raw(content.callId)
      .segment(content.callState)
      .segment(UTF8.encode(content.typeName))
      .segment(content.outputSchema)
      .segment(content.inputSchema)
      .segment(UTF8.encode(content.streamId))
      .u64(content.responseLimitBytes ?? 0)
      .u64(content.preferredResponseBytes ?? 0)
      .bytes();
    return toBase64(this.seal(CALL_VERSION, this.pack(plain), callAssociatedData(scope)));
  }

  /** Open a call token sealed for `scope`; throws {@link StateTokenError}. Trailing bytes are refused. */
  openCall(token: string, scope: TokenScope): CallContent & Sealed {
    const plain = this.openStream('call', CALL_VERSION, token, callAssociatedData(scope));
    const r = new PlainReader(plain, malformed('call'));
    const createdAt = r.u64();
    const callId = r.raw(CALL_ID_BYTES);
    const callState = r.segment();
    const typeName = r.text(r.segment());
    const outputSchema = r.segment();
    const inputSchema = r.segment();
    const streamId = r.text(r.segment());
    const responseLimitBytes = r.u64();
    const preferredResponseBytes = r.u64();
    r.end();
    this.checkAge('call', createdAt);
    return {
      callId,
      callState,
      typeName,
      outputSchema,
      inputSchema,
      streamId,
      ...(responseLimitBytes > 0 ? { responseLimitBytes } : {}),
      ...(preferredResponseBytes > 0 ? { preferredResponseBytes } : {}),
      createdAt,
    };
  }

  /**
   * Seal a sticky-session token for `identity` (scope {@link SERVER_SCOPE}):
   * `created_at u64 || server_id_len u8 || server_id || session_id 12 ||
   * expires_at u64`, no codec byte, unpadded base64url for the header.
   */
  sealSession(content: SessionContent, identity: TokenIdentity): string {
    checkLength('session id', content.sessionId, SESSION_ID_BYTES);
    const serverId = UTF8.encode(content.serverId);
    if (serverId.length > 255) throw new RangeError(`server id too long (${serverId.length} bytes); at most 255`);
    const plain = new PlainWriter().u64(this.now()).u8(serverId.length).raw(serverId).raw(content.sessionId).u64(content.expiresAt).bytes();
    return toBase64Url(this.seal(SESSION_VERSION, plain, sessionAssociatedData(identity)));
  }

  /**
   * Open a sticky-session token for `identity`; throws {@link StateTokenError}.
   * Expiry is not checked here: the session registry owns `expiresAt`.
   */
  openSession(token: string, identity: TokenIdentity): SessionContent & Sealed {
    const raw = fromBase64Url(token);
    if (raw === undefined) throw malformedError('session');
    const plain = this.open('session', SESSION_VERSION, raw, sessionAssociatedData(identity));
    const r = new PlainReader(plain, malformed('session'));
    const createdAt = r.u64();
    const serverId = r.text(r.raw(r.u8()));
    const sessionId = r.raw(SESSION_ID_BYTES);
    const expiresAt = r.u64();
    r.end();
    return { serverId, sessionId, expiresAt, createdAt };
  }

  private seal(version: number, plain: Uint8Array, aad: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    if (this.routeHint !== undefined) nonce.set(this.routeHint);
    const sealed = this.cipher.seal(this.key, nonce, aad, plain);
    return concatBytes([Uint8Array.of(version), nonce, sealed]);
  }

  private open(kind: TokenKind, version: number, raw: Uint8Array, aad: Uint8Array): Uint8Array {
    const label = TOKEN_LABEL[kind];
    if (raw.length < MIN_ENVELOPE_BYTES) throw malformedError(kind);
    if (raw[0] !== version) throw new StateTokenError(kind, 'version', `Unsupported ${label.toLowerCase()} token version ${raw[0]}`);
    try {
      return this.cipher.open(this.key, raw.subarray(1, 1 + NONCE_BYTES), aad, raw.subarray(1 + NONCE_BYTES));
    } catch {
      throw new StateTokenError(kind, 'verification', `${label} token signature verification failed`);
    }
  }

  /** Open a stream token: strict base64, envelope, then the codec byte. */
  private openStream(kind: 'cursor' | 'call', version: number, token: string, aad: Uint8Array): Uint8Array {
    const raw = fromBase64(token);
    if (raw === undefined) throw malformedError(kind);
    return this.unpack(kind, this.open(kind, version, raw, aad));
  }

  /** Codec byte plus payload; zstd only when it is smaller, and not tried below {@link TOKEN_COMPRESS_MIN_BYTES}. */
  private pack(plain: Uint8Array): Uint8Array {
    if (this.compressor !== undefined && plain.length >= TOKEN_COMPRESS_MIN_BYTES) {
      const packed = this.compressor.compress(plain);
      if (packed.length < plain.length) return concatBytes([Uint8Array.of(CODEC_ZSTD), packed]);
    }
    return concatBytes([Uint8Array.of(CODEC_RAW), plain]);
  }

  private unpack(kind: TokenKind, data: Uint8Array): Uint8Array {
    const payloadError = (): StateTokenError => new StateTokenError(kind, 'payload', 'Malformed token payload');
    if (data.length === 0) throw payloadError();
    const body = data.subarray(1);
    if (data[0] === CODEC_RAW) return body;
    if (data[0] !== CODEC_ZSTD || this.compressor === undefined) throw payloadError();
    try {
      return this.compressor.decompress(body, MAX_TOKEN_PLAINTEXT_BYTES);
    } catch {
      throw payloadError();
    }
  }

  private checkAge(kind: 'cursor' | 'call', createdAt: number): void {
    if (this.ttlSeconds > 0 && this.now() - createdAt > this.ttlSeconds) {
      throw new StateTokenError(kind, 'expired', `${TOKEN_LABEL[kind]} token expired`);
    }
  }
}

const malformedError = (kind: TokenKind): StateTokenError =>
  new StateTokenError(kind, 'malformed', `Malformed ${TOKEN_LABEL[kind].toLowerCase()} token`);

/** A {@link PlainReader} failure callback for `kind`. */
const malformed =
  (kind: TokenKind) =>
  (): never => {
    throw malformedError(kind);
  };

const checkLength = (what: string, bytes: Uint8Array, expected: number): void => {
  if (bytes.length !== expected) throw new RangeError(`${what} must be ${expected} bytes, got ${bytes.length}`);
};
