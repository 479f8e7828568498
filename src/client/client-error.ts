/**
 * The error a client surfaces for an EXCEPTION batch or a broken exchange:
 * the server's error type, bare message, kind, traceback and identifiers.
 */
import * as Data from 'effect/Data';
import { Keys } from '../wire/metadata-keys.js';

/** A remote failure (or a local protocol failure) seen by a client. */
export class RpcClientError extends Data.TaggedError('RpcClientError')<{
  /** `exception_type` sent by the server (e.g. "ValueError"), or a local type such as "ProtocolError". */
  readonly errorType: string;
  /** The bare error message. */
  readonly message: string;
  /** `vgi_rpc.error_kind`, when the server classified the error. */
  readonly errorKind: string | undefined;
  /** The server's traceback text. */
  readonly traceback: string;
  readonly requestId: string | undefined;
  readonly serverId: string | undefined;
  /** `vgi_rpc.error_code`: the canonical code name (`UNKNOWN` when the server sent none). */
  readonly errorCode: string;
  /** `vgi_rpc.error_details`: typed details (empty when none were sent). */
  readonly errorDetails: readonly Readonly<Record<string, unknown>>[];
  /** True when the client detected the problem itself (transport, protocol, encoding), false when the server sent it. */
  readonly local: boolean;
}> {
  /** True when retrying may succeed: UNAVAILABLE, or RESOURCE_EXHAUSTED carrying RetryInfo. */
  get retryable(): boolean {
    return this.errorCode === 'UNAVAILABLE' || (this.errorCode === 'RESOURCE_EXHAUSTED' && this.errorDetails.some((d) => d['@type'] === 'vgi_rpc.RetryInfo'));
  }

  /** "Type: message", as the reference's log_message. */
  get summary(): string {
    return `${this.errorType}: ${this.message}`;
  }

  /** A locally detected problem (no server involved). */
  static local(errorType: string, message: string): RpcClientError {
    return new RpcClientError({ errorType, message, errorKind: undefined, traceback: '', requestId: undefined, serverId: undefined, errorCode: 'UNKNOWN', errorDetails: [], local: true });
  }
}

/** Build the client error from an EXCEPTION batch's metadata. */
export const errorFromMetadata = (md: ReadonlyMap<string, string>): RpcClientError => {
  let extra: Record<string, unknown> = {};
  try {
    const raw = md.get(Keys.logExtra);
    if (raw !== undefined) extra = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    extra = {};
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const logMessage = md.get(Keys.logMessage) ?? '';
  let details: unknown = extra.error_details;
  const rawDetails = md.get(Keys.errorDetails);
  if (rawDetails !== undefined) {
    try {
      details = JSON.parse(rawDetails);
    } catch {
      details = undefined;
    }
  }
  return new RpcClientError({
    errorType: str(extra.exception_type) ?? 'EXCEPTION',
    message: str(extra.exception_message) ?? logMessage,
    errorKind: md.get(Keys.errorKind) ?? str(extra.error_kind),
    traceback: str(extra.traceback) ?? '',
    requestId: md.get(Keys.requestId),
    serverId: md.get(Keys.serverId),
    errorCode: md.get(Keys.errorCode) ?? str(extra.error_code) ?? 'UNKNOWN',
    errorDetails: Array.isArray(details) ? (details as Readonly<Record<string, unknown>>[]) : [],
    local: false,
  });
};

/** What an RpcClientError is built from. */
export type RpcClientErrorFields = ConstructorParameters<typeof RpcClientError>[0];

/** The fields of `e`, to build a variant of it (another class, a filled-in request id). */
export const errorFields = (e: RpcClientError): RpcClientErrorFields => ({
  errorType: e.errorType,
  message: e.message,
  errorKind: e.errorKind,
  traceback: e.traceback,
  requestId: e.requestId,
  serverId: e.serverId,
  errorCode: e.errorCode,
  errorDetails: e.errorDetails,
  local: e.local,
});
