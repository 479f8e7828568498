/**
 * Port of TestLargeData and TestConnectionReuse
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { Output, RpcConnection } from '../../../src/index.js';
import { type ConformanceConn, type ConformanceTransport, overTransports } from '../harness.js';

/**
 * On the `shm-segment` lane, the batches of `run` must really travel
 * through the segment: count the pointer batches the client wrote
 * (`requests`) and resolved (`responses`), and check every region was freed.
 */
const throughSegment = async (conn: ConformanceConn, transport: ConformanceTransport, expected: { requests: number; responses: number }, run: () => Promise<void>): Promise<void> => {
  const segment = conn.conn instanceof RpcConnection ? conn.conn.segment : undefined;
  if (transport.name !== 'shm-segment') return run();
  if (segment === undefined) throw new Error('the shm-segment lane connected without a segment');
  const before = { ...segment.channel.counts };
  await run();
  expect({ requests: segment.channel.counts.written - before.written, responses: segment.channel.counts.resolved - before.resolved }).toEqual(expected);
  expect(segment.channel.allocator.allocations()).toEqual([]);
};

overTransports('TestLargeData', (get, transport) => {
  it('test_large_string', async () => {
    const c = await get();
    const big = 'x'.repeat(10_000);
    await throughSegment(c, transport, { requests: 1, responses: 1 }, async () => {
      expect(await c.svc.echo_string({ value: big })).toBe(big);
    });
  });

  it('test_large_bytes', async () => {
    const c = await get();
    const big = new Uint8Array(randomBytes(100_000));
    await throughSegment(c, transport, { requests: 1, responses: 1 }, async () => {
      expect(await c.svc.echo_bytes({ data: big })).toEqual(big);
    });
  });

  it('test_large_list', async () => {
    const c = await get();
    const big = Array.from({ length: 10_000 }, (_, i) => String(i));
    await throughSegment(c, transport, { requests: 1, responses: 1 }, async () => {
      expect(await c.svc.echo_list({ values: big })).toEqual(big);
    });
  });

  it('test_large_dict', async () => {
    const c = await get();
    const big = new Map(Array.from({ length: 1_000 }, (_, i) => [`key_${i}`, BigInt(i)] as const));
    await throughSegment(c, transport, { requests: 1, responses: 1 }, async () => {
      const result = await c.svc.echo_dict({ mapping: big });
      expect(result).toEqual(big);
      expect([...result.keys()]).toEqual([...big.keys()]);
    });
  });

  it('test_large_batch_producer', async () => {
    const c = await get();
    const rows: number[] = [];
    // The request (two int64 parameters) and all five batches.
    await throughSegment(c, transport, { requests: 1, responses: 5 }, async () => {
      for await (const b of await c.svc.produce_large_batches({ rows_per_batch: 10_000n, batch_count: 5n })) rows.push(b.numRows);
    });
    expect(rows).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('test_large_exchange', async () => {
    const c = await get();
    // The request, then ten inputs out and ten outputs back.
    await throughSegment(c, transport, { requests: 11, responses: 10 }, async () => {
      const session = await c.svc.exchange_scale({ factor: 2.0 });
      try {
        for (let i = 0; i < 10; i++) {
          const values = Array.from({ length: 5_000 }, (_, v) => v);
          const out = await session.exchange(Output.columns({ value: values }));
          expect(out.numRows).toBe(5_000);
        }
      } finally {
        await session.close();
      }
    });
  });

  it('test_many_small_batches', async () => {
    const { svc } = await get();
    let batches = 0;
    for await (const _ of await svc.produce_n({ count: 100n })) batches++;
    expect(batches).toBe(100);
  });
});

overTransports('TestConnectionReuse', (get) => {
  it('test_many_sequential_unary_calls', async () => {
    const { svc } = await get();
    for (let i = 0; i < 25; i++) {
      expect(await svc.echo_string({ value: `call-${i}` })).toBe(`call-${i}`);
      expect(await svc.echo_int({ value: BigInt(i) })).toBe(BigInt(i));
      expect(await svc.add_floats({ a: i, b: 0.5 })).toBeCloseTo(i + 0.5, 12);
      expect(await svc.echo_point({ point: { x: i, y: -i } })).toEqual({ x: i, y: -i });
    }
  });

  it('test_optional_absence_round_trips_repeatedly', async () => {
    const { svc } = await get();
    for (let i = 0; i < 15; i++) {
      expect(await svc.echo_optional_string({ value: null })).toBeNull();
      expect(await svc.echo_optional_string({ value: `v${i}` })).toBe(`v${i}`);
      expect(await svc.echo_optional_int({ value: null })).toBeNull();
      expect(await svc.echo_optional_int({ value: BigInt(i) })).toBe(BigInt(i));
    }
    // A trailing plain unary call must still work after the run.
    expect(await svc.echo_string({ value: 'done' })).toBe('done');
  });
});
