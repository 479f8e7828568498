/**
 * Port of the reference suite's rich-header groups
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550):
 * TestDynamicRichHeader (3), TestDynamicSchemaProducer (4),
 * TestRichHeaderExchange (2).
 *
 * produce_dynamic_schema chooses its output columns per call, so each test
 * checks the exact per-call field list, as the reference does.
 */
import { expect, it } from 'vitest';
import { Output } from '../../../src/index.js';
import { buildDynamicSchema } from '../../../examples/conformance/types.js';
import { overTransports } from '../harness.js';
import { approx, assertRichHeader, schemaShape, settle } from './stream-support.js';

/** Field names of a received batch (from the schema the server wrote). */
const names = (ab: { toRecordBatch(): { schema: { fields: { name: string }[] } } }): string[] => ab.toRecordBatch().schema.fields.map((f) => f.name);

overTransports('TestDynamicRichHeader', (get) => {
  it('test_seed_42', async () => {
    const { svc } = await get();
    const session = await svc.produce_with_rich_header({ seed: 42n, count: 3n });
    const batches = [];
    try {
      assertRichHeader(session.header, 42n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(3);
    batches.forEach((ab, i) => {
      expect(ab.values('index')[0]).toBe(BigInt(i));
      expect(ab.values('value')[0]).toBe(BigInt(i * 10));
    });
  });

  it('test_seed_7', async () => {
    const { svc } = await get();
    const session = await svc.produce_with_rich_header({ seed: 7n, count: 2n });
    const batches = [];
    try {
      assertRichHeader(session.header, 7n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(2);
  });

  it('test_seed_0', async () => {
    const { svc } = await get();
    const session = await svc.produce_with_rich_header({ seed: 0n, count: 1n });
    const batches = [];
    try {
      assertRichHeader(session.header, 0n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(1);
  });
});

overTransports('TestDynamicSchemaProducer', (get) => {
  it('test_all_columns', async () => {
    const { svc } = await get();
    const session = await svc.produce_dynamic_schema({ seed: 42n, count: 3n, include_strings: true, include_floats: true });
    const batches = [];
    try {
      assertRichHeader(session.header, 42n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(3);
    const expectedSchema = schemaShape(buildDynamicSchema(true, true));
    batches.forEach((ab, i) => {
      expect(schemaShape(ab.toRecordBatch().schema)).toEqual(expectedSchema);
      expect(ab.values('index')[0]).toBe(BigInt(i));
      expect(ab.values('label')[0]).toBe(`row-${i}`);
      approx(ab.values('score')[0], i * 1.5);
    });
  });

  it('test_strings_only', async () => {
    const { svc } = await get();
    const session = await svc.produce_dynamic_schema({ seed: 7n, count: 2n, include_strings: true, include_floats: false });
    const batches = [];
    try {
      assertRichHeader(session.header, 7n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(2);
    batches.forEach((ab, i) => {
      expect(names(ab)).toEqual(['index', 'label']);
      expect(ab.values('label')[0]).toBe(`row-${i}`);
    });
  });

  it('test_floats_only', async () => {
    const { svc } = await get();
    const session = await svc.produce_dynamic_schema({ seed: 5n, count: 2n, include_strings: false, include_floats: true });
    const batches = [];
    try {
      assertRichHeader(session.header, 5n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(2);
    batches.forEach((ab, i) => {
      expect(names(ab)).toEqual(['index', 'score']);
      approx(ab.values('score')[0], i * 1.5);
    });
  });

  it('test_minimal', async () => {
    const { svc } = await get();
    const session = await svc.produce_dynamic_schema({ seed: 0n, count: 1n, include_strings: false, include_floats: false });
    const batches = [];
    try {
      assertRichHeader(session.header, 0n);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(1);
    expect(names(batches[0]!)).toEqual(['index']);
    expect(batches[0]!.values('index')[0]).toBe(0n);
  });
});

overTransports('TestRichHeaderExchange', (get) => {
  it('test_header_then_exchange', async () => {
    const { svc } = await get();
    const session = await svc.exchange_with_rich_header({ seed: 5n, factor: 2.5 });
    try {
      assertRichHeader(session.header, 5n);
      const out = await session.exchange(Output.columns({ value: [4.0] }));
      approx(out.values('value')[0], 10.0);
    } finally {
      await settle(session);
    }
  });

  it('test_different_seed', async () => {
    const { svc } = await get();
    const session = await svc.exchange_with_rich_header({ seed: 12n, factor: 1.0 });
    try {
      assertRichHeader(session.header, 12n);
      const out = await session.exchange(Output.columns({ value: [7.0] }));
      approx(out.values('value')[0], 7.0);
    } finally {
      await settle(session);
    }
  });
});
