/**
 * HTTP content coding on Node: zstd (zstd-napi, an optional peer dependency
 * loaded on first use) and gzip (node:zlib). Decoding caps the decoded size
 * *while* it decompresses, so a small bomb never allocates more than about
 * the cap; the three failures are typed with the status a server answers.
 * Also the zstd compressor that src/http/state-tokens.ts seals tokens with.
 *
 * Levels follow the reference: responses zstd 1 and gzip 6, tokens zstd 3.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type CompressionCodec, requestEncodingOf } from '../../src/http/encoding-negotiation.js';
import type { TokenCompressor } from '../../src/http/state-tokens.js';

type ZstdBinding = typeof import('zstd-napi/binding.js');

/** zstd level for response bodies (faster *and* smaller than 3 on Arrow IPC, per the reference). */
export const RESPONSE_ZSTD_LEVEL = 1;
/** gzip level for response bodies. */
export const RESPONSE_GZIP_LEVEL = 6;
/** zstd level for token payloads. */
export const TOKEN_ZSTD_LEVEL = 3;

/** Output slice per decompression step: the most a step can overshoot the cap by. */
const DECODE_STEP_BYTES = 128 * 1024;
/** A zstd frame declaring at most this many bytes, or {@link DIRECT_DECODE_RATIO} times its body, decodes into one buffer. */
const DIRECT_DECODE_BYTES = 4 * 1024 * 1024;
const DIRECT_DECODE_RATIO = 32;

/** The decoded body would be larger than allowed (HTTP 413). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly status = 413;

  constructor(
    readonly codec: CompressionCodec,
    readonly maxBytes: number,
  ) {
    super(`Decompressed ${codec} body exceeds ${maxBytes} bytes`);
  }
}

/** The body is not valid data of its declared coding (HTTP 400). */
export class CorruptBodyError extends Error {
  override readonly name = 'CorruptBodyError';
  readonly status = 400;

  constructor(
    readonly codec: CompressionCodec,
    detail: string,
  ) {
    super(`Failed to decompress ${codec} body: ${detail}`);
  }
}

/** The request's `Content-Encoding` is unknown or not enabled here (HTTP 415). */
export class UnsupportedEncodingError extends Error {
  override readonly name = 'UnsupportedEncodingError';
  readonly status = 415;

  constructor(readonly encoding: string) {
    super(`Unsupported Content-Encoding: ${encoding}`);
  }
}

let zstdModule: ZstdBinding | null | undefined;

/** zstd-napi's native binding, or undefined when the optional dependency is not installed. */
const zstdBinding = (): ZstdBinding | undefined => {
  if (zstdModule === undefined) {
    try {
      zstdModule = createRequire(import.meta.url)('zstd-napi/binding.js') as ZstdBinding;
    } catch {
      zstdModule = null;
    }
  }
  return zstdModule ?? undefined;
};

const requireZstd = (): ZstdBinding => {
  const binding = zstdBinding();
  if (binding === undefined) throw new UnsupportedEncodingError('zstd');
  return binding;
};

/** True when zstd-napi loads, i.e. this process can encode and decode zstd. */
export const zstdAvailable = (): boolean => zstdBinding() !== undefined;

