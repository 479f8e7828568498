/**
 * The server's plain diagnostic lines on stderr (a drain starting, a
 * connection cut by a framing error, a worker that died, a listener error),
 * filtered by the thread's server log level like the Effect log records, so
 * that `--log-level none` silences them too.
 */
import { DEFAULT_LOG_LEVEL, SERVER_LOG_LEVELS, type ServerLogLevel } from '../src/protocol/call-log.js';

let threshold = SERVER_LOG_LEVELS.indexOf(DEFAULT_LOG_LEVEL);

/** Set this thread's level (the runtime's `logLevel`). */
export const setDiagnosticLevel = (level: ServerLogLevel): void => {
  threshold = SERVER_LOG_LEVELS.indexOf(level);
};

/** A sink writing lines of severity `level` to stderr when the thread's level lets them through. */
export const diagnostic = (level: 'info' | 'warning' | 'error') => (line: string): void => {
  if (SERVER_LOG_LEVELS.indexOf(level) >= threshold) process.stderr.write(`${line}\n`);
};
