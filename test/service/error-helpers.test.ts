/**
 * What each typed error helper puts on the wire: a handler failing with it
 * gets an EXCEPTION batch whose `vgi_rpc.error_kind` and canonical
 * `vgi_rpc.error_code` (top level and mirrored in log_extra) follow the
 * error model (protocol-delta §4.4): the framework kinds carry their kind
 * and code; ValueError, TypeError, RuntimeError, ProtocolError and
 * VersionError are unclassified (no kind, UNKNOWN), as the reference's
 * TestUnclassifiedErrorsAreUnknown requires of ValueError.
 */
import * as Data from 'effect/Data';
import * as Effect from 'effect/Effect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dispatcher, ErrorKind, Errors, Method, RpcError, Service, T } from '../../src/index.js';
import { Keys } from '../../src/wire/metadata-keys.js';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { readResponse, requestBytes, route } from '../support/raw-exchange.js';

/** A tagged error of the application's own. */
class NotFound extends Data.TaggedError('NotFound')<{ readonly message: string }> {}

/** Every helper of `Errors`, by name (the Record type makes a new helper fail to compile here until it is added). */
const helpers: Record<keyof typeof Errors, () => RpcError> = {
  value: () => Errors.value('boom'),
  type: () => Errors.type('boom'),
  runtime: () => Errors.runtime('boom'),
  protocol: () => Errors.protocol('boom'),
  version: () => Errors.version('boom'),
  methodNotImplemented: () => Errors.methodNotImplemented('boom'),
  protocolNotSpecified: () => Errors.protocolNotSpecified('boom'),
  protocolNotSupported: () => Errors.protocolNotSupported('boom'),
  protocolVersion: () => Errors.protocolVersion('boom', 'Failing', '1.0.0'),
};

/** Other ways to fail: a kind given to RpcError.of, an explicit code, an application's tagged error. */
const others: Record<string, () => unknown> = {
  serverDrainingKind: () => RpcError.of('ServerDrainingError', 'boom', ErrorKind.serverDraining),
  explicitCode: () => new RpcError({ errorType: 'QuotaError', message: 'boom', errorKind: 'quota', errorCode: 'RESOURCE_EXHAUSTED' }),
  taggedError: () => new NotFound({ message: 'boom' }),
};

interface Expected {
  readonly type: string;
  readonly kind: string | undefined;
  readonly code: string;
  readonly details?: readonly unknown[];
}

const expected: Record<keyof typeof Errors | keyof typeof others, Expected> = {
  value: { type: 'ValueError', kind: undefined, code: 'UNKNOWN' },
  type: { type: 'TypeError', kind: undefined, code: 'UNKNOWN' },
  runtime: { type: 'RuntimeError', kind: undefined, code: 'UNKNOWN' },
  protocol: { type: 'ProtocolError', kind: undefined, code: 'UNKNOWN' },
  version: { type: 'VersionError', kind: undefined, code: 'UNKNOWN' },
  methodNotImplemented: { type: 'MethodNotImplementedError', kind: 'method_not_implemented', code: 'UNIMPLEMENTED' },
  protocolNotSpecified: { type: 'ProtocolNotSpecifiedError', kind: 'protocol_not_specified', code: 'INVALID_ARGUMENT' },
  protocolNotSupported: { type: 'ProtocolNotSupportedError', kind: 'protocol_not_supported', code: 'UNIMPLEMENTED' },
  protocolVersion: {
    type: 'ProtocolVersionError', kind: 'protocol_version_mismatch', code: 'FAILED_PRECONDITION',
    details: [{ '@type': 'vgi_rpc.PreconditionFailure', violations: [{ type: 'protocol_version', subject: 'Failing', description: 'requires protocol_version 1.0.0' }] }],
  },
  serverDrainingKind: { type: 'ServerDrainingError', kind: 'server_draining', code: 'UNAVAILABLE', details: [{ '@type': 'vgi_rpc.RetryInfo', retry_delay_seconds: 1 }] },
  explicitCode: { type: 'QuotaError', kind: 'quota', code: 'RESOURCE_EXHAUSTED' },
  taggedError: { type: 'NotFound', kind: undefined, code: 'UNKNOWN' },
};

const all: Record<string, () => unknown> = { ...helpers, ...others };

const Failing = Service.define('Failing', {}, { fail: Method.unary({ params: { how: T.utf8 }, result: T.utf8 }) });
const FailingLive = Failing.toLayer({ fail: ({ how }) => Effect.fail(all[how]!()) });

let dispatcher: Dispatcher;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dispatcher, dispose } = await makeDispatcher([Failing], FailingLive));
});
afterAll(() => dispose());

describe('the EXCEPTION batch of each typed error', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: ${want.type}, kind ${want.kind ?? '(none)'}, code ${want.code}`, async () => {
      const t = memoryConnect(dispatcher);
      await t.write(requestBytes(Failing.methods.fail.paramsSchema, [T.utf8.encode([name])], 1, route('Failing', 'fail')));
      const r = await readResponse(t);
      await t.close();
      const b = r.batches.find((x) => x.meta(Keys.logLevel) === 'EXCEPTION');
      expect(b).toBeDefined();
      const extra = JSON.parse(b!.meta(Keys.logExtra)!) as Record<string, unknown>;
      expect([extra.exception_type, extra.exception_message]).toEqual([want.type, 'boom']);
      expect(b!.meta(Keys.errorKind)).toBe(want.kind);
      expect(extra.error_kind).toBe(want.kind);
      expect(b!.meta(Keys.errorCode)).toBe(want.code);
      expect(extra.error_code).toBe(want.code);
      const details = b!.meta(Keys.errorDetails);
      expect(details === undefined ? undefined : JSON.parse(details)).toEqual(want.details);
    });
  }
});
