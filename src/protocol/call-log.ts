/**
 * The server's own log records about calls, written through Effect's
 * logging (so they reach whatever logger the worker's runtime has, at its
 * minimum level, beside the handlers' own Effect.log* calls). A call that
 * ends in an EXCEPTION batch is logged once, after the fact: a call that
 * succeeds costs nothing here.
 */
import * as Cause from 'effect/Cause';
import * as Effect from 'effect/Effect';
import * as LogLevel from 'effect/LogLevel';
import type { WireErrorInfo } from '../service/errors.js';
import type { CallRunner } from './call-scope.js';

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
 * How a failed call is classified in the log. A defect (a throw, Effect.die,
 * or a handler breaking its contract, such as returning a value its result
 * type cannot encode) is an Error; an expected failure (Effect.fail with a
 * typed error, or input from the client that does not fit) and an
 * interruption (disconnect, shutdown) are Debug, since the client is told
 * and nothing on the server needs attention.
 */
export const failureClass = (cause: Cause.Cause<unknown>): readonly [LogLevel.LogLevel, 'defect' | 'interrupted' | 'failure'] =>
  Cause.isDie(cause) ? [LogLevel.Error, 'defect']
    : Cause.isInterruptedOnly(cause) ? [LogLevel.Debug, 'interrupted']
    : [LogLevel.Debug, 'failure'];

/**
 * The log record of a call that ended in an EXCEPTION batch, at its
 * `failureClass` level. It carries outcome, protocol, method, request_id,
 * error_type, error_kind (when there is one) and error_code, with the Cause
 * attached (the logger prints its pretty form: message and stack).
 */
export const logCallFailure = (call: CallName, failure: CallFailure): Effect.Effect<void> => {
  const { cause, error } = failure;
  const [level, outcome] = failureClass(cause);
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

/**
 * Log a failed call through `runner`'s Effect runtime (its logger), at once
 * (the record is synchronous); nothing is built when the runtime's level
 * drops the record.
 */
export const logFailure = <R>(runner: CallRunner<R>, call: CallName, failure: CallFailure): void => {
  if (runner.logs(failureClass(failure.cause)[0])) void runner.run(logCallFailure(call, failure));
};
