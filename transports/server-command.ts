/**
 * A server process's command line, shared by every worker CLI: where it
 * listens (`--stdio`, `--unix PATH`, `--tcp [HOST:]PORT`), how many worker
 * threads serve the connections (`--workers N`), how long a drain waits
 * (`--grace SECONDS`) and what the server logs on stderr (`--log-level`). `parseServerArgs` reads those flags (plus any flags of
 * the application's own), `SERVER_FLAGS_USAGE` describes them, and
 * `runServer` serves on the chosen transport until the process is drained.
 */
import type { AcceptMode, RuntimeOptions } from '../runtime/rpc-runtime.js';
import type { RelayHop } from '../runtime/sab-relay.js';
import { drainOnSignals } from '../runtime/signals.js';
import { reserveStdout } from '../runtime/stdout-reservation.js';
import { SERVER_LOG_LEVELS, type ServerLogLevel, isServerLogLevel } from '../src/protocol/call-log.js';
import { type Listen, type ServeOptions, startServer } from './serve.js';
import { DEFAULT_TCP_HOST } from './tcp/tcp-address.js';
import type { HttpOptions } from './http/http-config.js';

export type { Listen };

/** Exit code for a command-line usage error (sysexits EX_USAGE). */
export const EX_USAGE = 64;

/** The server flags of a command line. */
export interface ServerArgs {
  readonly listen: Listen;
  /** `--workers N`; undefined leaves the transport's default. */
  readonly workers: number | undefined;
  /** `--grace SECONDS`, in milliseconds; undefined leaves the runtime's default. */
  readonly graceMs: number | undefined;
  /** `--accept workers|relay`; undefined leaves the runtime's default. */
  readonly accept: AcceptMode | undefined;
  /** `--hop port|sab`: how relayed connections reach their worker; undefined leaves the runtime's default. */
  readonly hop?: RelayHop;
  /** `--log-level LEVEL`; undefined leaves the runtime's default (info). */
  readonly logLevel: ServerLogLevel | undefined;
  /** `--server-id ID`; undefined: a random one. */
  readonly serverId?: string;
  /** The HTTP flags (`--prefix`, caps, compression, token key and TTL, CORS, call-state cache). */
  readonly http?: HttpOptions;
}

/** The synopsis of the server flags, for a usage line. */
export const SERVER_FLAGS_SYNOPSIS = '[--stdio | --unix PATH | --tcp [HOST:]PORT | --http [--host HOST] [--port PORT] [HTTP flags]] [--workers N] [--accept workers|relay] [--hop port|sab] [--grace SECONDS] [--log-level LEVEL] [--server-id ID]';

