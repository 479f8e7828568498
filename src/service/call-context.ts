/**
 * The per-call context a handler can ask for: identifiers of the call and a
 * client-directed logger. Provided to every handler Effect by the dispatcher.
 */
import * as Context from 'effect/Context';
import * as Effect from 'effect/Effect';
import type { LogLevel } from '../wire/metadata-keys.js';

/** How the call reached the server (the reference's TransportKind). */
export type TransportKind = 'pipe' | 'http' | 'unix' | 'tcp';

/** Levels a handler may log at. */
export type ClientLogLevel = Exclude<LogLevel, 'EXCEPTION'>;

/** Extra key/values attached to a client log record (JSON-encoded into `vgi_rpc.log_extra`). */
export type LogExtras = Readonly<Record<string, unknown>>;

/** One client-directed log record. */
export interface ClientLogRecord {
  readonly level: ClientLogLevel;
  readonly message: string;
  readonly extra?: LogExtras;
}

/** What a handler knows about its call. */
export interface CallInfo {
  readonly requestId: string;
  readonly serverId: string;
  readonly protocol: string;
  readonly method: string;
  readonly transportKind: TransportKind;
  /** Metadata of the request batch (routing keys included). */
  readonly requestMetadata: ReadonlyMap<string, string>;
}

/** The context service: call identity plus `log` to send records to the client. */
export interface CallContextService extends CallInfo {
  /** Send a log record to the client; it precedes the call's next output batch. */
  readonly log: (level: ClientLogLevel, message: string, extra?: LogExtras) => Effect.Effect<void>;
}

/** Tag of the per-call context. */
export class CallContext extends Context.Tag('vgi-rpc/CallContext')<CallContext, CallContextService>() {}

/** Log to the client from inside a handler: `yield* clientLog('INFO', 'hello')`. */
export const clientLog = (level: ClientLogLevel, message: string, extra?: LogExtras): Effect.Effect<void, never, CallContext> =>
  Effect.flatMap(CallContext, (ctx) => ctx.log(level, message, extra));
