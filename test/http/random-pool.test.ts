import { describe, expect, it } from 'vitest';
import { pooledRandomBytes, withRandomBytes } from '../../src/http/random-pool.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('random pool', () => {
  it('hands out arrays of their own, of the asked length, never the same bytes twice (across several refills)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const b = pooledRandomBytes(24);
      expect(b.length).toBe(24);
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(24);
      seen.add(hex(b));
    }
    expect(seen.size).toBe(2000);
  });

  it('a caller changing its bytes changes nothing for the next one', () => {
    const a = pooledRandomBytes(16);
    a.fill(0);
    const b = pooledRandomBytes(16);
    expect(hex(b)).not.toBe(hex(a));
    expect(b.some((x) => x !== 0)).toBe(true);
  });

  it('large draws bypass the pool', () => {
    const big = pooledRandomBytes(10_000);
    expect(big.length).toBe(10_000);
    // 10,000 random bytes take all 256 values (a zeroed or short array would not).
    expect(new Set(big).size).toBe(256);
  });

  it('withRandomBytes lends fresh slices of the pool, one after another', () => {
    const lent: string[] = [];
    for (let i = 0; i < 1500; i++) lent.push(withRandomBytes(8, (bytes, offset) => hex(bytes.subarray(offset, offset + 8))));
    expect(new Set(lent).size).toBe(lent.length);
    // Every byte value shows up: the pool is filled with randomness, not zeros.
    expect(new Set(lent.join('').match(/../g)).size).toBe(256);
  });
});
