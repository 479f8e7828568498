/**
 * The HTTP client's pure parts: which content coding is left to undo and
 * undoing it within a limit, reading capability headers, the retry policy's
 * delays and `Retry-After`.
 */
import { gzipSync } from 'node:zlib';
import zstd from 'zstd-napi';
import { describe, expect, it } from 'vitest';
import { BodyTooLarge, decodeBody, gzip, responseCoding } from '../../src/client/http/content-coding.js';
import { checkResponseBudget, parseCapabilities } from '../../src/client/http/capabilities.js';
import { backoffDelay, parseRetryAfter, retryPolicy } from '../../src/client/http/retry.js';
import { RpcClientError } from '../../src/index.js';

const text = (n: number): Uint8Array => new TextEncoder().encode('abcdefgh'.repeat(n / 8));

describe('response codings', () => {
  it('X-VGI-Content-Encoding wins; standard gzip/deflate/br are fetch\'s; standard zstd only while still framed', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(responseCoding(h({ 'X-VGI-Content-Encoding': 'gzip', 'Content-Encoding': 'zstd' }))).toBe('gzip');
    expect(responseCoding(h({ 'X-VGI-Content-Encoding': 'ZSTD' }))).toBe('zstd');
    expect(responseCoding(h({ 'X-VGI-Content-Encoding': 'identity', 'Content-Encoding': 'gzip' }))).toBeUndefined();
    expect(responseCoding(h({ 'Content-Encoding': 'gzip' }))).toBeUndefined();
    expect(responseCoding(h({ 'Content-Encoding': 'br' }))).toBeUndefined();
    expect(responseCoding(h({ 'Content-Encoding': 'zstd' }))).toBe('zstd-if-framed');
    expect(responseCoding(h({}))).toBeUndefined();
    expect(() => responseCoding(h({ 'Content-Encoding': 'compress' }))).toThrow(RpcClientError);
  });

  it('decodes gzip and zstd, passes a zstd-labelled body fetch already decoded, and stops at the limit', async () => {
    const plain = text(200_000);
    expect(await decodeBody('gzip', gzipSync(plain), plain.byteLength)).toEqual(plain);
    expect(await decodeBody('zstd', zstd.compress(plain), plain.byteLength)).toEqual(plain);
    expect(await decodeBody('zstd-if-framed', zstd.compress(plain), plain.byteLength)).toEqual(plain);
    expect(await decodeBody('zstd-if-framed', plain, plain.byteLength)).toBe(plain);
    await expect(decodeBody('gzip', gzipSync(plain), plain.byteLength - 1)).rejects.toBeInstanceOf(BodyTooLarge);
    await expect(decodeBody('zstd', zstd.compress(plain), 65536)).rejects.toBeInstanceOf(BodyTooLarge);
    await expect(decodeBody('zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]), 100)).rejects.toMatchObject({ errorType: 'ProtocolError' });
  });

  it('gzips request bodies that round-trip', async () => {
    const plain = text(50_000);
    const packed = await gzip(plain);
    expect(packed.byteLength).toBeLessThan(plain.byteLength / 10);
    expect(await decodeBody('gzip', packed, plain.byteLength)).toEqual(plain);
  });
});

describe('capabilities', () => {
  it('reads the headers; an absent codec list is the legacy zstd-only server, an empty one no compression', () => {
    const caps = parseCapabilities(new Headers({
      'VGI-Accept-Max-Response-Bytes-Support': 'true',
      'VGI-Supported-Encodings': 'zstd, GZIP',
      'VGI-Max-Request-Bytes': '4096',
      'VGI-Max-Response-Bytes': '01',
    }));
    expect(caps).toEqual({ responseBudgetSupport: true, supportedEncodings: ['zstd', 'gzip'], maxRequestBytes: 4096, maxResponseBytes: undefined });
    expect(parseCapabilities(new Headers()).supportedEncodings).toEqual(['zstd']);
    expect(parseCapabilities(new Headers({ 'VGI-Supported-Encodings': '' })).supportedEncodings).toEqual([]);
    expect(parseCapabilities(new Headers({ 'VGI-Accept-Max-Response-Bytes-Support': 'yes' })).responseBudgetSupport).toBe(false);
  });

  it('a response budget is an integer of at least 64 KiB', () => {
    expect(checkResponseBudget(undefined)).toBe(256 * 1024 * 1024);
    expect(checkResponseBudget(65536)).toBe(65536);
    expect(() => checkResponseBudget(65535)).toThrow(/at least 65536/);
    expect(() => checkResponseBudget(1e6 + 0.5)).toThrow(RpcClientError);
  });
});

describe('retry policy', () => {
  it('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('exponential backoff with full jitter, capped; Retry-After raises the wait, up to the cap', () => {
    const p = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect(p.maxRetries).toBe(3);
    expect(backoffDelay(p, 0, undefined, () => 1)).toBe(100);
    expect(backoffDelay(p, 2, undefined, () => 1)).toBe(400);
    expect(backoffDelay(p, 2, undefined, () => 0.5)).toBe(200);
    expect(backoffDelay(p, 8, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(p, 0, 700, () => 0)).toBe(700);
    expect(backoffDelay(p, 0, 60_000, () => 0)).toBe(1000);
    expect(retryPolicy(false).maxRetries).toBe(0);
    expect(() => retryPolicy({ maxRetries: -1 })).toThrow(/non-negative/);
  });
});
