/**
 * Keeping a server process's stdout for the protocol (Arrow IPC for stdio,
 * the discovery line for sockets). The server keeps the real stdout stream
 * for itself; from then on `process.stdout` is stderr for everyone else:
 * application code writing to it, the console, and every worker thread
 * started later (Node pipes a worker's stdout into whatever
 * `process.stdout` is when the worker is created, so all a worker prints,
 * from the first module it loads, ends up on stderr).
 */
import { Console } from 'node:console';

/**
 * Every console method (log, info, debug, warn, error, dir, table, trace,
 * time, count, group, assert...) prints to stderr, keeping its formatting
 * and state (one console on stderr serves them all). Needed besides the
 * `process.stdout` switch because the global console keeps the stream it
 * first printed to.
 */
const consoleToStderr = (): void => {
  const onStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  const target = console as unknown as Record<string, unknown>;
  const source = onStderr as unknown as Record<string, unknown>;
  for (const key of Object.keys(target)) {
    const method = source[key];
    // `Console` is the class, not a printing method.
    if (key !== 'Console' && typeof target[key] === 'function' && typeof method === 'function') target[key] = method.bind(onStderr);
  }
};

/** The real stdout, once reserved. */
let reserved: NodeJS.WriteStream | undefined;

/**
 * Reserve stdout for the server: returns the real stdout stream, for the
 * protocol's bytes; `process.stdout` becomes stderr and the console prints
 * to stderr. Call it before starting worker threads. Idempotent: later
 * calls return the same real stream. What escapes it: bytes written to
 * file descriptor 1 directly (fs.writeSync(1, ...), native code), and a
 * reference to the real stdout taken before the first call.
 */
export const reserveStdout = (): NodeJS.WriteStream => {
  if (reserved !== undefined) return reserved;
  reserved = process.stdout;
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => process.stderr });
  consoleToStderr();
  return reserved;
};
