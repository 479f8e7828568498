/**
 * The `vgi-rpc` exit codes (values from BSD sysexits where one fits), and
 * the failure every command step raises to end with one of them. Kept free
 * of optional packages: the bin entry uses it before they are loaded.
 */

/** Exit codes, documented in `vgi-rpc --help` and the README. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** The server answered the call with an error (an RPC error). */
  rpcError: 1,
  /** EX_USAGE: bad flags or arguments, unknown protocol, method or parameter, a value that does not parse. */
  usage: 64,
  /** EX_DATAERR: exchange input that is not JSON lines of objects, or does not fit the first line's columns. */
  dataError: 65,
  /** EX_NOINPUT: the `--input` file cannot be read. */
  noInput: 66,
  /** EX_UNAVAILABLE: the server cannot be reached (command does not start, socket refused or missing, connection lost). */
  unavailable: 69,
  /** EX_SOFTWARE: an internal error of the CLI. */
  internal: 70,
  /** EX_PROTOCOL: the server's answer is not valid vgi-rpc. */
  protocol: 76,
  /** EX_CONFIG: the optional packages the CLI needs are not installed. */
  missingPackages: 78,
  /** 128 + SIGINT: a stream was interrupted with Ctrl-C (and cancelled). */
  interrupted: 130,
} as const;

/** One of the exit codes. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends the command with `code`, printing `message` on stderr. */
export class CliFailure extends Error {
  /** Build a failure with its exit code. */
  constructor(readonly code: ExitCodeValue, message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}
