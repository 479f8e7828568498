/**
 * The server's Effect logger: one logfmt line per record on stderr (never
 * stdout, which a stdio server keeps for Arrow IPC), for the server's
 * records of failed calls and the handlers' own Effect.log* calls alike,
 * filtered by the server's log level. Installed in every thread's runtime
 * in place of Effect's default logger (which prints with console.log).
 */
import * as FiberRef from 'effect/FiberRef';
import * as Layer from 'effect/Layer';
import * as Logger from 'effect/Logger';
import * as Option from 'effect/Option';
import { DEFAULT_LOG_LEVEL, type ServerLogLevel, effectLogLevel } from '../src/protocol/call-log.js';

/** Effect's logfmt format (a Cause in its pretty form, escaped onto the line), written to stderr. */
export const stderrLogger: Logger.Logger<unknown, void> = Logger.map(Logger.logfmtLogger, (line) => {
  process.stderr.write(`${line}\n`);
});

/**
 * A Layer installing `stderrLogger` in place of Effect's default logger, at
 * `level` (default info). Effect's own "Fiber terminated with an unhandled
 * error" record is turned off: every failed call fiber would repeat, less
 * precisely, the record the server writes for the call (call-log).
 */
export const serverLogging = (level: ServerLogLevel = DEFAULT_LOG_LEVEL): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, stderrLogger),
    Logger.minimumLogLevel(effectLogLevel(level)),
    Layer.locallyScoped(FiberRef.unhandledErrorLogLevel, Option.none()),
  );
