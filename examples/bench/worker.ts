#!/usr/bin/env node
/**
 * Bench worker CLI: serves the Bench protocol on stdio (default), a unix
 * socket or TCP. See USAGE.
 */
import { Bench, BenchLive } from './bench-service.js';
import { runStdioServer } from '../../transports/pipe/stdio-main.js';
import { runSocketServer } from '../../transports/socket/socket-main.js';
import { serveUnix } from '../../transports/unix/unix-server.js';
import { DEFAULT_TCP_HOST, serveTcp } from '../../transports/tcp/tcp-server.js';

/** Exit code for a command-line usage error (sysexits EX_USAGE). */
export const EX_USAGE = 64;

/** The usage text. */
export const USAGE = `usage: bench-worker [--stdio | --unix PATH | --tcp [HOST:]PORT] [--workers N]

  --stdio             serve on stdin/stdout (default)
  --unix PATH         listen on the unix socket PATH; prints "UNIX:<path>" on stdout
                      once listening (a stale socket file is replaced; a path owned
                      by a live server is refused)
  --tcp [HOST:]PORT   listen on HOST (default ${DEFAULT_TCP_HOST}) and PORT (0 = any free
                      port); prints "TCP:<host>:<port>" with the bound port
  --workers N         worker threads serving the connections (0 = the main
                      thread). Default: one per core for --unix/--tcp, 0 for
                      --stdio (a single connection gains nothing from a pool)
  --grace SECONDS     how long a drain lets running calls finish (default 30)

SIGTERM/SIGINT stop accepting, let running calls finish within the grace
period, interrupt the rest with a typed error and exit 0; a second signal
exits at once.
`;

/** Where the worker listens. */
export type Listen =
  | { readonly kind: 'stdio' }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Parsed command line. */
export interface WorkerArgs {
  readonly listen: Listen;
  readonly workers: number | undefined;
  readonly graceMs: number | undefined;
}

const parseHostPort = (v: string): { host: string; port: number } | undefined => {
  const at = v.lastIndexOf(':');
  const host = at < 0 ? DEFAULT_TCP_HOST : v.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const portText = at < 0 ? v : v.slice(at + 1);
  if (host === '' || !/^\d+$/.test(portText)) return undefined;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : undefined;
};

/** Parse argv (without node and script); returns an error message for a usage error. */
export const parseArgs = (argv: readonly string[]): WorkerArgs | { readonly error: string } => {
  let listen: Listen = { kind: 'stdio' };
  let workers: number | undefined;
  let graceMs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--stdio':
        listen = { kind: 'stdio' };
        break;
      case '--unix': {
        const path = argv[++i];
        if (path === undefined || path === '') return { error: '--unix expects a socket path' };
        listen = { kind: 'unix', path };
        break;
      }
      case '--tcp': {
        const v = argv[++i];
        const hp = v === undefined ? undefined : parseHostPort(v);
        if (hp === undefined) return { error: `--tcp expects [HOST:]PORT, got ${v ?? 'nothing'}` };
        listen = { kind: 'tcp', ...hp };
        break;
      }
      case '--workers': {
        const v = argv[++i];
        if (v === undefined || !/^\d+$/.test(v)) return { error: `--workers expects a number, got ${v ?? 'nothing'}` };
        workers = Number(v);
        break;
      }
      case '--grace': {
        const v = argv[++i];
        if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) return { error: `--grace expects seconds, got ${v ?? 'nothing'}` };
        graceMs = Number(v) * 1000;
        break;
      }
      default:
        return { error: `unknown flag: ${arg}` };
    }
  }
  return { listen, workers, graceMs };
};

const parsed = parseArgs(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`bench-worker: ${parsed.error}\n${USAGE}`);
  process.exitCode = EX_USAGE;
} else {
  const { listen } = parsed;
  const options = {
    services: [Bench],
    layer: BenchLive,
    workerModule: new URL('./worker-thread.js', import.meta.url),
    ...(parsed.workers === undefined ? {} : { workers: parsed.workers }),
    ...(parsed.graceMs === undefined ? {} : { graceMs: parsed.graceMs }),
  };
  switch (listen.kind) {
    case 'stdio':
      await runStdioServer(options);
      break;
    case 'unix':
      await runSocketServer(options, (rt) => serveUnix(rt, listen.path));
      break;
    case 'tcp':
      await runSocketServer(options, (rt) => serveTcp(rt, listen.host, listen.port));
      break;
  }
}
