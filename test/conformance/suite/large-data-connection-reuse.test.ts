/**
 * Port of TestLargeData and TestConnectionReuse
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550).
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { Output } from '../../../src/index.js';
import { overTransports } from '../harness.js';

overTransports('TestLargeData', (get) => {
  it('test_large_string', async () => {
    const { svc } = await get();
    const big = 'x'.repeat(10_000);
    expect(await svc.echo_string({ value: big })).toBe(big);
  });

  it('test_large_bytes', async () => {
    const { svc } = await get();
    const big = new Uint8Array(randomBytes(100_000));
    expect(await svc.echo_bytes({ data: big })).toEqual(big);
  });

  it('test_large_list', async () => {
    const { svc } = await get();
    const big = Array.from({ length: 10_000 }, (_, i) => String(i));
    expect(await svc.echo_list({ values: big })).toEqual(big);
  });

  it('test_large_dict', async () => {
    const { svc } = await get();
    const big = new Map(Array.from({ length: 1_000 }, (_, i) => [`key_${i}`, BigInt(i)] as const));
    const result = await svc.echo_dict({ mapping: big });
    expect(result).toEqual(big);
    expect([...result.keys()]).toEqual([...big.keys()]);
  });

  it('test_large_batch_producer', async () => {
    const { svc } = await get();
    const rows: number[] = [];
    for await (const b of await svc.produce_large_batches({ rows_per_batch: 10_000n, batch_count: 5n })) rows.push(b.numRows);
    expect(rows).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('test_large_exchange', async () => {
    const { svc } = await get();
    const session = await svc.exchange_scale({ factor: 2.0 });
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
