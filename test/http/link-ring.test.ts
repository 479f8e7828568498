/**
 * The SAB hop of the HTTP front end's links (transports/http/link-ring.ts),
 * in one thread: batches of link messages cross a ring as V8-serialised
 * frames (Maps, byte bodies and all), the pump hands them over in order and
 * ends with the ring, the drain takes only whole frames without waiting, and
 * writing to a ring whose reader is gone reports false instead of throwing.
 */
import { describe, expect, it } from 'vitest';
import { createSabChannel, openSide } from '../../runtime/sab-channel.js';
import { drainBatches, pumpBatches, writeBatch } from '../../transports/http/link-ring.js';

const request = (id: number, bytes: number) => ({
  op: 'request', id,
  request: { method: 'POST', path: '/P/m', headers: new Map([['content-type', 'application/vnd.apache.arrow.stream']]), body: new Uint8Array(bytes).fill(id & 0xff), requestId: `r${id}` },
});

describe('link ring', () => {
  it('carries batches in order, with their Maps and bodies, and the pump ends when the writer closes', async () => {
    const channel = createSabChannel(4096);
    const a = openSide(channel, 'a', { holdThread: false });
    const b = openSide(channel, 'b', { holdThread: false });
    const got: unknown[][] = [];
    const pumping = pumpBatches<unknown>(b.reader, (batch) => got.push([...batch]));
    // Larger than the ring in all: the writer streams frames through it as the pump reads.
    for (let i = 0; i < 20; i++) expect(writeBatch(a.writer, [request(i, 300), request(i + 100, 10)])).toBe(true);
    await a.writer.close();
    await pumping;
    expect(got).toHaveLength(20);
    for (let i = 0; i < 20; i++) {
      const [first, second] = got[i] as ReturnType<typeof request>[];
      expect(first!.id).toBe(i);
      expect(first!.request.headers).toBeInstanceOf(Map);
      expect(first!.request.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
      expect(first!.request.body.byteLength).toBe(300);
      expect(first!.request.body.every((x) => x === (i & 0xff))).toBe(true);
      expect(second!.id).toBe(i + 100);
    }
  });

  it('drain takes the whole frames there now and stops without waiting', () => {
    const channel = createSabChannel(64 * 1024);
    const a = openSide(channel, 'a', { holdThread: false });
    const b = openSide(channel, 'b', { holdThread: false });
    writeBatch(a.writer, [{ id: 1 }]);
    writeBatch(a.writer, [{ id: 2 }, { id: 3 }]);
    const ids: number[] = [];
    drainBatches<{ id: number }>(b.reader, (batch) => { for (const m of batch) ids.push(m.id); });
    expect(ids).toEqual([1, 2, 3]);
    drainBatches<{ id: number }>(b.reader, () => { throw new Error('nothing is left to drain'); });
  });

  it('a ring whose reader closed takes no batch: writeBatch answers false', () => {
    const channel = createSabChannel(1024);
    const a = openSide(channel, 'a', { holdThread: false });
    const b = openSide(channel, 'b', { holdThread: false });
    b.reader.close();
    expect(writeBatch(a.writer, [{ id: 1 }])).toBe(false);
  });
});