/** The codecs this process can encode and decode, in the server's preference order. */
export const availableCodecs = (): readonly CompressionCodec[] => (zstdAvailable() ? ['zstd', 'gzip'] : ['gzip']);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A plain Uint8Array over `b`'s bytes: callers get Uint8Array semantics (a Buffer's slice() does not copy). */
const plain = (b: Uint8Array): Uint8Array => (b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

/**
 * This thread's decompression context, made once and reset before each
 * body: creating one cost ~28 µs, the whole price of opening a state token
 * (one per stream turn). Decoding is synchronous, so it is never shared by
 * two bodies at once.
 */
let sharedDctx: InstanceType<ZstdBinding['DCtx']> | undefined;

/**
 * Decode a zstd body (any number of frames) a bounded slice at a time, so the
 * output never grows past `maxBytes` + one slice whatever the frames declare.
 */
const decodeZstd = (body: Uint8Array, maxBytes: number): Uint8Array => {
  const zstd = requireZstd();
  if (body.length === 0) throw new CorruptBodyError('zstd', 'empty body');
  // A frame that declares its size up front can be refused before any work.
  let declared: number | null;
  try {
    declared = zstd.getFrameContentSize(body);
  } catch (e) {
    throw new CorruptBodyError('zstd', errorText(e));
  }
  if (declared !== null && declared > maxBytes) throw new BodyTooLargeError('zstd', maxBytes);
  const dctx = (sharedDctx ??= new zstd.DCtx());
  // Whatever an earlier body left (a truncated or refused frame) is dropped.
  dctx.reset(zstd.ResetDirective.sessionOnly);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let src = body;
  let inFrame = false;
  // A frame that declares its size decodes straight into one buffer of that size (plus one byte, to see
  // more come): no chunks to join. Only a size the body could plausibly hold, though, so a small body
  // declaring a huge size allocates nothing up front. Otherwise (and past it, for frames that follow) step by step.
  let first = declared !== null && declared <= Math.max(DIRECT_DECODE_BYTES, body.length * DIRECT_DECODE_RATIO);
  for (;;) {
    const room = first ? declared! + 1 : Math.min(DECODE_STEP_BYTES, maxBytes - total + 1);
    first = false;
    const dst = Buffer.allocUnsafe(room);
    let result: [number, number, number];
    try {
      result = dctx.decompressStream(dst, src);
    } catch (e) {
      throw new CorruptBodyError('zstd', errorText(e));
    }
    const [hint, produced, consumed] = result;
    total += produced;
    if (total > maxBytes) throw new BodyTooLargeError('zstd', maxBytes);
    if (produced > 0) chunks.push(dst.subarray(0, produced));
    src = src.subarray(consumed);
    inFrame = hint !== 0;
    // Done when the input is used up and the decoder had room to spare (nothing left buffered).
    if (src.length === 0 && produced < room) break;
    if (src.length > 0 && produced === 0 && consumed === 0) throw new CorruptBodyError('zstd', 'decoder made no progress');
  }
  if (inFrame) throw new CorruptBodyError('zstd', 'truncated frame');
  return plain(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
};

const decodeGzip = (body: Uint8Array, maxBytes: number): Uint8Array => {
  try {
    // node:zlib checks maxOutputLength as it inflates and stops there.
    const out = gunzipSync(body, { maxOutputLength: Math.max(1, Math.min(maxBytes, bufferConstants.MAX_LENGTH)) });
    if (out.length > maxBytes) throw new BodyTooLargeError('gzip', maxBytes);
    return plain(out);
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw e;
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLargeError('gzip', maxBytes);
    throw new CorruptBodyError('gzip', errorText(e));
  }
};

/**
 * Decode a `codec` body, refusing to produce more than `maxBytes`.
 * Throws {@link BodyTooLargeError}, {@link CorruptBodyError}, or
 * {@link UnsupportedEncodingError} (zstd without zstd-napi).
 */
export const decompressBody = (codec: CompressionCodec, body: Uint8Array, maxBytes: number): Uint8Array => {
  if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  return codec === 'zstd' ? decodeZstd(body, maxBytes) : decodeGzip(body, maxBytes);
};

/**
 * A request body as the handler reads it: undone per its `Content-Encoding`
 * value, at most `maxBytes` once decoded. No header: the body as received
 * (its wire size is the engine's cap). A codec not in `decodable` (default:
 * every codec this process has), `identity` (as the reference and the peer
 * answer it) or any other value: {@link UnsupportedEncodingError}.
 */
export const decodeRequestBody = (
  contentEncoding: string | undefined,
  body: Uint8Array,
  maxBytes: number,
  decodable: readonly CompressionCodec[] = availableCodecs(),
): Uint8Array => {
  const encoding = requestEncodingOf(contentEncoding);
  switch (encoding.kind) {
    case 'none':
      return body;
    case 'codec':
      if (decodable.includes(encoding.codec)) return decompressBody(encoding.codec, body, maxBytes);
      throw new UnsupportedEncodingError(encoding.codec);
    case 'identity':
      throw new UnsupportedEncodingError('identity');
    case 'unknown':
      throw new UnsupportedEncodingError(encoding.token);
  }
};

/**
 * The response compressor of this thread, made once: a context sized for a
 * large body costs about as much to create (its workspace allocated and
 * touched) as compressing 1.6 MB of Arrow data at level 1 takes, so one per
 * response made compression 40% slower. Compression is synchronous, so one
 * context per thread is never shared by two bodies at once.
 */
let responseCctx: { readonly cctx: InstanceType<ZstdBinding['CCtx']>; level: number } | undefined;

const encodeZstd = (chunks: readonly Uint8Array[], level: number): Uint8Array[] => {
  const zstd = requireZstd();
  if (responseCctx === undefined) {
    responseCctx = { cctx: new zstd.CCtx(), level };
    responseCctx.cctx.setParameter(zstd.CParameter.compressionLevel, level);
  }
  const cctx = responseCctx.cctx;
  // Whatever a failed body left behind is dropped; the level stays unless this body asks for another.
  cctx.reset(zstd.ResetDirective.sessionOnly);
  if (responseCctx.level !== level) {
    cctx.setParameter(zstd.CParameter.compressionLevel, level);
    responseCctx.level = level;
  }
  // Pledging the size puts it in the frame header: eager one-shot decoders (older Python clients) need it.
  let total = 0;
  for (const c of chunks) total += c.length;
  cctx.setPledgedSrcSize(total);
  const out: Uint8Array[] = [];
  const step = zstd.cStreamOutSize();
  let dst = Buffer.allocUnsafe(step);
  const drain = (src: Uint8Array, end: boolean): void => {
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(dst, src, end ? zstd.EndDirective.end : zstd.EndDirective.continue);
      if (produced > 0) {
        out.push(plain(dst.subarray(0, produced)));
        dst = Buffer.allocUnsafe(step);
      }
      src = src.subarray(consumed);
      if (end ? remaining === 0 : src.length === 0) return;
    }
  };
  for (const c of chunks) if (c.length > 0) drain(c, false);
  drain(new Uint8Array(0), true);
  return out;
};

/**
 * Compress body chunks with `codec` for a response (zstd level 1, gzip
 * level 6 unless `level` says otherwise). The result is chunks too: the
 * engine writes them in order.
 */
export const compressBody = (codec: CompressionCodec, chunks: readonly Uint8Array[], level?: number): Uint8Array[] => {
  if (codec === 'zstd') return encodeZstd(chunks, level ?? RESPONSE_ZSTD_LEVEL);
  const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return [plain(gzipSync(whole, { level: level ?? RESPONSE_GZIP_LEVEL }))];
};

/**
 * The compressor a {@link TokenSealer} seals with: zstd level 3, decoding
 * capped. Undefined when zstd-napi is not installed (tokens are then sealed
 * raw, which is still valid: the codec byte says so).
 */
export const zstdTokenCompressor = (): TokenCompressor | undefined => {
  const zstd = zstdBinding();
  if (zstd === undefined) return undefined;
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, TOKEN_ZSTD_LEVEL);
  return {
    compress: (bytes) => {
      const dst = Buffer.allocUnsafe(zstd.compressBound(bytes.length));
      return plain(dst.subarray(0, cctx.compress2(dst, bytes)));
    },
    decompress: (bytes, maxBytes) => decodeZstd(bytes, maxBytes),
  };
};
