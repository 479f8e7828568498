import { describe, expect, it } from 'vitest';
import { encodeWith, fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../src/http/base64.js';

const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));

describe('base64', () => {
  it('agrees with Node for every tail length, both spellings', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = random(n);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
    }
  });

  it('the pure-JS encoder (browsers) writes what Node writes, and views at an offset encode only their bytes', () => {
    const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let n = 0; n < 70; n++) {
      const whole = random(n + 7);
      const bytes = whole.subarray(3, 3 + n);
      expect(encodeWith(bytes, STANDARD, true)).toBe(Buffer.from(bytes).toString('base64'));
      expect(encodeWith(bytes, URL_SAFE, false)).toBe(Buffer.from(bytes).toString('base64url'));
      expect(toBase64(bytes)).toBe(encodeWith(bytes, STANDARD, true));
      expect(toBase64Url(bytes)).toBe(encodeWith(bytes, URL_SAFE, false));
    }
  });

  it('refuses anything but the canonical spelling', () => {
    for (const bad of ['A', 'AA', 'AAA', 'AA=', 'A===', 'AB==', 'AAB=', 'AA==AA==', ' AA==', 'AA==\n', 'AA-_', 'AA\u00e9=', 'A=A=']) {
      expect(fromBase64(bad), JSON.stringify(bad)).toBeUndefined();
    }
    for (const bad of ['A', 'AA==', 'AB', 'AAB', 'AA+/', 'AA A']) {
      expect(fromBase64Url(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(fromBase64('')).toEqual(new Uint8Array(0));
    expect(fromBase64('AA==')).toEqual(Uint8Array.of(0));
    expect(fromBase64Url('AA')).toEqual(Uint8Array.of(0));
  });
});
