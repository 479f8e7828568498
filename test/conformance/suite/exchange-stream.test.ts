/**
 * Port of the reference suite's exchange groups
 * (vgi_rpc/conformance/_pytest_suite.py @ 749b550):
 * TestExchangeStream (11), TestExchangeCastCompatible (5),
 * TestExchangeStreamWithHeader (1).
 *
 * TestExchangeCastCompatible sends input batches whose schema differs from
 * the method's (int32, int64, float32, a wrong column name). Our typed
 * client always frames input with the declared schema, so those turns are
 * sent as hand-built frames (RawExchange) on the same connection.
 */
import { expect, it } from 'vitest';
import * as A from 'apache-arrow';
import { Keys, Output, T, type ReceivedLog } from '../../../src/index.js';
import { CONFORMANCE_PROTOCOL, ConformanceService } from '../../../examples/conformance/service.js';
import { type ConformanceTransport, overTransports } from '../harness.js';
import { concatBytes } from '../../../src/wire/batch-encoder.js';
import { errorOf, requestBytes } from '../../support/raw-exchange.js';
import { allBatches, postArrow, readStreams, tokenSentinel, unaryRequestBody } from '../http/http-support.js';
import { RawExchange, type RawTurn, approx, approxList, expectMatch, rpcError, schemaShape, settle, using } from './stream-support.js';

/** `INPUT_METADATA_KEY` of the reference's `_types.py`. */
const INPUT_METADATA_KEY = 'vgi.conformance.input';

overTransports('TestExchangeStream', (get) => {
  it('test_scale_exchange', async () => {
    const { svc } = await get();
    await using(svc.exchange_scale({ factor: 3.0 }), async (session) => {
      const out = await session.exchange(Output.columns({ value: [1.0, 2.0, 3.0] }));
      approxList(out.values('value'), [3.0, 6.0, 9.0]);
    });
  });

  it('test_echo_via_scale', async () => {
    const { svc } = await get();
    await using(svc.exchange_scale({ factor: 1.0 }), async (session) => {
      const out = await session.exchange(Output.columns({ value: [5.0, 10.0] }));
      approxList(out.values('value'), [5.0, 10.0]);
    });
  });

  it('test_accumulate', async () => {
    const { svc } = await get();
    await using(svc.exchange_accumulate(), async (session) => {
      const out1 = await session.exchange(Output.columns({ value: [1.0, 2.0] }));
      approx(out1.values('running_sum')[0], 3.0);
      expect(out1.values('exchange_count')[0]).toBe(1n);

      const out2 = await session.exchange(Output.columns({ value: [10.0] }));
      approx(out2.values('running_sum')[0], 13.0);
      expect(out2.values('exchange_count')[0]).toBe(2n);
    });
  });

  it('test_input_metadata', async () => {
    const extraKey = 'vgi.conformance.extra';
    const turns: (Record<string, string> | undefined)[] = [
      { [INPUT_METADATA_KEY]: 'first' },
      { [INPUT_METADATA_KEY]: 'second', [extraKey]: '1' },
      undefined,
    ];
    const observed: [string, string[]][] = [];
    const { svc } = await get();
    await using(svc.exchange_input_metadata(), async (session) => {
      for (const [index, metadata] of turns.entries()) {
        const out = await session.exchange(Output.columns({ value: [index] }, metadata));
        expect(out.numRows, `turn ${index + 1}: expected one row per input`).toBe(1);
        const keys = out.values('keys')[0];
        observed.push([out.values('seen')[0]!, keys ? keys.split(',') : []]);
      }
    });

    expect(
      observed.map(([seen]) => seen),
      `each exchange input's custom metadata must reach exchange() with that input; got ${JSON.stringify(observed)}`,
    ).toEqual(['first', 'second', '']);
    expect(observed[1]![1], 'every application key passes, not one').toContain(extraKey);
    expect(observed[2]![1], 'metadata must not carry over into a later turn').not.toContain(extraKey);
    observed.forEach(([, keys], index) => {
      for (const transportKey of [Keys.streamState, Keys.callState, Keys.cancel]) {
        expect(keys, `turn ${index + 1}: ${transportKey} is transport bookkeeping and must not reach application code`).not.toContain(transportKey);
      }
    });
  });

  it('test_exchange_with_logs', async () => {
    const logs: ReceivedLog[] = [];
    const { svc } = await get();
    await using(svc.exchange_with_logs({}, { onLog: (l) => logs.push(l) }), async (session) => {
      await session.exchange(Output.columns({ value: [1.0] }));
      expect(logs).toHaveLength(2); // INFO + DEBUG
      expect(logs[0]!.level).toBe('INFO');
      expect(logs[1]!.level).toBe('DEBUG');
    });
  });

  it('test_error_first_exchange', async () => {
    const { svc } = await get();
    await using(svc.exchange_error_on_nth({ fail_on: 1n }), async (session) => {
      const e = await rpcError(session.exchange(Output.columns({ value: [1.0] })));
      expectMatch(e, /intentional error/);
      expect(e.errorType).toBe('RuntimeError');
      expect(e.message).toBe('intentional error on exchange 1');
    });
  });

  it('test_error_nth_exchange', async () => {
    const { svc } = await get();
    await using(svc.exchange_error_on_nth({ fail_on: 3n }), async (session) => {
      await session.exchange(Output.columns({ value: [1.0] }));
      await session.exchange(Output.columns({ value: [2.0] }));
      const e = await rpcError(session.exchange(Output.columns({ value: [3.0] })));
      expectMatch(e, /intentional error/);
      expect(e.errorType).toBe('RuntimeError');
      expect(e.message).toBe('intentional error on exchange 3');
    });
  });

  it('test_error_on_init', async () => {
    const { svc } = await get();
    const e = await rpcError(async () => {
      // The error may be reported when the stream opens or, for a lock-step
      // client, only after the first exchange input is sent.
      await using(svc.exchange_error_on_init(), (session) => session.exchange(Output.columns({ value: [1.0] })));
    });
    expectMatch(e, /intentional exchange init error/);
    expect(e.errorType).toBe('RuntimeError');
    expect(await svc.echo_int({ value: 42n })).toBe(42n);
  });

  it('test_empty_exchange_session', async () => {
    const { svc } = await get();
    await using(svc.exchange_scale({ factor: 1.0 }), async () => {
      // just open and close
    });
    // Verify transport is still usable
    expect(await svc.echo_int({ value: 42n })).toBe(42n);
  });

  it('test_zero_column_exchange', async () => {
    const { svc } = await get();
    await using(svc.exchange_zero_columns(), async (session) => {
      for (let i = 0; i < 100; i++) {
        const output = await session.exchange(Output.rows([]));
        const batch = output.toRecordBatch();
        expect(schemaShape(batch.schema)).toEqual([]);
        expect(output.numRows).toBe(0);
        expect(batch.numCols).toBe(0);
      }
    });
  });

  it('test_zero_row_input', async () => {
    const { svc } = await get();
    await using(svc.exchange_scale({ factor: 2.0 }), async (session) => {
      const out = await session.exchange(Output.columns({ value: new Float64Array(0) }));
      expect(out.numRows).toBe(0);
    });
  });
});

