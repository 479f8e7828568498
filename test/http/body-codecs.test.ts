import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BodyTooLargeError,
  CorruptBodyError,
  UnsupportedEncodingError,
  availableCodecs,
  compressBody,
  decodeRequestBody,
  decompressBody,
  zstdAvailable,
  zstdTokenCompressor,
} from '../../transports/http/body-codecs.js';

const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

const MiB = 1 << 20;
const GiB = 1 << 30;

/** One zstd frame of `total` zero bytes, fed 1 MiB at a time (no size in the header unless pledged). */
const zstdZeros = (total: number, pledge = false): Uint8Array => {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.compressionLevel, 1);
  if (pledge) cctx.setPledgedSrcSize(total);
  const zero = new Uint8Array(MiB);
  const dst = Buffer.allocUnsafe(zstd.cStreamOutSize());
  const out: Buffer[] = [];
  const step = (src: Uint8Array, end: boolean) => {
    for (;;) {
      const [remaining, produced, consumed] = cctx.compressStream2(dst, src, end ? zstd.EndDirective.end : zstd.EndDirective.continue);
      if (produced > 0) out.push(Buffer.from(dst.subarray(0, produced)));
      src = src.subarray(consumed);
      if (end ? remaining === 0 : src.length === 0) return;
    }
  };
  for (let fed = 0; fed < total; fed += MiB) step(zero.subarray(0, Math.min(MiB, total - fed)), false);
  step(new Uint8Array(0), true);
  return Buffer.concat(out);
};

/** A gzip body of `members` concatenated members, each 16 MiB of zeros. */
const gzipZeros = (members: number): Uint8Array => Buffer.concat(Array<Uint8Array>(members).fill(gzipSync(new Uint8Array(16 * MiB))));

const text = (s: string) => new TextEncoder().encode(s);
const concat = (chunks: readonly Uint8Array[]) => Buffer.concat(chunks);

const errorOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};

describe('body codecs', () => {
  it('zstd-napi is available here: both codecs, zstd first', () => {
    expect(zstdAvailable()).toBe(true);
    expect(availableCodecs()).toEqual(['zstd', 'gzip']);
  });

  for (const codec of ['zstd', 'gzip'] as const) {
    it(`${codec}: compressed chunks decode to their concatenation`, () => {
      const chunks = [text('arrow-ipc-body '.repeat(5000)), new Uint8Array(0), text('tail')];
      const encoded = compressBody(codec, chunks);
      const whole = concat(chunks);
      expect(concat(encoded).length).toBeLessThan(whole.length / 10);
      expect(decompressBody(codec, concat(encoded), whole.length)).toEqual(new Uint8Array(whole));
      // An independent decoder agrees.
      const independent = codec === 'zstd' ? zstd.decompress(Buffer.alloc(whole.length), concat(encoded)) : gunzipSync(concat(encoded)).length;
      expect(independent).toBe(whole.length);
    });

    it(`${codec}: an empty body compresses and decodes to empty`, () => {
      expect(decompressBody(codec, concat(compressBody(codec, [])), 0)).toHaveLength(0);
    });

    it(`${codec}: the cap is inclusive`, () => {
      const body = concat(compressBody(codec, [new Uint8Array(100_000).fill(7)]));
      expect(decompressBody(codec, body, 100_000)).toHaveLength(100_000);
      const e = errorOf(() => decompressBody(codec, body, 99_999));
      expect(e).toBeInstanceOf(BodyTooLargeError);
      expect((e as BodyTooLargeError).status).toBe(413);
    });

    it(`${codec}: garbage, truncation and trailing junk are corrupt (400)`, () => {
      const good = concat(compressBody(codec, [text('hello world '.repeat(1000))]));
      for (const bad of [text('definitely not compressed'), good.subarray(0, good.length - 5), new Uint8Array(0), concat([good, text('junk')])]) {
        const e = errorOf(() => decompressBody(codec, bad, 10 * MiB));
        expect(e, `${codec} ${bad.length} bytes`).toBeInstanceOf(CorruptBodyError);
        expect((e as CorruptBodyError).status).toBe(400);
      }
    });
  }

  it('zstd frames carry their content size (eager decoders need it)', () => {
    const body = concat(compressBody('zstd', [text('a'.repeat(1000)), text('b'.repeat(234))]));
    expect(zstd.getFrameContentSize(body)).toBe(1234);
  });

  it('zstd: concatenated frames decode as one body', () => {
    const a = concat(compressBody('zstd', [text('first ')]));
    const b = concat(compressBody('zstd', [text('second')]));
    expect(new TextDecoder().decode(decompressBody('zstd', concat([a, b]), 100))).toBe('first second');
  });

  it('gzip: concatenated members decode as one body', () => {
    expect(new TextDecoder().decode(decompressBody('gzip', concat([gzipSync('first '), gzipSync('second')]), 100))).toBe('first second');
  });

  it('zstd: a frame declaring more than the cap is refused before decoding', () => {
    const declared = zstdZeros(64 * MiB, true);
    expect(zstd.getFrameContentSize(declared)).toBe(64 * MiB);
    expect(() => decompressBody('zstd', declared, 16 * MiB)).toThrow(BodyTooLargeError);
  });

  it('zstd: a 1 GiB bomb without a declared size stops at the cap, memory stays low', () => {
    const bomb = zstdZeros(GiB);
    expect(bomb.length).toBeLessThan(MiB);
    expect(zstd.getFrameContentSize(bomb)).toBeNull();
    const before = process.memoryUsage().rss;
    expect(() => decompressBody('zstd', bomb, 16 * MiB)).toThrow(BodyTooLargeError);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB);
  });

  it('gzip: a 1 GiB bomb stops at the cap, memory stays low', () => {
    const bomb = gzipZeros(64);
    expect(bomb.length).toBeLessThan(2 * MiB);
    const before = process.memoryUsage().rss;
    expect(() => decompressBody('gzip', bomb, 16 * MiB)).toThrow(BodyTooLargeError);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB);
  });

  it('compressBody honours an explicit level', () => {
    const body = text(Array.from({ length: 20000 }, (_, i) => `row ${i % 977};`).join(''));
    const fast = concat(compressBody('zstd', [body], 1));
    const strong = concat(compressBody('zstd', [body], 19));
    expect(strong.length).toBeLessThan(fast.length);
    expect(decompressBody('zstd', strong, body.length)).toEqual(new Uint8Array(body));
  });

  it('zstd: a body decoded after a truncated, corrupt or over-cap one decodes whole (one context per thread, reset per body)', () => {
    const good = text('the good body '.repeat(500));
    const frame = concat(compressBody('zstd', [good]));
    const check = (): void => expect(decompressBody('zstd', frame, good.length)).toEqual(new Uint8Array(good));
    check();
    // Cut inside the frame: the decoder holds a half-read frame when it gives up.
    expect(() => decompressBody('zstd', frame.subarray(0, frame.length - 20), good.length)).toThrow(CorruptBodyError);
    check();
    expect(() => decompressBody('zstd', zstdZeros(64 * MiB), MiB)).toThrow(BodyTooLargeError);
    check();
    expect(() => decompressBody('zstd', text('not a zstd frame at all'), good.length)).toThrow(CorruptBodyError);
    check();
    // The start of a frame, cut, then a whole body: nothing of the cut one is carried over.
    expect(() => decompressBody('zstd', frame.subarray(0, 30), good.length)).toThrow(CorruptBodyError);
    expect(decompressBody('zstd', concat([frame, frame]), 2 * good.length)).toEqual(new Uint8Array(concat([good, good])));
  });

  it('zstd: bodies compressed one after another (one context per thread) are independent frames, whatever the order of levels', () => {
    const body = (seed: number): Uint8Array => text(Array.from({ length: 5000 }, (_, i) => `r${(i * seed) % 613};`).join(''));
    const levels = [1, 19, 1, 3, 19, 1];
    const frames = levels.map((level, k) => ({ level, input: body(k + 1), frame: concat(compressBody('zstd', [body(k + 1)], level)) }));
    for (const f of frames) {
      expect(zstd.getFrameContentSize(f.frame)).toBe(f.input.length);
      expect(decompressBody('zstd', f.frame, f.input.length)).toEqual(new Uint8Array(f.input));
    }
    // The level of each body is its own: the same input at 19 after 1, and at 1 after 19, give what each level gives alone.
    const rows = text(Array.from({ length: 20000 }, (_, i) => `row ${i % 977};`).join(''));
    const alone1 = concat(compressBody('zstd', [rows], 1));
    expect(concat(compressBody('zstd', [rows], 19)).length).toBeLessThan(alone1.length);
    expect(concat(compressBody('zstd', [rows], 1))).toEqual(alone1);
  });
});

