/**
 * Port of the multi-protocol hosting and error-model groups
 * (vgi_rpc/conformance/_secondary_pytest.py @ 749b550; constants from
 * vgi_rpc/conformance/secondary.py @ 749b550): TestSecondaryIsHosted,
 * TestSecondaryDescribes, TestRoutingByPair, TestSecondaryRouting,
 * TestVersionMismatchCode, TestErrorModelRoundTrip, TestTracebackPolicy,
 * TestErrorModelOnTheWire, TestUnclassifiedErrorsAreUnknown.
 *
 * The reference's `conformance_protocol_connector(transport, protocol)` is a
 * typed client of the named protocol on the transport's connection.
 *
 * The error model (`vgi_rpc.error_code` / `vgi_rpc.error_details`,
 * protocol-delta §4.4) is post-peer. Each test checks it twice: on the
 * server's bytes (the same request sent raw on the same connection) and
 * through what RpcClientError surfaces.
 *
 * TestErrorModelOnTheWire and TestUnclassifiedErrorsAreUnknown read an HTTP
 * body in the reference (`conformance_http_port`). The EXCEPTION batch is the
 * same on every transport, so here they read the raw response stream of the
 * transport under test.
 */
import { expect, it } from 'vitest';
import { Client, Method, Reflection, RpcClientError, Service, T, type ClientConnection, type ClientTransport } from '../../../src/index.js';
import { Keys } from '../../../src/wire/metadata-keys.js';
import { ConformanceService } from '../../../examples/conformance/service.js';
import { SecondaryService } from '../../../examples/conformance/secondary.js';
import { overTransports } from '../harness.js';
import { type SkipContext, type WireError, exceptionBatch, failure, rawCall, requireErrorModel, sameDetails } from './protocol-support.js';

// ---------------------------------------------------------------- constants (secondary.py / _secondary_pytest.py)

const PRIMARY_PROTOCOL_NAME = 'ConformanceService';
const SECONDARY_PROTOCOL_NAME = 'conformance.Secondary.v1';
const SECONDARY_PROTOCOL_HASH = '58557cf1611546ad22d1c379bc3ce1b04166082f78375e9fc959f0086347eab6';
const SECONDARY_ECHO_PREFIX = 'secondary:';
const FAIL_ERROR_INFO = { '@type': 'vgi_rpc.ErrorInfo', metadata: { fixture: SECONDARY_PROTOCOL_NAME } };
const PROBE_DETAIL = { '@type': `${SECONDARY_PROTOCOL_NAME}.Probe`, note: 'clients ignore detail types they do not know' };
const INVALID_CODE_KIND = 'invalid_code';
const OVERSIZED_KIND = 'details_oversized';
const MAX_ERROR_DETAILS_BYTES = 4096;

