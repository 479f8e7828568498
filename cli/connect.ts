/**
 * Reaching the server named on the command line: a subprocess (`--cmd`),
 * a unix socket (`--unix`) or a TCP address (`--tcp`). Exactly one is
 * required. Connect failures become exit 69 (unavailable) with the reason.
 */
import { RpcConnection } from '../src/client/connection.js';
import { spawnServer, type SubprocessTransport } from '../transports/pipe/subprocess-client.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { connectTcp } from '../transports/tcp/tcp-client.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { shellWords } from './shell-words.js';

/** Where the server is, as given by the flags. */
export type ServerAddress =
  | { readonly kind: 'cmd'; readonly argv: readonly string[] }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** An open connection and what is needed to explain its failures and close it. */
export interface Endpoint {
  readonly conn: RpcConnection;
  /** Why the connection broke, beyond the transport's own message (a command that did not start or exited). */
  explain(): Promise<string | undefined>;
  /** Close the connection (a subprocess gets its stdin closed, then a grace period, then SIGTERM). */
  close(): Promise<void>;
}

const usage = (message: string): CliFailure => new CliFailure(ExitCode.usage, message);

/** Parse `[HOST:]PORT` (an IPv6 host in brackets); the host defaults to 127.0.0.1. */
export const parseTcpAddress = (text: string): { host: string; port: number } => {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--tcp expects [HOST:]PORT with a port from 1 to 65535, got '${text}'`);
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
};

/** The address from the three transport flags (each may be absent); exactly one must be given. */
export const addressOf = (flags: { cmd: string | undefined; unix: string | undefined; tcp: string | undefined }): ServerAddress => {
  const given = (['cmd', 'unix', 'tcp'] as const).filter((k) => flags[k] !== undefined);
  if (given.length !== 1) {
    throw usage(given.length === 0
      ? 'no server given: use --cmd "COMMAND", --unix PATH or --tcp [HOST:]PORT'
      : `give only one of --cmd, --unix, --tcp (got ${given.map((g) => `--${g}`).join(', ')})`);
  }
  if (flags.cmd !== undefined) {
    let argv: string[];
    try {
      argv = shellWords(flags.cmd);
    } catch (e) {
      throw usage(`--cmd: ${(e as Error).message}`);
    }
    if (argv.length === 0) throw usage('--cmd is empty');
    return { kind: 'cmd', argv };
  }
  if (flags.unix !== undefined) {
    if (flags.unix === '') throw usage('--unix needs a socket path');
    return { kind: 'unix', path: flags.unix };
  }
  return { kind: 'tcp', ...parseTcpAddress(flags.tcp!) };
};

const describeAddress = (a: ServerAddress): string =>
  a.kind === 'cmd' ? `command '${a.argv.join(' ')}'` : a.kind === 'unix' ? `unix socket ${a.path}` : `tcp ${a.host}:${a.port}`;

const CLOSE_GRACE_MS = 5_000;

const subprocessEndpoint = async (argv: readonly string[]): Promise<Endpoint> => {
  let transport: SubprocessTransport;
  try {
    // Its own process group: Ctrl-C cancels our stream instead of also draining the server under it.
    transport = await spawnServer(argv[0]!, argv.slice(1), { detached: true, onStderr: (line) => process.stderr.write(`[server] ${line}\n`) });
  } catch (e) {
    throw new CliFailure(ExitCode.unavailable, `cannot start the server command '${argv.join(' ')}': ${(e as Error).message}`);
  }
  let startError: Error | undefined;
  transport.child.once('error', (e) => { startError = e; });
  // A command that cannot be started reports it through 'error' instead of 'spawn'.
  const started = await new Promise<boolean>((resolve) => {
    transport.child.once('spawn', () => resolve(true));
    transport.child.once('error', () => resolve(false));
  });
  if (!started) {
    transport.child.stdin?.destroy();
    throw new CliFailure(ExitCode.unavailable, `cannot start the server command '${argv.join(' ')}': ${startError?.message ?? 'unknown error'}`);
  }
  let exitCode: number | null | undefined;
  void transport.exited.then((c) => { exitCode = c; });
  const conn = new RpcConnection(transport);
  return {
    conn,
    explain: async () => {
      // The exit (or spawn error) may be reported just after the pipe closes.
      await Promise.race([transport.exited, new Promise((r) => setTimeout(r, 1_000).unref())]);
      if (startError !== undefined) return `cannot start the server command '${argv.join(' ')}': ${startError.message}`;
      if (exitCode !== undefined) return `the server command exited with code ${exitCode ?? `signal ${transport.child.signalCode}`}`;
      return undefined;
    },
    close: async () => {
      if (startError !== undefined || exitCode !== undefined) return;
      const timer = setTimeout(() => transport.child.kill('SIGTERM'), CLOSE_GRACE_MS);
      try {
        await conn.close();
      } catch {
        // the server is gone already
      } finally {
        clearTimeout(timer);
      }
    },
  };
};

/** Connect to the server at `address`; fails with exit 69 when it cannot be reached. */
export const connect = async (address: ServerAddress): Promise<Endpoint> => {
  if (address.kind === 'cmd') return subprocessEndpoint(address.argv);
  const transport = address.kind === 'unix' ? connectUnix(address.path) : connectTcp(address.host, address.port);
  try {
    await transport.connected;
  } catch (e) {
    throw new CliFailure(ExitCode.unavailable, `cannot connect to ${describeAddress(address)}: ${(e as Error).message}`);
  }
  const conn = new RpcConnection(transport);
  return {
    conn,
    explain: async () => undefined,
    close: async () => {
      try {
        await conn.close();
      } catch {
        // already closed
      }
    },
  };
};