/** The description of the server flags, for a usage text (each line indented by two spaces). */
export const SERVER_FLAGS_USAGE = `  --stdio             serve on stdin/stdout (default)
  --unix PATH         listen on the unix socket PATH; prints "UNIX:<path>" on stdout
                      once listening (a stale socket file is replaced; a path owned
                      by a live server is refused)
  --tcp [HOST:]PORT   listen on HOST (default ${DEFAULT_TCP_HOST}) and PORT (0 = any free
                      port); prints "TCP:<host>:<port>" with the bound port
  --http              serve HTTP on --host (default ${DEFAULT_TCP_HOST}) and --port (default 0
                      = any free port); prints "PORT:<port>" once listening
  --prefix PATH       HTTP: mount the routes under PATH (default: the root)
  --max-request-bytes N   HTTP: cap request bodies, encoded and decoded (413)
  --max-response-bytes N  HTTP: cap response bodies (ResponseTooLargeError)
  --max-externalized-response-bytes N  HTTP: cap externalised response bytes
                      (advertised; nothing is externalised without storage)
  --response-compression on|off  HTTP: compress responses as clients accept
                      (default on; --no-compression = off)
  --token-key KEY     HTTP: the stream-token key (64 hex digits = 32 bytes, any
                      other text is hashed); default random per process
  --token-ttl SECONDS HTTP: stream token lifetime (default 3600, 0 = none)
  --no-call-state-cache  HTTP: keep no live stream state between requests
  --cors-origin ORIGIN   HTTP: answer CORS for ORIGIN
  --sticky            HTTP: sticky sessions on (default TTL 300 s)
  --sticky-ttl SECONDS   HTTP: sticky sessions on, with this default TTL
  --sticky-max N      HTTP: sticky sessions on; at most N held at once (each
                      worker its share); an open beyond it: SessionLimitError
  --sticky-echo NAME=VALUE  HTTP: sticky sessions on; a session's opening response
                      asks the client to replay NAME: VALUE (repeatable; a proxy
                      routes on it, e.g. each instance its own VALUE)
  --listeners MODE    HTTP with a pool: "workers" (default where it can run: uWS,
                      no heap limits, no main-thread authenticate hook): every
                      worker listens on the port itself, the kernel spreading
                      connections; "main": the main thread listens and hands
                      each request to a worker. Said explicitly, "workers" is
                      refused where it cannot run
  --listen-in-workers HTTP: the same as --listeners workers
  --server-id ID      the server id stamped on log and error batches
  --workers N         worker threads serving the connections (0 = the main
                      thread). Default: one per core for --unix/--tcp, 0 for
                      --stdio (a single connection gains nothing from a pool)
  --accept MODE       who accepts --unix/--tcp connections with a pool: "workers"
                      (default: each worker accepts on its own descriptor of the
                      socket and serves its connections with no main-thread hop)
                      or "relay" (the main thread accepts and forwards the bytes;
                      slower, but a client of a worker that dies of a heap
                      overflow still gets a typed error)
  --hop HOP           how relayed connections (--accept relay, --stdio with
                      workers) and the main HTTP front end's requests
                      (--listeners main) cross to their worker: "port" (default: transferred buffers on a
                      MessagePort) or "sab" (copied through a
                      SharedArrayBuffer ring per direction; HTTP bodies of
                      64 KiB or more still move over the port)
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
  let hop: RelayHop | undefined;
  let logLevel: ServerLogLevel | undefined;
  let serverId: string | undefined;
  let httpHost: string | undefined;
  let httpPort: number | undefined;
  const http: { -readonly [K in keyof HttpOptions]: HttpOptions[K] } = {};
  const count = (flag: string, v: string | undefined): number | string => (v !== undefined && /^\d+$/.test(v) ? Number(v) : `${flag} expects a number, got ${v ?? 'nothing'}`);
  /** A positive integer, or the usage error naming `flag` and what it counts. */
  const positive = (flag: string, v: string | undefined, what: string): number | string => {
    const n = count(flag, v);
    return typeof n === 'number' && n > 0 ? n : `${flag} expects a positive number of ${what}, got ${v ?? 'nothing'}`;
  };
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
      case '--hop': {
        const v = next();
        if (v !== 'port' && v !== 'sab') return { error: `--hop expects port or sab, got ${v ?? 'nothing'}` };
        hop = v;
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
      case '--http':
        listen = { kind: 'http' };
        break;
      case '--host': {
        const v = next();
        if (v === undefined || v === '') return { error: '--host expects a host' };
        httpHost = v;
        break;
      }
      case '--port': {
        const v = count(arg, next());
        if (typeof v === 'string' || v > 65535) return { error: typeof v === 'string' ? v : `--port expects 0..65535, got ${v}` };
        httpPort = v;
        break;
      }
      case '--prefix': {
        const v = next();
        if (v === undefined) return { error: '--prefix expects a path' };
        http.prefix = v;
        break;
      }
      case '--max-request-bytes':
      case '--max-response-bytes':
      case '--max-externalized-response-bytes':
      case '--token-ttl': {
        const v = count(arg, next());
        if (typeof v === 'string') return { error: v };
        if (arg === '--max-request-bytes') http.maxRequestBytes = v;
        else if (arg === '--max-response-bytes') http.maxResponseBytes = v;
        else if (arg === '--max-externalized-response-bytes') http.maxExternalizedResponseBytes = v;
        else http.tokenTtlSeconds = v;
        break;
      }
      case '--response-compression': {
        const v = next();
        if (v !== 'on' && v !== 'off') return { error: `--response-compression expects on or off, got ${v ?? 'nothing'}` };
        http.compression = v === 'on';
        break;
      }
      case '--no-compression':
        http.compression = false;
        break;
      case '--no-call-state-cache':
        http.callStateCache = false;
        break;
      case '--listen-in-workers':
        http.listeners = 'workers';
        break;
      case '--listeners': {
        const v = next();
        if (v !== 'main' && v !== 'workers') return { error: `--listeners expects main or workers, got ${v ?? 'nothing'}` };
        http.listeners = v;
        break;
      }
      case '--token-key': {
        const v = next();
        if (v === undefined || v === '') return { error: '--token-key expects a key' };
        http.tokenKey = /^[0-9a-fA-F]{64}$/.test(v) ? new Uint8Array(Buffer.from(v, 'hex')) : v;
        break;
      }
      case '--cors-origin': {
        const v = next();
        if (v === undefined || v === '') return { error: '--cors-origin expects an origin' };
        http.cors = { origins: v };
        break;
      }
      case '--sticky':
        http.sticky = { ...http.sticky };
        break;
      case '--sticky-ttl': {
        const ttl = positive(arg, next(), 'seconds');
        if (typeof ttl === 'string') return { error: ttl };
        http.sticky = { ...http.sticky, defaultTtlSeconds: ttl };
        break;
      }
      case '--sticky-max': {
        const max = positive(arg, next(), 'sessions');
        if (typeof max === 'string') return { error: max };
        http.sticky = { ...http.sticky, maxSessions: max };
        break;
      }
      case '--sticky-echo': {
        const v = next();
        const m = v === undefined ? null : /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(.+)$/.exec(v);
        if (m === null) return { error: `--sticky-echo expects NAME=VALUE, got ${v ?? 'nothing'}` };
        http.sticky = { ...http.sticky, echoHeaders: { ...http.sticky?.echoHeaders, [m[1]!.toLowerCase()]: m[2]! } };
        break;
      }
      case '--server-id': {
        const v = next();
        if (v === undefined || v === '') return { error: '--server-id expects an id' };
        serverId = v;
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
  if (listen.kind === 'http') listen = { kind: 'http', ...(httpHost === undefined ? {} : { host: httpHost }), ...(httpPort === undefined ? {} : { port: httpPort }) };
  else if (httpHost !== undefined || httpPort !== undefined) return { error: '--host and --port go with --http' };
  return { listen, workers, graceMs, accept, logLevel, ...(hop === undefined ? {} : { hop }), ...(serverId === undefined ? {} : { serverId }), ...(Object.keys(http).length === 0 ? {} : { http }) };
};

/** The program's HTTP options under the command line's (sticky settings merged field by field, echo headers name by name). */
const mergeHttp = (program: HttpOptions | undefined, flags: HttpOptions | undefined): HttpOptions => {
  const echo = program?.sticky?.echoHeaders === undefined && flags?.sticky?.echoHeaders === undefined ? undefined : { ...program?.sticky?.echoHeaders, ...flags?.sticky?.echoHeaders };
  const sticky =
    program?.sticky === undefined && flags?.sticky === undefined ? undefined : { ...program?.sticky, ...flags?.sticky, ...(echo === undefined ? {} : { echoHeaders: echo }) };
  return { ...program, ...flags, ...(sticky === undefined ? {} : { sticky }) };
};

const writeTo = (stdout: NodeJS.WriteStream, text: string): Promise<void> =>
  new Promise((resolve, reject) => stdout.write(text, (e) => (e ? reject(e) : resolve())));

/**
 * Serve `options` (services, layer, worker module) on `args.listen`, with the
 * pool size, accept mode, grace period and log level of the command line
 * when given,
 * as a server process: stdout carries only the discovery line (socket
 * servers) or Arrow IPC (stdio), console output goes to stderr, and
 * SIGTERM/SIGINT drain the server and exit 0 (a second signal exits at
 * once). A server that cannot start (a unix path owned by a live server, a
 * port in use) exits 1 with one line on stderr. Resolves once a socket
 * server is listening; a stdio server exits the process when stdin ends (0)
 * or after a framing error it cannot resynchronise from (2).
 */
export const runServer = async <E>(args: ServerArgs, options: RuntimeOptions<E> & Partial<Pick<ServeOptions<E>, 'limits' | 'maxConnections' | 'http'>>): Promise<void> => {
  const stdout = reserveStdout();
  let server;
  try {
    server = await startServer({
      ...options,
      listen: args.listen,
      ...(args.workers === undefined ? {} : { workers: args.workers }),
      ...(args.graceMs === undefined ? {} : { graceMs: args.graceMs }),
      ...(args.accept === undefined ? {} : { accept: args.accept }),
      ...(args.hop === undefined ? {} : { hop: args.hop }),
      ...(args.logLevel === undefined ? {} : { logLevel: args.logLevel }),
      ...(args.serverId === undefined ? {} : { serverId: args.serverId }),
      ...(args.http === undefined && options.http === undefined ? {} : { http: mergeHttp(options.http, args.http) }),
    });
  } catch (e) {
    process.stderr.write(`vgi-rpc: cannot start the server: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  drainOnSignals(server.runtime);
  if (args.listen.kind !== 'stdio') return writeTo(stdout, `${server.discovery}\n`);
  const outcome = await server.stopped;
  process.exit(outcome.error === undefined ? 0 : 2);
};

