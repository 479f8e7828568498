/**
 * The server's own log records about calls, written through Effect's
 * logging (so they reach whatever logger the worker's runtime has, at its
 * minimum level, beside the handlers' own Effect.log* calls). A call that
 * ends in an EXCEPTION batch is logged once, after the fact: a call that
 * succeeds costs nothing here.
 */
import { Cause, Effect, LogLevel } from 'effect';
import type { WireErrorInfo } from '../service/errors.js';

/** A server log level, as the `--log-level` flag and the `logLevel` option spell it. */
export type ServerLogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'fatal' | 'none';

/** Every server log level, most verbose first. */
export const SERVER_LOG_LEVELS: readonly ServerLogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'fatal', 'none'];

/** The level when none is given: handlers' Effect.log calls and defects are shown, expected failures are not. */
export const DEFAULT_LOG_LEVEL: ServerLogLevel = 'info';

const EFFECT_LEVELS: Readonly<Record<ServerLogLevel, LogLevel.LogLevel>> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
};

/** Effect's LogLevel for a server log level. */
export const effectLogLevel = (level: ServerLogLevel): LogLevel.LogLevel => EFFECT_LEVELS[level];

/** True when `s` names a server log level. */
export const isServerLogLevel = (s: string): s is ServerLogLevel => (SERVER_LOG_LEVELS as readonly string[]).includes(s);

/** The call a log record is about. */
export interface CallName {
  readonly protocol: string;
  readonly method: string;
}

/** How a call failed, for its log record: the Cause, what the client was told, and the request id it was told under. */
export interface CallFailure {
  readonly cause: Cause.Cause<unknown>;
  readonly error: WireErrorInfo;
  readonly requestId: string | undefined;
}

/**
 * The log record of a call that ended in an EXCEPTION batch. Levels:
 * a defect (a throw, Effect.die, or a handler breaking its contract, such as
 * returning a value its result type cannot encode) is an Error; an expected
 * failure (Effect.fail with a typed error, or a bad input batch from the
 * client) and an interruption (disconnect, shutdown) are Debug, since the
 * client is told and nothing on the server needs attention. The record
 * carries protocol, method, request_id, error_type, error_kind (when there
 * is one) and error_code, with the Cause attached (the logger prints its
 * pretty form: message and stack).
 */
export const logCallFailure = (call: CallName, failure: CallFailure): Effect.Effect<void> => {
  const { cause, error } = failure;
  const [level, outcome] = Cause.isDie(cause) ? [LogLevel.Error, 'defect'] as const
    : Cause.isInterruptedOnly(cause) ? [LogLevel.Debug, 'interrupted'] as const
    : [LogLevel.Debug, 'failure'] as const;
  const annotations: Record<string, string> = {
    outcome,
    protocol: call.protocol,
    method: call.method,
    request_id: failure.requestId ?? '',
    error_type: error.errorType,
  };
  if (error.errorKind !== undefined) annotations.error_kind = error.errorKind;
  annotations.error_code = error.errorCode;
  return Effect.annotateLogs(Effect.logWithLevel(level, `${call.protocol}.${call.method}: ${error.errorType}: ${error.message}`, cause), annotations);
};
