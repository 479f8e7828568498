/**
 * A server process's command line, shared by every worker CLI: where it
 * listens (`--stdio`, `--unix PATH`, `--tcp [HOST:]PORT`), how many worker
 * threads serve the connections (`--workers N`), how long a drain waits
 * (`--grace SECONDS`) and what the server logs on stderr (`--log-level`). `parseServerArgs` reads those flags (plus any flags of
 * the application's own), `SERVER_FLAGS_USAGE` describes them, and
 * `runServer` serves on the chosen transport until the process is drained.
 */
import type { AcceptMode, RuntimeOptions } from '../runtime/rpc-runtime.js';
import { SERVER_LOG_LEVELS, type ServerLogLevel, isServerLogLevel } from '../src/protocol/call-log.js';
import { runStdioServer } from './pipe/stdio-main.js';
import { runSocketServer } from './socket/socket-main.js';
import { DEFAULT_TCP_HOST, serveTcp } from './tcp/tcp-server.js';
import { serveUnix } from './unix/unix-server.js';

/** Exit code for a command-line usage error (sysexits EX_USAGE). */
export const EX_USAGE = 64;

/** Where the server listens. */
export type Listen =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** The server flags of a command line. */
export interface ServerArgs {
  readonly listen: Listen;
  /** `--workers N`; undefined leaves the transport's default. */
  readonly workers: number | undefined;
  /** `--grace SECONDS`, in milliseconds; undefined leaves the runtime's default. */
  readonly graceMs: number | undefined;
  /** `--accept workers|relay`; undefined leaves the runtime's default. */
  readonly accept: AcceptMode | undefined;
  /** `--log-level LEVEL`; undefined leaves the runtime's default (info). */
  readonly logLevel: ServerLogLevel | undefined;
}

/** The synopsis of the server flags, for a usage line. */
export const SERVER_FLAGS_SYNOPSIS = '[--stdio | --unix PATH | --tcp [HOST:]PORT] [--workers N] [--accept workers|relay] [--grace SECONDS] [--log-level LEVEL]';

/** The description of the server flags, for a usage text (each line indented by two spaces). */
export const SERVER_FLAGS_USAGE = `  --stdio             serve on stdin/stdout (default)
  --unix PATH         listen on the unix socket PATH; prints "UNIX:<path>" on stdout
                      once listening (a stale socket file is replaced; a path owned
                      by a live server is refused)
  --tcp [HOST:]PORT   listen on HOST (default ${DEFAULT_TCP_HOST}) and PORT (0 = any free
                      port); prints "TCP:<host>:<port>" with the bound port
  --workers N         worker threads serving the connections (0 = the main
                      thread). Default: one per core for --unix/--tcp, 0 for
                      --stdio (a single connection gains nothing from a pool)
  --accept MODE       who accepts --unix/--tcp connections with a pool: "workers"
                      (default: each worker accepts on its own descriptor of the
                      socket and serves its connections with no main-thread hop)
                      or "relay" (the main thread accepts and forwards the bytes;
                      slower, but a client of a worker that dies of a heap
                      overflow still gets a typed error)
  --grace SECONDS     how long a drain lets running calls finish (default 30)
  --log-level LEVEL   the server log on stderr (logfmt lines): trace, debug,
                      info (default), warning, error, fatal or none. A handler
                      defect logs at error; expected (typed) failures and
                      interrupted calls at debug; handlers' Effect.log* calls
                      at their own level
`;

/**
 * An application flag: called when the flag is seen, with `next` returning
 * the following argument (its value, consumed). Returns an error message for
 * a usage error.
 */
export type FlagHandler = (next: () => string | undefined) => string | undefined;

const parseHostPort = (v: string): { host: string; port: number } | undefined => {
  const at = v.lastIndexOf(':');
  const host = at < 0 ? DEFAULT_TCP_HOST : v.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const portText = at < 0 ? v : v.slice(at + 1);
  if (host === '' || !/^\d+$/.test(portText)) return undefined;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : undefined;
};

/**
 * Parse argv (without node and script): the server flags, plus the
 * application's own flags in `appFlags`. Anything else is a usage error, as
 * is a malformed value; the result is then `{ error }`.
 */
export const parseServerArgs = (
  argv: readonly string[],
  appFlags: Readonly<Record<string, FlagHandler>> = {},
): ServerArgs | { readonly error: string } => {
  let listen: Listen = { kind: 'stdio' };
  let workers: number | undefined;
  let graceMs: number | undefined;
  let accept: AcceptMode | undefined;
  let logLevel: ServerLogLevel | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (arg) {
      case '--stdio':
        listen = { kind: 'stdio' };
        break;
      case '--unix': {
        const path = next();
        if (path === undefined || path === '') return { error: '--unix expects a socket path' };
        listen = { kind: 'unix', path };
        break;
      }
      case '--tcp': {
        const v = next();
        const hp = v === undefined ? undefined : parseHostPort(v);
        if (hp === undefined) return { error: `--tcp expects [HOST:]PORT, got ${v ?? 'nothing'}` };
        listen = { kind: 'tcp', ...hp };
        break;
      }
      case '--workers': {
        const v = next();
        if (v === undefined || !/^\d+$/.test(v)) return { error: `--workers expects a number, got ${v ?? 'nothing'}` };
        workers = Number(v);
        break;
      }
      case '--accept': {
        const v = next();
        if (v !== 'workers' && v !== 'relay') return { error: `--accept expects workers or relay, got ${v ?? 'nothing'}` };
        accept = v;
        break;
      }
      case '--grace': {
        const v = next();
        if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) return { error: `--grace expects seconds, got ${v ?? 'nothing'}` };
        graceMs = Number(v) * 1000;
        break;
      }
      case '--log-level': {
        const v = next();
        if (v === undefined || !isServerLogLevel(v)) return { error: `--log-level expects one of ${SERVER_LOG_LEVELS.join(', ')}, got ${v ?? 'nothing'}` };
        logLevel = v;
        break;
      }
      default: {
        const handler = Object.hasOwn(appFlags, arg) ? appFlags[arg] : undefined;
        if (handler === undefined) return { error: `unknown flag: ${arg}` };
        const error = handler(next);
        if (error !== undefined) return { error };
      }
    }
  }
  return { listen, workers, graceMs, accept, logLevel };
};

/**
 * Serve `options` (services, layer, worker module) on `args.listen`, with the
 * pool size, grace period, accept mode and log level of the command line
 * when given. Resolves once
 * a socket server is listening (the process then lives until a signal
 * drains it); a stdio server exits the process when stdin ends.
 */
export const runServer = async <E>(args: ServerArgs, options: RuntimeOptions<E>): Promise<void> => {
  const { listen } = args;
  const runtimeOptions: RuntimeOptions<E> = {
    ...options,
    ...(args.workers === undefined ? {} : { workers: args.workers }),
    ...(args.graceMs === undefined ? {} : { graceMs: args.graceMs }),
    ...(args.accept === undefined ? {} : { accept: args.accept }),
    ...(args.logLevel === undefined ? {} : { logLevel: args.logLevel }),
  };
  switch (listen.kind) {
    case 'stdio':
      return runStdioServer(runtimeOptions);
    case 'unix':
      return runSocketServer(runtimeOptions, (rt) => serveUnix(rt, listen.path));
    case 'tcp':
      return runSocketServer(runtimeOptions, (rt) => serveTcp(rt, listen.host, listen.port));
  }
};