/** What `runMain` takes: the runtime options, the program's HTTP options (the command line's HTTP flags override them field by field), and its name and arguments. */
export interface MainOptions<E> extends RuntimeOptions<E>, Partial<Pick<ServeOptions<E>, 'limits' | 'maxConnections' | 'http'>> {
  /** The program's name in its usage text (default: the script's file name). */
  readonly name?: string;
  /** The arguments to parse (default: `process.argv.slice(2)`). */
  readonly argv?: readonly string[];
}

/**
 * The whole main module of a server program: parse the server flags
 * (`--stdio | --unix PATH | --tcp [HOST:]PORT`, `--workers N`,
 * `--accept workers|relay`, `--hop port|sab`, `--grace S`, `--log-level L`), print the usage and exit 64 on a
 * usage error, else `runServer`.
 */
export const runMain = async <E>(options: MainOptions<E>): Promise<void> => {
  const { name = process.argv[1]?.split('/').pop() ?? 'server', argv = process.argv.slice(2), ...runtimeOptions } = options;
  const parsed = parseServerArgs(argv);
  if ('error' in parsed) {
    process.stderr.write(`${name}: ${parsed.error}\nusage: ${name} ${SERVER_FLAGS_SYNOPSIS}\n\n${SERVER_FLAGS_USAGE}`);
    process.exitCode = EX_USAGE;
    return;
  }
  await runServer(parsed, runtimeOptions);
};
