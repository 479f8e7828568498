import { describe, expect, it } from 'vitest';
import {
  type CompressionCodec,
  negotiateResponseEncoding,
  parseEncodingList,
  requestEncodingOf,
  responseEncodingFor,
} from '../../src/http/encoding-negotiation.js';

const BOTH: readonly CompressionCodec[] = ['zstd', 'gzip'];

describe('parseEncodingList', () => {
  it('keeps known tokens in order, once, dropping q-values, case and unknown tokens', () => {
    expect(parseEncodingList('deflate, GZIP;q=0.1, br, zstd , gzip, identity;q=0, *')).toEqual(['gzip', 'zstd', 'identity']);
    expect(parseEncodingList(undefined)).toEqual([]);
    expect(parseEncodingList('')).toEqual([]);
    expect(parseEncodingList(' , ,')).toEqual([]);
  });
});

describe('negotiateResponseEncoding', () => {
  it('walks X-VGI-Accept-Encoding before Accept-Encoding', () => {
    // The DuckDB engine's HTTP client sends gzip first in the standard header.
    expect(negotiateResponseEncoding('deflate, gzip, br, zstd', 'zstd, gzip', BOTH)).toEqual({ codec: 'zstd', header: 'Content-Encoding' });
    expect(negotiateResponseEncoding('zstd', 'gzip', BOTH)).toEqual({ codec: 'gzip', header: 'X-VGI-Content-Encoding' });
  });

  it('labels a codec found only through the custom header X-VGI-Content-Encoding', () => {
    for (const codec of BOTH) {
      expect(negotiateResponseEncoding('', codec, BOTH)).toEqual({ codec, header: 'X-VGI-Content-Encoding' });
      expect(negotiateResponseEncoding(undefined, codec, BOTH)).toEqual({ codec, header: 'X-VGI-Content-Encoding' });
      expect(negotiateResponseEncoding(codec, undefined, BOTH)).toEqual({ codec, header: 'Content-Encoding' });
      expect(negotiateResponseEncoding(`${codec};q=0.5`, codec, BOTH)).toEqual({ codec, header: 'Content-Encoding' });
    }
  });

  it('identity ends the walk with an uncompressed body', () => {
    expect(negotiateResponseEncoding('gzip, zstd', 'identity', BOTH)).toBeUndefined();
    expect(negotiateResponseEncoding('identity, gzip', undefined, BOTH)).toBeUndefined();
    // A codec before identity still wins; an unproducible one is passed over on the way to identity.
    expect(negotiateResponseEncoding(undefined, 'gzip, identity', BOTH)?.codec).toBe('gzip');
    expect(negotiateResponseEncoding('zstd, identity, gzip', undefined, ['gzip'])).toBeUndefined();
  });

  it('takes the first codec the server can produce, else none', () => {
    expect(negotiateResponseEncoding('zstd, gzip', undefined, ['gzip'])).toEqual({ codec: 'gzip', header: 'Content-Encoding' });
    expect(negotiateResponseEncoding('br', undefined, BOTH)).toBeUndefined();
    expect(negotiateResponseEncoding(undefined, undefined, BOTH)).toBeUndefined();
    expect(negotiateResponseEncoding('zstd, gzip', 'zstd, gzip', [])).toBeUndefined();
  });

  it('ignores q-values, even q=0', () => {
    expect(negotiateResponseEncoding('gzip;q=0, zstd;q=1', undefined, BOTH)?.codec).toBe('gzip');
  });

  it('reads lower-case engine header names', () => {
    const headers = new Map([
      ['accept-encoding', 'gzip'],
      ['x-vgi-accept-encoding', 'zstd'],
    ]);
    expect(responseEncodingFor(headers, BOTH)).toEqual({ codec: 'zstd', header: 'X-VGI-Content-Encoding' });
    expect(responseEncodingFor(new Map(), BOTH)).toBeUndefined();
  });
});

describe('requestEncodingOf', () => {
  it('classifies a request Content-Encoding', () => {
    expect(requestEncodingOf(undefined)).toEqual({ kind: 'none' });
    expect(requestEncodingOf('  ')).toEqual({ kind: 'none' });
    expect(requestEncodingOf('Identity')).toEqual({ kind: 'identity' });
    expect(requestEncodingOf(' ZSTD ')).toEqual({ kind: 'codec', codec: 'zstd' });
    expect(requestEncodingOf('gzip')).toEqual({ kind: 'codec', codec: 'gzip' });
    expect(requestEncodingOf(' Br ')).toEqual({ kind: 'unknown', token: 'Br' });
    expect(requestEncodingOf('gzip, zstd')).toEqual({ kind: 'unknown', token: 'gzip, zstd' });
    expect(requestEncodingOf('x-gzip')).toEqual({ kind: 'unknown', token: 'x-gzip' });
  });
});
