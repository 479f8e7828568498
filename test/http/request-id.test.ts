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
});
