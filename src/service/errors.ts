/**
 * Errors that travel on the wire. A handler fails with an `RpcError` (or any
 * error with `errorType`/`errorKind` fields, or a tagged error whose `_tag`
 * names the type); the dispatcher turns it into an EXCEPTION batch carrying
 * `exception_type`, the message, the `vgi_rpc.error_kind` when the error
 * has one, and the canonical `vgi_rpc.error_code` (its own, else the one of
 * its kind, else UNKNOWN: an unclassified error).
 */
import * as Data from 'effect/Data';

/** Framework error kinds (the open `vgi_rpc.error_kind` enum). */
export const ErrorKind = {
  methodNotImplemented: 'method_not_implemented',
  protocolNotSpecified: 'protocol_not_specified',
  protocolNotSupported: 'protocol_not_supported',
  protocolVersionMismatch: 'protocol_version_mismatch',
  sessionLost: 'session_lost',
  serverDraining: 'server_draining',
} as const;

/** A typed, wire-visible failure: `errorType` becomes `exception_type`, `errorKind` becomes `vgi_rpc.error_kind`. */
export class RpcError extends Data.TaggedError('RpcError')<{
  readonly errorType: string;
  readonly message: string;
  readonly errorKind?: string;
  readonly traceback?: string;
  /** Canonical (gRPC) code name for `vgi_rpc.error_code`; derived from the kind when omitted. */
  readonly errorCode?: string;
  /** Typed details for `vgi_rpc.error_details` (`{"@type": ...}` objects). */
  readonly errorDetails?: readonly ErrorDetail[];
}> {
  /** Build an error of the given wire type. */
  static of(errorType: string, message: string, errorKind?: string): RpcError {
    return new RpcError(errorKind === undefined ? { errorType, message } : { errorType, message, errorKind });
  }
}

/**
 * Shorthands for the error types the reference uses. The first five are
 * unclassified, as in the reference (no kind, code UNKNOWN); the framework
 * ones carry their kind and its code (protocol-delta §4.4).
 */
export const Errors = {
  /** `ValueError`: a parameter value is unacceptable (no kind, UNKNOWN). */
  value: (message: string): RpcError => RpcError.of('ValueError', message),
  /** `TypeError`: a value has the wrong type or shape (no kind, UNKNOWN). */
  type: (message: string): RpcError => RpcError.of('TypeError', message),
  /** `RuntimeError`: the operation failed (no kind, UNKNOWN). */
  runtime: (message: string): RpcError => RpcError.of('RuntimeError', message),
  /** `ProtocolError`: the request is malformed (no kind, UNKNOWN). */
  protocol: (message: string): RpcError => RpcError.of('ProtocolError', message),
  /** `VersionError`: wrong or missing request_version (no kind, UNKNOWN). */
  version: (message: string): RpcError => RpcError.of('VersionError', message),
  /** `MethodNotImplementedError` (kind method_not_implemented, UNIMPLEMENTED). */
  methodNotImplemented: (message: string): RpcError => RpcError.of('MethodNotImplementedError', message, ErrorKind.methodNotImplemented),
  /** `ProtocolNotSpecifiedError` (kind protocol_not_specified, INVALID_ARGUMENT). */
  protocolNotSpecified: (message: string): RpcError => RpcError.of('ProtocolNotSpecifiedError', message, ErrorKind.protocolNotSpecified),
  /** `ProtocolNotSupportedError` (kind protocol_not_supported, UNIMPLEMENTED). */
  protocolNotSupported: (message: string): RpcError => RpcError.of('ProtocolNotSupportedError', message, ErrorKind.protocolNotSupported),
  /** `ProtocolVersionError` (kind protocol_version_mismatch, FAILED_PRECONDITION, with a PreconditionFailure detail naming the protocol). */
  protocolVersion: (message: string, protocol: string, serverVersion: string): RpcError =>
    new RpcError({
      errorType: 'ProtocolVersionError',
      message,
      errorKind: ErrorKind.protocolVersionMismatch,
      errorDetails: [{ '@type': 'vgi_rpc.PreconditionFailure', violations: [{ type: 'protocol_version', subject: protocol, description: `requires protocol_version ${serverVersion}` }] }],
    }),
} as const;