const castMethod = ConformanceService.methods.exchange_cast_compatible;
const valueSchema = (type: A.DataType) => new A.Schema([new A.Field('value', type, true)]);

/**
 * The same turn over HTTP: `/init`, then one `/exchange` whose input batch
 * declares `schema`, carrying both tokens (as the reference's HTTP client
 * sends whatever schema its input batch has).
 */
const castTurnHttp = async (baseUrl: string, schema: A.Schema, rows: number, column: A.Data): Promise<RawTurn> => {
  const path = `${baseUrl}/${CONFORMANCE_PROTOCOL}/exchange_cast_compatible`;
  const init = await postArrow(`${path}/init`, unaryRequestBody('exchange_cast_compatible'), { 'Accept-Encoding': 'identity' });
  const tokens = tokenSentinel(allBatches(init.body));
  if (tokens === undefined) throw new Error(`the /init response carried no tokens (HTTP ${init.status})`);
  const md = { [Keys.streamState]: tokens.meta(Keys.streamState)!, [Keys.callState]: tokens.meta(Keys.callState)! };
  const res = await postArrow(`${path}/exchange`, concatBytes(requestBytes(schema, [column], rows, md)), { 'Accept-Encoding': 'identity' });
  const [stream] = readStreams(res.body);
  if (stream === undefined) throw new Error(`the /exchange response carried no stream (HTTP ${res.status})`);
  const err = errorOf({ schema: stream.schema, batches: stream.batches });
  if (err !== undefined) return { kind: 'error', errorType: err.type, message: err.message, errorKind: err.kind };
  const data = stream.batches.find((b) => b.numRows > 0 || b.meta(Keys.streamState) !== undefined);
  if (data === undefined) throw new Error('the /exchange response carried no output batch');
  return { kind: 'data', schema: stream.schema, batch: data };
};

