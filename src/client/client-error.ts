/**
 * The error a client surfaces for an EXCEPTION batch or a broken exchange:
 * the server's error type, bare message, kind, traceback and identifiers.
 */
import { Data } from 'effect';
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
}> {
  /** "Type: message", as the reference's log_message. */
  get summary(): string {
    return `${this.errorType}: ${this.message}`;
  }

  /** A locally detected problem (no server involved). */
  static local(errorType: string, message: string): RpcClientError {
    return new RpcClientError({ errorType, message, errorKind: undefined, traceback: '', requestId: undefined, serverId: undefined });
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
  return new RpcClientError({
    errorType: str(extra.exception_type) ?? 'EXCEPTION',
    message: str(extra.exception_message) ?? logMessage,
    errorKind: md.get(Keys.errorKind) ?? str(extra.error_kind),
    traceback: str(extra.traceback) ?? '',
    requestId: md.get(Keys.requestId),
    serverId: md.get(Keys.serverId),
  });
};