/** One typed error detail, as carried in `vgi_rpc.error_details`. */
export type ErrorDetail = { readonly '@type': string } & Readonly<Record<string, unknown>>;

/** What the dispatcher needs to write an EXCEPTION batch for any failure or defect. */
export interface WireErrorInfo {
  readonly errorType: string;
  readonly message: string;
  readonly errorKind: string | undefined;
  readonly traceback: string;
  /** Canonical code name (`UNKNOWN` when the error is unclassified). */
  readonly errorCode: string;
  /** Typed details, when the error carries any. */
  readonly errorDetails: readonly ErrorDetail[] | undefined;
}

/** The canonical code of each framework error kind (protocol-delta §4.4). */
const CODE_OF_KIND: Readonly<Record<string, string>> = {
  method_not_implemented: 'UNIMPLEMENTED',
  protocol_not_supported: 'UNIMPLEMENTED',
  protocol_not_specified: 'INVALID_ARGUMENT',
  protocol_version_mismatch: 'FAILED_PRECONDITION',
  session_lost: 'ABORTED',
  server_draining: 'UNAVAILABLE',
  identity_unavailable: 'UNAVAILABLE',
  stale_auth: 'UNAUTHENTICATED',
  introspection_refused: 'PERMISSION_DENIED',
  grant_refused: 'PERMISSION_DENIED',
  token_unresolved: 'NOT_FOUND',
};

/** Framework details that go with a kind when the error names none (draining asks for a retry after 1 s). */
const DETAILS_OF_KIND: Readonly<Record<string, readonly ErrorDetail[]>> = {
  server_draining: [{ '@type': 'vgi_rpc.RetryInfo', retry_delay_seconds: 1 }],
};

const typeNameOf = (e: object): string => {
  const rec = e as { errorType?: unknown; _tag?: unknown; name?: unknown };
  if (typeof rec.errorType === 'string' && rec.errorType !== '') return rec.errorType;
  if (typeof rec._tag === 'string' && rec._tag !== '' && rec._tag !== 'RpcError') return rec._tag;
  if (typeof rec.name === 'string' && rec.name !== '' && rec.name !== 'Error') return rec.name;
  const ctor = (e as { constructor?: { name?: string } }).constructor?.name;
  return ctor !== undefined && ctor !== '' && ctor !== 'Object' ? ctor : 'Error';
};

/** Describe any thrown or failed value for the wire. */
export const toWireError = (e: unknown): WireErrorInfo => {
  if (e !== null && typeof e === 'object') {
    const rec = e as { message?: unknown; errorKind?: unknown; stack?: unknown; traceback?: unknown; constructor?: { errorKind?: unknown } };
    const kind = typeof rec.errorKind === 'string' && rec.errorKind !== '' ? rec.errorKind
      : typeof rec.constructor?.errorKind === 'string' && rec.constructor.errorKind !== '' ? rec.constructor.errorKind : undefined;
    const errorType = typeNameOf(e);
    const message = typeof rec.message === 'string' ? rec.message : String(e);
    const head = `${errorType}: ${message}`;
    // A JS stack starts with "<name>: <message>"; restate it with the wire error type.
    const traceback = typeof rec.traceback === 'string' && rec.traceback !== '' ? rec.traceback
      : typeof rec.stack === 'string' ? rec.stack.replace(/^.*(?:\n|$)/, (first) => (first.startsWith(head) ? first : `${head}\n`)).trimEnd() : head;
    const ownCode = (e as { errorCode?: unknown }).errorCode;
    const errorCode = typeof ownCode === 'string' && ownCode !== '' ? ownCode : (kind !== undefined ? CODE_OF_KIND[kind] : undefined) ?? 'UNKNOWN';
    const ownDetails = (e as { errorDetails?: unknown }).errorDetails;
    const errorDetails = Array.isArray(ownDetails) ? (ownDetails as ErrorDetail[]) : kind !== undefined ? DETAILS_OF_KIND[kind] : undefined;
    return { errorType, message, errorKind: kind, traceback, errorCode, errorDetails };
  }
  return { errorType: 'Error', message: String(e), errorKind: undefined, traceback: `Error: ${String(e)}`, errorCode: 'UNKNOWN', errorDetails: undefined };
};
