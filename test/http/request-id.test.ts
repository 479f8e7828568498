import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdOf } from '../../src/http/request-id.js';

describe('request id', () => {
  it('echoes the client id, trimmed', () => {
    expect(requestIdOf(new Map([['x-request-id', 'abc-123']]))).toBe('abc-123');
    expect(requestIdOf(new Map([['x-request-id', '  trace 7 ']]))).toBe('trace 7');
  });

  it('mints 16 lower-case hex characters when absent or blank, unique per request', () => {
    const minted = [requestIdOf(new Map()), requestIdOf(new Map([['x-request-id', '   ']])), ...Array.from({ length: 200 }, newRequestId)];
    for (const id of minted) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(minted).size).toBe(minted.length);
  });

  it('stays unique and well formed across refills of its random pool (ids are drawn from 4 KiB of randomness at a time)', () => {
    const minted = Array.from({ length: 3000 }, newRequestId);
    for (const id of minted) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(minted).size).toBe(minted.length);
    // Every hex digit shows up in every position: the pool is refilled, not replayed or left zeroed.
    for (let pos = 0; pos < 16; pos++) expect(new Set(minted.map((id) => id[pos])).size).toBe(16);
  });
});
