/**
 * Peer-client cross-check of TestProducerStream (8) and
 * TestProducerStreamWithHeader (2)
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/producer-stream.test.ts), driven by the npm peer's
 * client against our conformance worker (`--generation 89`),
 * over pipes and over HTTP (`peerGroups` in peer-support.ts).
 *
 * `for await (const rows of session)` is the reference's `for batch in
 * session` (one array of row objects per batch); per-batch custom metadata
 * is read with the peer's `tickRaw()`, and tick metadata is sent with
 * `tick(metadata)`.
 *
 * Over HTTP, test_tick_metadata takes the reference's HTTP branch: /init
 * runs the first producer turn, so the stream has count=2 and its first
 * batch is consumed with `nextWithToken()` before the tick that carries the
 * metadata (the peer refuses tick metadata while an init batch is buffered,
 * and a producer tick can only carry metadata on a continuation request).
 *
 * Not run with the peer client: none of these groups' cases.
 */
import { describe, expect, it } from 'vitest';
import type { HttpStreamSession } from '@query-farm/vgi-rpc';
import { type Row, drain, expectMatch, openStream, peerFailure, result, peerGroups } from './peer-support.js';

/** `ANNOTATED_EMIT_LABEL` of the reference's `_types.py`: deliberately non-ASCII. */
const ANNOTATED_EMIT_LABEL = '\u00fcn\u00efcode-\u03bb';

peerGroups((worker, transport) => {
  const client = () => worker().client;

  describe('TestProducerStream [peer client]', () => {
    it('test_produce_n', async () => {
      const batches = await drain(await openStream(client(), 'produce_n', { count: 5n }));
      expect(batches).toHaveLength(5);
      batches.forEach((rows, i) => {
        expect(rows[0]!.index).toBe(i);
        expect(rows[0]!.value).toBe(i * 10);
      });
    });

    it('test_per_batch_metadata_travels_inline', async () => {
      const session = await openStream(client(), 'produce_annotated_batches', { count: 3n, rows_per_batch: 8n });
      const batches = [];
      try {
        for (;;) {
          const raw = await session.tickRaw();
          if (raw === null) break;
          batches.push(raw);
        }
      } finally {
        session.close();
      }
      expect(batches).toHaveLength(3);
      batches.forEach((annotated, index) => {
        const what = `produce_annotated_batches batch ${index}`;
        expect(annotated.batch.numRows, `${what}: wrong row count`).toBe(8);
        expect(annotated.batch.getChild('value')!.get(0)).toBe(BigInt(index) * 1_000_000n);
        const metadata = annotated.metadata;
        expect(metadata.size, `${what}: batch carried no custom metadata`).toBeGreaterThan(0);
        expect(metadata.get('conformance.batch_index'), `${what}: per-emit metadata is missing or is another batch's`).toBe(String(index));
        expect(metadata.get('conformance.batch_total')).toBe('3');
        expect(metadata.get('conformance.emit_label')).toBe(ANNOTATED_EMIT_LABEL);
      });
    });

    it('test_tick_metadata', async () => {
      const http = transport === 'http';
      const session = await openStream(client(), 'produce_tick_metadata', { count: http ? 2n : 1n });
      let observed: Row[];
      try {
        if (http) {
          const first = await (session as HttpStreamSession).nextWithToken();
          expect(first, 'the /init turn produced no batch').not.toBeNull();
          expect(first!.rows).toHaveLength(1);
        }
        observed = await session.tick(new Map([['vgi.conformance.tick', 'updated']]));
      } finally {
        session.close();
      }
      expect(observed).toHaveLength(1);
      expect(observed.map((r) => r.seen)).toEqual(['updated']);
    });

    it('test_produce_empty', async () => {
      expect(await drain(await openStream(client(), 'produce_empty'))).toHaveLength(0);
    });

    it('test_produce_single', async () => {
      const batches = await drain(await openStream(client(), 'produce_single'));
      expect(batches).toHaveLength(1);
      expect(batches[0]![0]!.index).toBe(0);
    });

    it('test_produce_with_logs', async () => {
      const w = worker();
      w.logs.length = 0;
      const batches = await drain(await openStream(w.client, 'produce_with_logs', { count: 3n }));
      const logs = [...w.logs];
      expect(batches).toHaveLength(3);
      expect(logs).toHaveLength(3);
      logs.forEach((log, i) => {
        expect(log.level).toBe('INFO');
        expect(log.message).toContain(String(i));
      });
    });

    it('test_produce_error_mid_stream', async () => {
      let count = 0;
      const session = await openStream(client(), 'produce_error_mid_stream', { emit_before_error: 3n });
      try {
        const e = await peerFailure(async () => {
          for await (const _rows of session) count += 1;
        });
        expectMatch(e, /intentional error/);
        // The reference's implementation raises RuntimeError(f"intentional error after {N} batches").
        expect(e.errorType).toBe('RuntimeError');
        expect(e.errorMessage).toBe('intentional error after 3 batches');
      } finally {
        session.close();
      }
      // Pipe and subprocess deliver batches incrementally;
      // HTTP may deliver the error before any batches depending on transport.
      expect(count).toBeLessThanOrEqual(3);
    });

    it('test_produce_error_on_init', async () => {
      const e = await peerFailure(async () => {
        const session = await openStream(client(), 'produce_error_on_init');
        try {
          await drain(session);
        } finally {
          session.close();
        }
      });
      expectMatch(e, /intentional init error/);
      expect(e.errorType).toBe('RuntimeError');
      expect(await result(client(), 'echo_int', { value: 42n })).toBe(42);
    });
  });

  describe('TestProducerStreamWithHeader [peer client]', () => {
    it('test_header_values', async () => {
      const session = await openStream(client(), 'produce_with_header', { count: 3n });
      const header = session.header;
      const batches = await drain(session);
      expect(header).not.toBeNull();
      expect(Object.keys(header!).sort()).toEqual(['description', 'total_expected']);
      expect(header!.total_expected).toBe(3);
      expect(header!.description).toContain('3');
      expect(batches).toHaveLength(3);
    });

    it('test_header_with_logs', async () => {
      const w = worker();
      w.logs.length = 0;
      const session = await openStream(w.client, 'produce_with_header_and_logs', { count: 2n });
      const header = session.header;
      const batches = await drain(session);
      expect(header).not.toBeNull();
      expect(Object.keys(header!).sort()).toEqual(['description', 'total_expected']);
      expect(batches).toHaveLength(2);
      expect(w.logs.some((log) => log.message === 'stream init log')).toBe(true);
    });
  });
});
