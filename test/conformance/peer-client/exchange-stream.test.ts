/**
 * Peer-client cross-check of TestExchangeStream (11)
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550, ported for our client in
 * test/conformance/suite/exchange-stream.test.ts), driven by the npm peer's
 * client against our conformance worker (`--generation 89`),
 * over pipes and over HTTP (`peerGroups` in peer-support.ts).
 *
 * Inputs are rows of plain numbers (the peer infers a nullable float64
 * `value` column, which is the declared input schema) or, where a case needs
 * input metadata, a zero-row input, or the output batch itself (its schema,
 * its row count), the peer's raw surface: `exchangeRaw({batch, metadata})`
 * with a batch built in `@query-farm/apache-arrow`.
 *
 * Not run with the peer client: none of this group's cases.
 * (TestExchangeCastCompatible and TestExchangeStreamWithHeader are outside
 * this cross-check's brief.)
 */
import { describe, expect, it } from 'vitest';
import { approx, approxList, emptyBatch, expectMatch, openStream, peerFailure, result, using, valueBatch, peerGroups } from './peer-support.js';

/** `INPUT_METADATA_KEY` of the reference's `_types.py`. */
const INPUT_METADATA_KEY = 'vgi.conformance.input';
/** The transport bookkeeping keys (`vgi_rpc.stream_state`, `vgi_rpc.call_state`, `vgi_rpc.cancel`). */
const TRANSPORT_KEYS = ['vgi_rpc.stream_state#b64', 'vgi_rpc.call_state#b64', 'vgi_rpc.cancel'];

peerGroups((worker, transport) => {
  const client = () => worker().client;
  const values = (rows: readonly Record<string, unknown>[], name = 'value'): unknown[] => rows.map((r) => r[name]);

  describe('TestExchangeStream [peer client]', () => {
    it('test_scale_exchange', async () => {
      await using(openStream(client(), 'exchange_scale', { factor: 3.0 }), async (session) => {
        const out = await session.exchange([{ value: 1.0 }, { value: 2.0 }, { value: 3.0 }]);
        approxList(values(out), [3.0, 6.0, 9.0]);
      });
    });

    it('test_echo_via_scale', async () => {
      await using(openStream(client(), 'exchange_scale', { factor: 1.0 }), async (session) => {
        const out = await session.exchange([{ value: 5.0 }, { value: 10.0 }]);
        approxList(values(out), [5.0, 10.0]);
      });
    });

    it('test_accumulate', async () => {
      await using(openStream(client(), 'exchange_accumulate'), async (session) => {
        const out1 = await session.exchange([{ value: 1.0 }, { value: 2.0 }]);
        approx(out1[0]!.running_sum, 3.0);
        expect(out1[0]!.exchange_count).toBe(1);

        const out2 = await session.exchange([{ value: 10.0 }]);
        approx(out2[0]!.running_sum, 13.0);
        expect(out2[0]!.exchange_count).toBe(2);
      });
    });

    it('test_input_metadata', async () => {
      const extraKey = 'vgi.conformance.extra';
      const turns: Map<string, string>[] = [
        new Map([[INPUT_METADATA_KEY, 'first']]),
        new Map([[INPUT_METADATA_KEY, 'second'], [extraKey, '1']]),
        new Map(),
      ];
      const observed: [string, string[]][] = [];
      await using(openStream(client(), 'exchange_input_metadata'), async (session) => {
        for (const [index, metadata] of turns.entries()) {
          const out = await session.exchangeRaw({ batch: valueBatch([index]), metadata });
          expect(out, `turn ${index + 1}: the stream ended instead of answering`).not.toBeNull();
          expect(out!.batch.numRows, `turn ${index + 1}: expected one row per input`).toBe(1);
          const keys = out!.batch.getChild('keys')!.get(0) as string | null;
          observed.push([out!.batch.getChild('seen')!.get(0) as string, keys ? keys.split(',') : []]);
        }
      });

      expect(
        observed.map(([seen]) => seen),
        `each exchange input's custom metadata must reach exchange() with that input; got ${JSON.stringify(observed)}`,
      ).toEqual(['first', 'second', '']);
      expect(observed[1]![1], 'every application key passes, not one').toContain(extraKey);
      expect(observed[2]![1], 'metadata must not carry over into a later turn').not.toContain(extraKey);
      observed.forEach(([, keys], index) => {
        for (const transportKey of TRANSPORT_KEYS) {
          expect(keys, `turn ${index + 1}: ${transportKey} is transport bookkeeping and must not reach application code`).not.toContain(transportKey);
        }
      });
    });

    it('test_exchange_with_logs', async () => {
      const w = worker();
      w.logs.length = 0;
      await using(openStream(w.client, 'exchange_with_logs'), async (session) => {
        const out = await session.exchange([{ value: 1.0 }]);
        approxList(values(out), [1.0]);
        expect(w.logs).toHaveLength(2); // INFO + DEBUG
        expect(w.logs[0]!.level).toBe('INFO');
        expect(w.logs[1]!.level).toBe('DEBUG');
      });
    });

    it('test_error_first_exchange', async () => {
      await using(openStream(client(), 'exchange_error_on_nth', { fail_on: 1n }), async (session) => {
        const e = await peerFailure(session.exchange([{ value: 1.0 }]));
        expectMatch(e, /intentional error/);
        expect(e.errorType).toBe('RuntimeError');
        expect(e.errorMessage).toBe('intentional error on exchange 1');
      });
    });

    it('test_error_nth_exchange', async () => {
      await using(openStream(client(), 'exchange_error_on_nth', { fail_on: 3n }), async (session) => {
        await session.exchange([{ value: 1.0 }]);
        await session.exchange([{ value: 2.0 }]);
        const e = await peerFailure(session.exchange([{ value: 3.0 }]));
        expectMatch(e, /intentional error/);
        expect(e.errorType).toBe('RuntimeError');
        expect(e.errorMessage).toBe('intentional error on exchange 3');
      });
    });

    it('test_error_on_init', async () => {
      const e = await peerFailure(async () => {
        // The error may be reported when the stream opens or, for a lock-step
        // client (the peer is one), only after the first exchange input is sent.
        await using(openStream(client(), 'exchange_error_on_init'), (session) => session.exchange([{ value: 1.0 }]));
      });
      expectMatch(e, /intentional exchange init error/);
      expect(e.errorType).toBe('RuntimeError');
      expect(await result(client(), 'echo_int', { value: 42n })).toBe(42);
    });

    it('test_empty_exchange_session', async () => {
      await using(openStream(client(), 'exchange_scale', { factor: 1.0 }), async () => {
        // just open and close
      });
      // Verify transport is still usable
      expect(await result(client(), 'echo_int', { value: 42n })).toBe(42);
    });

    it('test_zero_column_exchange', async () => {
      await using(openStream(client(), 'exchange_zero_columns'), async (session) => {
        for (let i = 0; i < 100; i++) {
          const output = await session.exchangeRaw({ batch: emptyBatch(), metadata: new Map() });
          expect(output, `turn ${i + 1}: the stream ended instead of answering`).not.toBeNull();
          expect(output!.batch.schema.fields).toEqual([]);
          expect(output!.batch.numRows).toBe(0);
          expect(output!.batch.numCols).toBe(0);
        }
      });
    });

    it('test_zero_row_input', async () => {
      await using(openStream(client(), 'exchange_scale', { factor: 2.0 }), async (session) => {
        const out = await session.exchangeRaw({ batch: valueBatch([]), metadata: new Map() });
        expect(out, 'the stream ended instead of answering').not.toBeNull();
        expect(out!.batch.numRows).toBe(0);
      });
    });
  });
});