describe('zstd token compressor', () => {
  const tc = zstdTokenCompressor()!;

  it('round-trips and shrinks a redundant payload', () => {
    const payload = text('{"offset":1,"cursor":"abc"}'.repeat(100));
    const packed = tc.compress(payload);
    expect(packed.length).toBeLessThan(payload.length / 5);
    expect(tc.decompress(packed, payload.length)).toEqual(new Uint8Array(payload));
  });

  it('refuses to decompress past its cap', () => {
    const packed = tc.compress(new Uint8Array(4096));
    expect(() => tc.decompress(packed, 4095)).toThrow(BodyTooLargeError);
  });
});

describe('decodeRequestBody', () => {
  const payload = text('request body '.repeat(100));

  it('undoes the declared codec within the cap', () => {
    for (const codec of ['zstd', 'gzip'] as const) {
      const body = concat(compressBody(codec, [payload]));
      expect(decodeRequestBody(` ${codec.toUpperCase()} `, body, payload.length)).toEqual(new Uint8Array(payload));
      expect(() => decodeRequestBody(codec, body, payload.length - 1)).toThrow(BodyTooLargeError);
    }
  });

  it('passes a body without Content-Encoding through unchanged', () => {
    expect(decodeRequestBody(undefined, payload, 1)).toBe(payload);
    expect(decodeRequestBody('', payload, 1)).toBe(payload);
  });

  it('refuses unknown, listed, identity and disabled codings with 415', () => {
    const gz = concat(compressBody('gzip', [payload]));
    for (const [value, decodable] of [['br', undefined], ['gzip, zstd', undefined], ['identity', undefined], ['zstd', ['gzip']]] as const) {
      const e = errorOf(() => decodeRequestBody(value, gz, 1 << 20, decodable));
      expect(e, value).toBeInstanceOf(UnsupportedEncodingError);
      expect((e as UnsupportedEncodingError).status).toBe(415);
    }
    expect(decodeRequestBody('gzip', gz, 1 << 20, ['gzip'])).toEqual(new Uint8Array(payload));
  });
});
