import { describe, expect, it } from 'vitest';
import { encodeRecordBatchHeader } from '../../src/wire/message-codec.js';

const nodes = [{ length: 3, nullCount: 0 }];
const layout: (readonly [number, number])[] = [[0, 0], [0, 24]];

describe('record batch header cache', () => {
  it('a metadata object used once is encoded fresh; used again, its header is cached and reused', () => {
    const md = new Map([['k', 'v']]);
    const first = encodeRecordBatchHeader(3, nodes, layout, 24, md);
    const second = encodeRecordBatchHeader(3, nodes, layout, 24, md);
    const third = encodeRecordBatchHeader(3, nodes, layout, 24, md);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    expect(third).toBe(second);
  });

  it('fresh metadata objects each get their own correct header (never another one\'s)', () => {
    const a = encodeRecordBatchHeader(3, nodes, layout, 24, new Map([['k', 'a']]));
    const b = encodeRecordBatchHeader(3, nodes, layout, 24, new Map([['k', 'b']]));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a).includes(Buffer.from('a'))).toBe(true);
    expect(Buffer.from(b).includes(Buffer.from('b'))).toBe(true);
  });

  it('a batch without metadata is cached from its first use', () => {
    const x = encodeRecordBatchHeader(5, [{ length: 5, nullCount: 0 }], [[0, 0], [0, 40]], 40, undefined);
    expect(encodeRecordBatchHeader(5, [{ length: 5, nullCount: 0 }], [[0, 0], [0, 40]], 40, undefined)).toBe(x);
  });
});
