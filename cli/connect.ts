/**
 * Reaching the server named on the command line: a subprocess (`--cmd`),
 * a unix socket (`--unix`), a TCP address (`--tcp`) or an HTTP server's
 * URL (`--url`). Exactly one is required. Connect failures become exit 69
 * (unavailable) with the reason; an HTTP server that is not a vgi-rpc one
 * is exit 76 (protocol).
 */
import type { ClientConnection } from '../src/client/call-surface.js';
import { RpcClientError } from '../src/client/client-error.js';
import { RpcConnection } from '../src/client/connection.js';
import { HttpError } from '../src/client/http/http-error.js';
import { httpConnect } from '../src/client/http/http-connection.js';
import { spawnServer, type SubprocessTransport } from '../transports/pipe/subprocess-client.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { connectTcp } from '../transports/tcp/tcp-client.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { shellWords } from './shell-words.js';

/** Where the server is, as given by the flags. */
export type ServerAddress =
  | { readonly kind: 'cmd'; readonly argv: readonly string[] }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  /** An HTTP server: its URL, whose path is the server's prefix. */
  | { readonly kind: 'url'; readonly url: string };

/** An open connection and what is needed to explain its failures and close it. */
export interface Endpoint {
  readonly conn: ClientConnection & { close(): Promise<void> };
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

/** Check an `--url` value: an absolute http:// or https:// URL. */
export const parseHttpUrl = (text: string): string => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw usage(`--url expects an http:// or https:// URL, got '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usage(`--url expects an http:// or https:// URL, got '${text}'`);
  return url.href;
};

/** The address from the four transport flags (each may be absent); exactly one must be given. */
export const addressOf = (flags: { cmd: string | undefined; unix: string | undefined; tcp: string | undefined; url?: string | undefined }): ServerAddress => {
  const given = (['cmd', 'unix', 'tcp', 'url'] as const).filter((k) => flags[k] !== undefined);
  if (given.length !== 1) {
    throw usage(given.length === 0
      ? 'no server given: use --cmd "COMMAND", --unix PATH, --tcp [HOST:]PORT or --url http://HOST:PORT'
      : `give only one of --cmd, --unix, --tcp, --url (got ${given.map((g) => `--${g}`).join(', ')})`);
  }
  if (flags.url !== undefined) return { kind: 'url', url: parseHttpUrl(flags.url) };
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

const describeAddress = (a: Exclude<ServerAddress, { kind: 'cmd' | 'url' }>): string =>
  a.kind === 'unix' ? `unix socket ${a.path}` : `tcp ${a.host}:${a.port}`;

/** Close a connection, ignoring that it is closed already. */
const closing = (conn: { close(): Promise<void> }) => async (): Promise<void> => {
  try {
    await conn.close();
  } catch {
    // already closed
  }
};

/**
 * An HTTP server: `httpConnect` probes `HEAD {prefix}/health` first, so a
 * server that is down, or a URL where no vgi-rpc server answers (404, 401),
 * fails here with 69; one that answers but is not a vgi-rpc server this
 * client can use fails with 76.
 */
const httpEndpoint = async (url: string): Promise<Endpoint> => {
  let conn: ClientConnection & { close(): Promise<void> };
  try {
    conn = await httpConnect(url);
  } catch (e) {
    if (e instanceof HttpError || (e instanceof RpcClientError && e.errorType === 'TransportError')) {
      throw new CliFailure(ExitCode.unavailable, e instanceof HttpError ? `cannot connect to ${url}: ${e.errorType}: ${e.message}` : e.message);
    }
    if (e instanceof RpcClientError) throw new CliFailure(ExitCode.protocol, `${e.errorType}: ${e.message}`);
    throw e;
  }
  return { conn, explain: async () => undefined, close: closing(conn) };
};

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
  if (address.kind === 'url') return httpEndpoint(address.url);
  const transport = address.kind === 'unix' ? connectUnix(address.path) : connectTcp(address.host, address.port);
  try {
    await transport.connected;
  } catch (e) {
    throw new CliFailure(ExitCode.unavailable, `cannot connect to ${describeAddress(address)}: ${(e as Error).message}`);
  }
  const conn = new RpcConnection(transport);
  return { conn, explain: async () => undefined, close: closing(conn) };
};