/** One turn of `exchange_cast_compatible` with an input of the given schema; the exchange is closed afterwards. */
const castTurn = async (transport: ConformanceTransport, t: Parameters<typeof RawExchange.open>[0], schema: A.Schema, rows: number, column: A.Data): Promise<RawTurn> => {
  if (transport.httpUrls !== undefined) return castTurnHttp((await transport.httpUrls()).baseUrl, schema, rows, column);
  const session = await RawExchange.open(t, 'exchange_cast_compatible', castMethod);
  try {
    return await session.exchange(schema, rows, [column]);
  } finally {
    await session.close();
  }
};

/** The output of a successful turn as `[schema field type, values]`. */
const castOutput = (turn: RawTurn): { type: string; values: number[] } => {
  if (turn.kind !== 'data') throw new Error(`expected data, got ${turn.errorType}: ${turn.message}`);
  const field = turn.schema.fields.find((f) => f.name === 'value');
  expect(field, 'output has no value column').toBeDefined();
  const col = turn.batch.columns[turn.schema.fields.indexOf(field!)]!;
  return { type: String(field!.type), values: Array.from({ length: turn.batch.numRows }, (_, i) => T.float64.decode(col, i)) };
};

overTransports('TestExchangeCastCompatible', (get, transport) => {
  it('test_cast_int32_to_float64', async () => {
    const { transport: t } = await get();
    const out = castOutput(await castTurn(transport, t, valueSchema(new A.Int32()), 3, T.int32.encode([1, 2, 3])));
    expect(out.type).toBe(String(new A.Float64()));
    approxList(out.values, [1.0, 2.0, 3.0]);
  });

  it('test_cast_int64_to_float64', async () => {
    const { transport: t } = await get();
    const out = castOutput(await castTurn(transport, t, valueSchema(new A.Int64()), 3, T.int64.encode([10n, 20n, 30n])));
    expect(out.type).toBe(String(new A.Float64()));
    approxList(out.values, [10.0, 20.0, 30.0]);
  });

  it('test_cast_float32_to_float64', async () => {
    const { transport: t } = await get();
    const out = castOutput(await castTurn(transport, t, valueSchema(new A.Float32()), 3, T.float32.encode([1.5, 2.5, 3.5])));
    expect(out.type).toBe(String(new A.Float64()));
    approxList(out.values, [1.5, 2.5, 3.5]);
  });

  it('test_cast_exact_schema', async () => {
    // Matching float64 input needs no raw framing: the typed client sends exactly this.
    const { svc } = await get();
    await using(svc.exchange_cast_compatible(), async (session) => {
      const out = await session.exchange(Output.columns({ value: [5.0, 10.0] }));
      approxList(out.values('value'), [5.0, 10.0]);
    });
  });

  it('test_cast_incompatible_column_name', async () => {
    const { svc, transport: t } = await get();
    const schema = new A.Schema([new A.Field('wrong', new A.Float64(), true)]);
    const turn = await castTurn(transport, t, schema, 1, T.float64.encode([1.0]));
    expect(turn.kind, 'a wrongly named input column must be refused with an RpcError').toBe('error');
    if (turn.kind === 'error') {
      // The reference's server raises TypeError("Input schema mismatch: ...") (rpc/_wire.py).
      expect(turn.errorType).toBe('TypeError');
      expect(turn.message).toContain('Input schema mismatch');
    }
    // The raw frames left the shared connection clean.
    expect(await svc.echo_int({ value: 7n })).toBe(7n);
  });
});

overTransports('TestExchangeStreamWithHeader', (get) => {
  it('test_exchange_header_then_data', async () => {
    const { svc } = await get();
    const session = await svc.exchange_with_header({ factor: 2.0 });
    try {
      const header = session.header;
      expect(header).toBeDefined();
      expect(Object.keys(header!).sort()).toEqual(['description', 'total_expected']);
      expect(header!.description).toContain('2.0');
      const out = await session.exchange(Output.columns({ value: [5.0] }));
      approx(out.values('value')[0], 10.0);
    } finally {
      await settle(session);
    }
  });
});
