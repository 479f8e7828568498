/**
 * Port of the reference suite's producer groups
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550):
 * TestProducerStream (8), TestProducerStreamWithHeader (2).
 */
import { expect, it } from 'vitest';
import type { ReceivedLog } from '../../../src/index.js';
import { overTransports } from '../harness.js';
import { expectMatch, rpcError, settle } from './stream-support.js';

/** `ANNOTATED_EMIT_LABEL` of the reference's `_types.py`: deliberately non-ASCII. */
const ANNOTATED_EMIT_LABEL = '\u00fcn\u00efcode-\u03bb';

overTransports('TestProducerStream', (get, transport) => {
  it('test_produce_n', async () => {
    const { svc } = await get();
    const session = await svc.produce_n({ count: 5n });
    const batches = [];
    try {
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(5);
    batches.forEach((ab, i) => {
      expect(ab.values('index')[0]).toBe(BigInt(i));
      expect(ab.values('value')[0]).toBe(BigInt(i * 10));
    });
  });

  it('test_per_batch_metadata_travels_inline', async () => {
    const { svc } = await get();
    const session = await svc.produce_annotated_batches({ count: 3n, rows_per_batch: 8n });
    const batches = [];
    try {
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(3);
    batches.forEach((annotated, index) => {
      const what = `produce_annotated_batches batch ${index}`;
      expect(annotated.numRows, `${what}: wrong row count`).toBe(8);
      expect(annotated.values('value')[0]).toBe(BigInt(index) * 1_000_000n);
      const metadata = annotated.metadata;
      expect(metadata.size, `${what}: batch carried no custom metadata`).toBeGreaterThan(0);
      expect(metadata.get('conformance.batch_index'), `${what}: per-emit metadata is missing or is another batch's`).toBe(String(index));
      expect(metadata.get('conformance.batch_total')).toBe('3');
      expect(metadata.get('conformance.emit_label')).toBe(ANNOTATED_EMIT_LABEL);
    });
  });

  it('test_tick_metadata', async () => {
    const { svc } = await get();
    if (transport.kind === 'http') {
      // The reference's HTTP branch: /init runs the first produce() with no tick metadata, so
      // count=2, the first batch is read plainly and the metadata rides on the continuation.
      const session = await svc.produce_tick_metadata({ count: 2n });
      try {
        const first = await session.tick();
        expect(first).not.toBeNull();
        const observed = await session.tick({ 'vgi.conformance.tick': 'updated' });
        expect(observed).not.toBeNull();
        expect(observed!.values('seen')).toEqual(['updated']);
        await session.close();
      } finally {
        await settle(session);
      }
      return;
    }
    const session = await svc.produce_tick_metadata({ count: 1n });
    try {
      const observed = await session.tick({ 'vgi.conformance.tick': 'updated' });
      expect(observed).not.toBeNull();
      expect(observed!.values('seen')).toEqual(['updated']);
      await session.close();
    } finally {
      await settle(session);
    }
  });

  it('test_produce_empty', async () => {
    const { svc } = await get();
    const session = await svc.produce_empty();
    const batches = [];
    try {
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(0);
  });

  it('test_produce_single', async () => {
    const { svc } = await get();
    const session = await svc.produce_single();
    const batches = [];
    try {
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(1);
    expect(batches[0]!.values('index')[0]).toBe(0n);
  });

  it('test_produce_with_logs', async () => {
    const { svc } = await get();
    const logs: ReceivedLog[] = [];
    const session = await svc.produce_with_logs({ count: 3n }, { onLog: (l) => logs.push(l) });
    const batches = [];
    try {
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(3);
    expect(logs).toHaveLength(3);
    logs.forEach((log, i) => {
      expect(log.level).toBe('INFO');
      expect(log.message).toContain(String(i));
    });
  });

  it('test_produce_error_mid_stream', async () => {
    const { svc } = await get();
    let count = 0;
    const session = await svc.produce_error_mid_stream({ emit_before_error: 3n });
    try {
      const e = await rpcError(async () => {
        for await (const _ab of session) count += 1;
      });
      expectMatch(e, /intentional error/);
      // The reference's implementation raises RuntimeError(f"intentional error after {N} batches").
      expect(e.errorType).toBe('RuntimeError');
      expect(e.message).toBe('intentional error after 3 batches');
    } finally {
      await settle(session);
    }
    // Pipe and subprocess deliver batches incrementally;
    // HTTP may deliver the error before any batches depending on transport.
    expect(count).toBeLessThanOrEqual(3);
  });

  it('test_produce_error_on_init', async () => {
    const { svc } = await get();
    const e = await rpcError(async () => {
      const session = await svc.produce_error_on_init();
      try {
        for await (const _ab of session) {
          // list(...)
        }
      } finally {
        await settle(session);
      }
    });
    expectMatch(e, /intentional init error/);
    expect(e.errorType).toBe('RuntimeError');
    expect(await svc.echo_int({ value: 42n })).toBe(42n);
  });
});

overTransports('TestProducerStreamWithHeader', (get) => {
  it('test_header_values', async () => {
    const { svc } = await get();
    const session = await svc.produce_with_header({ count: 3n });
    const batches = [];
    try {
      const header = session.header;
      expect(header).toBeDefined();
      expect(Object.keys(header!).sort()).toEqual(['description', 'total_expected']);
      expect(header!.total_expected).toBe(3n);
      expect(header!.description).toContain('3');
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(3);
  });

  it('test_header_with_logs', async () => {
    const { svc } = await get();
    const logs: ReceivedLog[] = [];
    const session = await svc.produce_with_header_and_logs({ count: 2n }, { onLog: (l) => logs.push(l) });
    const batches = [];
    try {
      const header = session.header;
      expect(header).toBeDefined();
      expect(Object.keys(header!).sort()).toEqual(['description', 'total_expected']);
      for await (const b of session) batches.push(b);
    } finally {
      await settle(session);
    }
    expect(batches).toHaveLength(2);
    expect(logs.some((log) => log.message === 'stream init log')).toBe(true);
  });
});
