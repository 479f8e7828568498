/**
 * `conformance.Secondary.v1`: the second protocol hosted beside
 * ConformanceService (after it, never version-gated). It exercises routing
 * by (protocol, method) — its `echo_string` collides with the primary's on
 * purpose — and the error model: `fail` raises any canonical code with a
 * kind and typed details, `fail_oversized` raises details over the 4 KiB cap.
 */
import * as Data from 'effect/Data';
import * as Effect from 'effect/Effect';
import { type Handlers, Method, Service, T } from '../../src/index.js';
import { pyRepr } from '../../src/protocol/py-repr.js';

/** The sixteen canonical (gRPC) error code names. */
export const CANONICAL_CODES = [
  'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** One typed error detail (`{"@type": ..., ...}`), as carried in `vgi_rpc.error_details`. */
export type ErrorDetail = { readonly '@type': string } & Readonly<Record<string, unknown>>;

/**
 * The reference's `StatusError`: a wire error with a canonical code, an
 * optional kind and typed details. `errorType`/`errorKind` are read by the
 * dispatcher today; `errorCode`/`errorDetails` are there for the error model
 * (`vgi_rpc.error_code` / `vgi_rpc.error_details`, protocol-delta §4.4) once
 * the protocol layer writes them.
 */
export class StatusError extends Data.TaggedError('StatusError')<{
  readonly code: string;
  readonly kind: string;
  readonly message: string;
  readonly details: readonly ErrorDetail[];
}> {
  /** Wire `exception_type`. */
  get errorType(): string {
    return 'StatusError';
  }

  /** Wire `vgi_rpc.error_kind`: absent when the kind is empty. */
  get errorKind(): string | undefined {
    return this.kind === '' ? undefined : this.kind;
  }

  /** Wire `vgi_rpc.error_code`. */
  get errorCode(): string {
    return this.code;
  }

  /** Wire `vgi_rpc.error_details`. */
  get errorDetails(): readonly ErrorDetail[] {
    return this.details;
  }
}

/** Wire name of the secondary protocol. */
export const SECONDARY_PROTOCOL = 'conformance.Secondary.v1';

/** Methods of the secondary protocol (hash 58557cf1…). */
export const secondaryMethods = {
  echo_string: Method.unary({ params: { value: T.utf8 }, result: T.utf8, doc: 'Return the value prefixed with "secondary:".' }),
  fail: Method.unary({ params: { code: T.utf8, kind: T.utf8, retry_delay_seconds: T.float64 } }),
  fail_oversized: Method.unary({}),
};

/** The secondary protocol (no protocol_version). */
export const SecondaryService = Service.define(SECONDARY_PROTOCOL, {}, secondaryMethods);

/** The error `fail(code, kind, retry_delay_seconds)` raises. */
export const failError = (code: string, kind: string, retryDelaySeconds: number): StatusError => {
  if (!(CANONICAL_CODES as readonly string[]).includes(code)) {
    return new StatusError({
      code: 'INVALID_ARGUMENT',
      kind: 'invalid_code',
      message: `${pyRepr(code)} is not a canonical error code`,
      details: [{ '@type': 'vgi_rpc.BadRequest', field_violations: [{ field: 'code', description: 'must be a canonical code name' }] }],
    });
  }
  const details: ErrorDetail[] = [{ '@type': 'vgi_rpc.ErrorInfo', metadata: { fixture: SECONDARY_PROTOCOL } }];
  if (retryDelaySeconds > 0) details.push({ '@type': 'vgi_rpc.RetryInfo', retry_delay_seconds: retryDelaySeconds });
  details.push({ '@type': 'conformance.Secondary.v1.Probe', note: 'clients ignore detail types they do not know' });
  return new StatusError({ code, kind, message: `${SECONDARY_PROTOCOL} fail: ${code} ${kind}`.trimEnd(), details });
};

/** The error `fail_oversized()` raises: its details exceed the 4096-byte cap, so the whole array must be dropped. */
export const failOversizedError = (): StatusError =>
  new StatusError({
    code: 'RESOURCE_EXHAUSTED',
    kind: 'details_oversized',
    message: `${SECONDARY_PROTOCOL} fail_oversized: details exceed 4 KiB`,
    details: [
      { '@type': 'vgi_rpc.RetryInfo', retry_delay_seconds: 1 },
      { '@type': 'vgi_rpc.ErrorInfo', metadata: { padding: 'x'.repeat(5000) } },
    ],
  });

/** Handlers of the secondary protocol. */
export const secondaryHandlers: Handlers<typeof secondaryMethods> = {
  echo_string: ({ value }) => Effect.succeed(`secondary:${value}`),
  fail: ({ code, kind, retry_delay_seconds }) => Effect.fail(failError(code, kind, retry_delay_seconds)),
  fail_oversized: () => Effect.fail(failOversizedError()),
};

/** The secondary protocol's implementation, as a Layer. */
export const SecondaryLive = SecondaryService.toLayer(secondaryHandlers);