const CANONICAL_CODES = [
  'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** The error-detail catalog a client decodes into typed entries (protocol-delta §4.4). */
const DETAIL_CATALOG = new Set([
  'vgi_rpc.ErrorInfo', 'vgi_rpc.RetryInfo', 'vgi_rpc.BadRequest', 'vgi_rpc.PreconditionFailure', 'vgi_rpc.QuotaFailure',
  'vgi_rpc.ResourceInfo', 'vgi_rpc.Help', 'vgi_rpc.LocalizedMessage',
]);

type Detail = { readonly '@type': string } & Record<string, unknown>;

/** `expected_fail_details(delay)`: ErrorInfo, RetryInfo when the delay is positive, the probe type. */
const expectedFailDetails = (delay: number): Detail[] => [
  FAIL_ERROR_INFO,
  ...(delay > 0 ? [{ '@type': 'vgi_rpc.RetryInfo', retry_delay_seconds: delay }] : []),
  PROBE_DETAIL,
];

/** Python's `str(float)` for the parametrize ids used here. */
const pyFloat = (x: number): string => (Number.isInteger(x) ? x.toFixed(1) : String(x));

// ---------------------------------------------------------------- probe protocols (same wire names, different surfaces)

/** `conformance.Secondary.v1` plus a method the worker does not host. */
const SecondaryProbe = Service.define(SECONDARY_PROTOCOL_NAME, {}, { not_a_method: Method.unary({}) });

/** A protocol no conformance worker hosts. */
const UnhostedProtocol = Service.define('conformance.Unhosted.v1', {}, {
  echo_string: Method.unary({ params: { value: T.utf8 }, result: T.utf8 }),
});

/** `ConformanceService` as a client one minor version behind would declare it. */
const StalePrimary = Service.define(PRIMARY_PROTOCOL_NAME, { version: '1.0.0' }, {
  echo_string: Method.unary({ params: { value: T.utf8 }, result: T.utf8 }),
});

/** The one primary method the routing test needs, at the primary's version. */
const PrimaryEcho = Service.define(PRIMARY_PROTOCOL_NAME, { version: '2.0.0' }, {
  echo_string: Method.unary({ params: { value: T.utf8 }, result: T.utf8 }),
});

// ---------------------------------------------------------------- error-model views

interface ErrorModel {
  readonly code: string | undefined;
  readonly kind: string;
  readonly details: Detail[];
}

/** The three layers as the server wrote them (top-level metadata). */
const wireModel = (w: WireError): ErrorModel => ({
  code: w.top.get(Keys.errorCode),
  kind: w.top.get(Keys.errorKind) ?? '',
  details: w.top.has(Keys.errorDetails) ? (JSON.parse(w.top.get(Keys.errorDetails)!) as Detail[]) : [],
});

/** The three layers as the client under test surfaces them. */
const clientModel = (e: RpcClientError): ErrorModel => {
  const x = e as unknown as { errorCode?: unknown; errorDetails?: unknown };
  expect(typeof x.errorCode, 'RpcClientError surfaces no errorCode').toBe('string');
  return { code: x.errorCode as string, kind: e.errorKind ?? '', details: Array.isArray(x.errorDetails) ? (x.errorDetails as Detail[]) : [] };
};

/** `is_retryable()`: UNAVAILABLE, or RESOURCE_EXHAUSTED carrying RetryInfo. */
const isRetryable = (m: ErrorModel): boolean =>
  m.code === 'UNAVAILABLE' || (m.code === 'RESOURCE_EXHAUSTED' && m.details.some((d) => d['@type'] === 'vgi_rpc.RetryInfo'));

const detailOf = (m: ErrorModel, type: string): Detail | undefined => m.details.find((d) => d['@type'] === type);

/**
 * Assert the error-model layers of a failed call: on the server's bytes (the
 * same request sent raw), then through the client. Skips the rest of the
 * test while the server writes no error code.
 */
const checkErrorModel = async (
  ctx: SkipContext,
  conn: { readonly transport: ClientTransport },
  err: RpcClientError,
  service: Parameters<typeof rawCall>[1],
  method: string,
  params: Record<string, unknown>,
  check: (m: ErrorModel, where: string) => void,
): Promise<void> => {
  const wire = exceptionBatch(await rawCall(conn.transport, service, method, params));
  requireErrorModel(ctx, wire);
  check(wireModel(wire), 'on the wire');
  check(clientModel(err), 'through the client');
};

// ---------------------------------------------------------------- hosting

const listProtocols = (conn: ClientConnection) => Client.promises(Reflection, conn).list_protocols();

const applicationProtocols = (listing: { protocols: { protocol: string }[] }): string[] =>
  listing.protocols.map((p) => p.protocol).filter((p) => !p.startsWith('vgi_rpc.'));

overTransports('TestSecondaryIsHosted', (get) => {
  it('test_listed_after_the_primary', async () => {
    const { conn } = await get();
    expect(applicationProtocols(await listProtocols(conn))).toEqual([PRIMARY_PROTOCOL_NAME, SECONDARY_PROTOCOL_NAME]);
  });
});

overTransports('TestSecondaryDescribes', (get) => {
  it('test_reports_the_pinned_hash', async () => {
    const { conn } = await get();
    const summaries = new Map((await listProtocols(conn)).protocols.map((p) => [p.protocol, p]));
    const summary = summaries.get(SECONDARY_PROTOCOL_NAME);
    expect(summary, `${SECONDARY_PROTOCOL_NAME} is not hosted (hosts ${[...summaries.keys()]})`).toBeDefined();
    expect(summary!.protocol_hash).toBe(SECONDARY_PROTOCOL_HASH);
    expect(summary!.protocol_version).toBe('');
  });

  it('test_describe_lists_the_three_methods', async () => {
    const { conn } = await get();
    const description = await Client.promises(Reflection, conn).describe({ protocol: SECONDARY_PROTOCOL_NAME });
    const byName = new Map(description.methods.map((m) => [m.name, m]));
    expect([...byName.keys()].sort()).toEqual(['echo_string', 'fail', 'fail_oversized']);
    expect(description.protocol_hash).toBe(SECONDARY_PROTOCOL_HASH);
    for (const [name, method] of byName) expect(method.method_type, name).toBe('unary');
    expect(byName.get('echo_string')!.has_return).toBe(true);
    expect(byName.get('fail')!.has_return).toBe(false);
    expect(byName.get('fail_oversized')!.has_return).toBe(false);
  });

  it('test_features_are_emitted_empty', async () => {
    const { conn } = await get();
    const listing = await listProtocols(conn);
    const offenders = Object.fromEntries(listing.protocols.filter((p) => p.features.length > 0).map((p) => [p.protocol, p.features]));
    expect(offenders).toEqual({});
    expect(listing.protocols.length).toBeGreaterThanOrEqual(3);
  });
});

overTransports('TestRoutingByPair', (get) => {
  it('test_the_same_name_reaches_two_bindings', async () => {
    const { conn } = await get();
    expect(await Client.promises(PrimaryEcho, conn).echo_string({ value: 'ping' })).toBe('ping');
    const got = await Client.promises(SecondaryService, conn).echo_string({ value: 'ping' });
    expect(got, `'ping' means the call was dispatched to ${PRIMARY_PROTOCOL_NAME}.echo_string`).toBe(`${SECONDARY_ECHO_PREFIX}ping`);
  });
});

overTransports('TestSecondaryRouting', (get) => {
  it('test_echo_routes_to_the_secondary', async () => {
    const { secondary } = await get();
    expect(await secondary.echo_string({ value: 'pong' })).toBe(`${SECONDARY_ECHO_PREFIX}pong`);
  });

  it('test_an_absent_method_is_unimplemented', async (ctx) => {
    const { conn } = await get();
    const err = await failure(Client.promises(SecondaryProbe, conn).not_a_method());
    expect(err.errorKind).toBe('method_not_implemented');
    await checkErrorModel(ctx, await get(), err, SecondaryProbe, 'not_a_method', {}, (m, where) => {
      expect([m.kind, m.code], where).toEqual(['method_not_implemented', 'UNIMPLEMENTED']);
    });
  });

  it('test_an_unhosted_protocol_is_unimplemented', async (ctx) => {
    const { conn } = await get();
    const err = await failure(Client.promises(UnhostedProtocol, conn).echo_string({ value: 'x' }));
    expect(err.errorKind).toBe('protocol_not_supported');
    await checkErrorModel(ctx, await get(), err, UnhostedProtocol, 'echo_string', { value: 'x' }, (m, where) => {
      expect([m.kind, m.code], where).toEqual(['protocol_not_supported', 'UNIMPLEMENTED']);
    });
  });
});

overTransports('TestVersionMismatchCode', (get) => {
  it('test_a_stale_client_gets_a_precondition_failure', async (ctx) => {
    const { conn } = await get();
    const err = await failure(Client.promises(StalePrimary, conn).echo_string({ value: 'x' }));
    expect(err.errorKind).toBe('protocol_version_mismatch');
    await checkErrorModel(ctx, await get(), err, StalePrimary, 'echo_string', { value: 'x' }, (m, where) => {
      expect([m.kind, m.code], where).toEqual(['protocol_version_mismatch', 'FAILED_PRECONDITION']);
      const failure_ = detailOf(m, 'vgi_rpc.PreconditionFailure');
      expect(failure_, `no vgi_rpc.PreconditionFailure ${where}`).toBeDefined();
      const violations = (failure_!.violations ?? []) as { type?: string; subject?: string }[];
      expect(violations.map((v) => [v.type, v.subject]), where).toContainEqual(['protocol_version', PRIMARY_PROTOCOL_NAME]);
    });
  });
});

// ---------------------------------------------------------------- the error model, through the client under test

overTransports('TestErrorModelRoundTrip', (get) => {
  const cases: [string, string, number][] = [
    ['NOT_FOUND', 'widget_missing', 0.0],
    ['UNAVAILABLE', 'backend_down', 7.0],
    ['RESOURCE_EXHAUSTED', 'quota_spent', 2.5],
  ];
  for (const [code, kind, delay] of cases) {
    it(`test_code_kind_and_details_arrive[${code}-${kind}-${pyFloat(delay)}]`, async (ctx) => {
      const { conn, secondary } = await get();
      const params = { code, kind, retry_delay_seconds: delay };
      const err = await failure(secondary.fail(params));
      expect(err.errorType).toBe('StatusError');
      expect(err.errorKind).toBe(kind);
      expect(err.message).toBe(`conformance.Secondary.v1 fail: ${code} ${kind}`);
      await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
        expect(m.code, where).toBe(code);
        expect(m.kind, where).toBe(kind);
        expect(sameDetails(m.details, expectedFailDetails(delay)), `${where}: ${JSON.stringify(m.details)}`).toBe(true);
        const retry = detailOf(m, 'vgi_rpc.RetryInfo');
        if (delay > 0) expect(retry?.retry_delay_seconds, where).toBeCloseTo(delay, 9);
        else expect(retry, where).toBeUndefined();
        expect(detailOf(m, 'vgi_rpc.ErrorInfo')?.metadata, where).toEqual(FAIL_ERROR_INFO.metadata);
      });
    });
  }

  const retryCases: [string, number, boolean][] = [
    ['UNAVAILABLE', 0.0, true],
    ['RESOURCE_EXHAUSTED', 3.0, true],
    ['RESOURCE_EXHAUSTED', 0.0, false],
    ['ABORTED', 3.0, false],
    ['INTERNAL', 3.0, false],
  ];
  for (const [code, delay, retryable] of retryCases) {
    it(`test_retryability_follows_the_code[${code}-${pyFloat(delay)}-${retryable ? 'True' : 'False'}]`, async (ctx) => {
      const { conn, secondary } = await get();
      const params = { code, kind: 'retry_probe', retry_delay_seconds: delay };
      const err = await failure(secondary.fail(params));
      expect([err.errorType, err.errorKind]).toEqual(['StatusError', 'retry_probe']);
      await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
        expect(isRetryable(m), `${code} with delay ${delay} ${where}`).toBe(retryable);
      });
    });
  }

  it('test_an_absent_kind_is_empty', async (ctx) => {
    const { conn, secondary } = await get();
    const params = { code: 'ABORTED', kind: '', retry_delay_seconds: 0.0 };
    const err = await failure(secondary.fail(params));
    expect(err.errorKind ?? '').toBe('');
    expect(err.message).toBe('conformance.Secondary.v1 fail: ABORTED');
    await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
      expect([m.code, m.kind], where).toEqual(['ABORTED', '']);
    });
  });

  it('test_an_unknown_detail_type_is_ignored', async (ctx) => {
    const { conn, secondary } = await get();
    const params = { code: 'INTERNAL', kind: 'probe', retry_delay_seconds: 0.0 };
    const err = await failure(secondary.fail(params));
    expect([err.errorType, err.errorKind]).toEqual(['StatusError', 'probe']);
    await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
      expect(m.details.map((d) => d['@type']), `the unknown detail was dropped ${where}`).toContain(PROBE_DETAIL['@type']);
      // Typed access yields the catalog entries and skips the unknown type.
      expect(m.details.filter((d) => DETAIL_CATALOG.has(d['@type'])).map((d) => d['@type']), where).toEqual(['vgi_rpc.ErrorInfo']);
    });
  });

  for (const code of CANONICAL_CODES) {
    it(`test_every_code_round_trips[${code}]`, async (ctx) => {
      const { conn, secondary } = await get();
      const params = { code, kind: 'every_code', retry_delay_seconds: 0.0 };
      const err = await failure(secondary.fail(params));
      expect(err.message).toBe(`conformance.Secondary.v1 fail: ${code} every_code`);
      await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
        expect(m.code, `sent ${code}, ${where}`).toBe(code);
      });
    });
  }

  it('test_a_code_outside_the_set_is_a_bad_request', async (ctx) => {
    const { conn, secondary } = await get();
    const params = { code: 'OK', kind: 'x', retry_delay_seconds: 0.0 };
    const err = await failure(secondary.fail(params));
    expect(err.errorKind).toBe(INVALID_CODE_KIND);
    expect(err.message).toBe("'OK' is not a canonical error code");
    await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
      expect([m.code, m.kind], where).toEqual(['INVALID_ARGUMENT', INVALID_CODE_KIND]);
      const bad = detailOf(m, 'vgi_rpc.BadRequest');
      expect(bad, `no BadRequest ${where}`).toBeDefined();
      expect(((bad!.field_violations ?? []) as { field: string }[]).map((v) => v.field), where).toEqual(['code']);
    });
  });

  it('test_oversized_details_are_dropped_whole', async (ctx) => {
    const { conn, secondary } = await get();
    const err = await failure(secondary.fail_oversized());
    expect(err.errorKind).toBe(OVERSIZED_KIND);
    await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail_oversized', {}, (m, where) => {
      expect([m.code, m.kind], where).toEqual(['RESOURCE_EXHAUSTED', OVERSIZED_KIND]);
      expect(m.details, `details over ${MAX_ERROR_DETAILS_BYTES} bytes reached the client ${where}`).toEqual([]);
      expect(isRetryable(m), `with its RetryInfo dropped, RESOURCE_EXHAUSTED is final (${where})`).toBe(false);
    });
  });
});

overTransports('TestTracebackPolicy', (get, transport) => {
  it('test_traceback_is_present_by_default', async (ctx) => {
    const { conn, secondary } = await get();
    const params = { code: 'INTERNAL', kind: '', retry_delay_seconds: 0.0 };
    const err = await failure(secondary.fail(params));
    expect(err.traceback, `over ${transport.name} the server sent no traceback`).not.toBe('');
    await checkErrorModel(ctx, await get(), err, SecondaryService, 'fail', params, (m, where) => {
      expect(m.code, `the traceback must not touch the error model (${where})`).toBe('INTERNAL');
    });
  });
});

// ---------------------------------------------------------------- the server's bytes, read directly

overTransports('TestErrorModelOnTheWire', (get) => {
  it('test_top_level_keys_and_log_extra_agree', async (ctx) => {
    const { transport } = await get();
    const error = exceptionBatch(await rawCall(transport, SecondaryService, 'fail', { code: 'UNAVAILABLE', kind: 'backend_down', retry_delay_seconds: 7.0 }));
    expect(error.top.get(Keys.errorKind)).toBe('backend_down');
    expect(error.extra.error_kind).toBe('backend_down');
    requireErrorModel(ctx, error);
    expect(error.top.get(Keys.errorCode)).toBe('UNAVAILABLE');
    const raw = error.top.get(Keys.errorDetails);
    expect(raw, `no top-level ${Keys.errorDetails}`).toBeDefined();
    expect(new TextEncoder().encode(raw!).byteLength).toBeLessThanOrEqual(MAX_ERROR_DETAILS_BYTES);
    const details = JSON.parse(raw!) as unknown;
    expect(sameDetails(details, expectedFailDetails(7.0)), `${Keys.errorDetails}=${raw}`).toBe(true);
    expect(error.extra.error_code).toBe('UNAVAILABLE');
    const mirrored = error.extra.error_details;
    expect(Array.isArray(mirrored) && sameDetails(mirrored, details), `log_extra.error_details=${JSON.stringify(mirrored)}`).toBe(true);
  });

  it('test_oversized_details_are_absent_from_both', async (ctx) => {
    const { transport } = await get();
    const error = exceptionBatch(await rawCall(transport, SecondaryService, 'fail_oversized', {}));
    expect(error.top.has(Keys.errorDetails), `${Keys.errorDetails} is present for details over the cap`).toBe(false);
    expect('error_details' in error.extra, 'log_extra.error_details must be dropped with the top-level key').toBe(false);
    expect(error.top.get(Keys.errorKind)).toBe(OVERSIZED_KIND);
    requireErrorModel(ctx, error);
    expect(error.top.get(Keys.errorCode)).toBe('RESOURCE_EXHAUSTED');
  });

  it('test_http_carries_the_traceback_by_default', async (ctx) => {
    const { transport } = await get();
    const error = exceptionBatch(await rawCall(transport, SecondaryService, 'fail', { code: 'INTERNAL', kind: '', retry_delay_seconds: 0.0 }));
    const traceback = error.extra.traceback;
    expect(typeof traceback === 'string' && traceback !== '', `log_extra.traceback=${String(traceback)}`).toBe(true);
    expect(error.top.has(Keys.errorKind), 'an empty kind is absent, not an empty string').toBe(false);
    requireErrorModel(ctx, error);
    expect(error.top.get(Keys.errorCode)).toBe('INTERNAL');
  });
});

overTransports('TestUnclassifiedErrorsAreUnknown', (get) => {
  it('test_every_exception_batch_carries_a_code', async (ctx) => {
    const { transport } = await get();
    const error = exceptionBatch(await rawCall(transport, ConformanceService, 'raise_value_error', { message: 'boom' }));
    expect(error.extra.exception_type).toBe('ValueError');
    expect(error.top.has(Keys.errorKind)).toBe(false);
    requireErrorModel(ctx, error);
    expect(error.top.get(Keys.errorCode)).toBe('UNKNOWN');
  });
});
