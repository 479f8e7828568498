#!/usr/bin/env node
/**
 * Conformance worker CLI:
 *
 *   node dist/examples/conformance/worker.js [--stdio | --unix PATH | --tcp [HOST:]PORT]
 *                                            [--workers N] [--grace SECONDS] [--generation 89|90]
 *
 * Hosts ConformanceService, then conformance.Secondary.v1 (Reflection is
 * added by the runtime). With no transport flag it serves stdio: requests on
 * stdin, nothing but Arrow IPC on stdout, diagnostics on stderr. `--unix` and
 * `--tcp` print their discovery line (`UNIX:<path>`, `TCP:<host>:<port>`) on
 * stdout once listening. The server flags are shared with every worker CLI
 * (transports/server-command.ts). `--generation 89` hosts the peer-era
 * definition (no `published_string`), on the main thread and on every
 * worker thread. Unknown flags print the usage to stderr and exit 64
 * (EX_USAGE).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROBE_FILE_ENV } from './cancel-probe.js';
import { EX_USAGE, SERVER_FLAGS_SYNOPSIS, SERVER_FLAGS_USAGE, type ServerArgs, parseServerArgs, runServer } from '../../transports/server-command.js';
import { CONFORMANCE_ECHO_HEADERS, FAIL_SERVE_START_ENV, FAIL_SERVE_START_MARK_ENV, GENERATION_ENV, type Generation, conformanceHosting, parseGeneration, principalFromHeader, rejectAll, serveStartHook } from './hosting.js';

export { EX_USAGE };

/** The usage text. */
export const USAGE = `usage: conformance-worker ${SERVER_FLAGS_SYNOPSIS} [--generation 89|90]
                          [--auth-reject-all] [--sticky-auth] [--fail-serve-start-once]

${SERVER_FLAGS_USAGE}  --generation 89|90  ConformanceService generation to host (default 90;
                      89 = the npm peer era, without published_string)
  --auth-reject-all   HTTP: refuse every RPC request with 401 (health stays open);
                      the reason is X-Conformance-Auth-Reason when it names one of
                      missing_credential, invalid_credential, expired_credential or
                      insufficient_scope, else unauthorized
  --sticky-auth       HTTP: X-Conformance-Principal: NAME authenticates as NAME
                      (sticky sessions are then bound to it)
  --fail-serve-start-once  the first on_serve_start hook call fails (HTTP: 500),
                      the next succeeds

Over HTTP, sticky sessions are on (echo header x-vgi-conformance-echo:
conformance-fixed-marker) and POST/DELETE /__test_drain__ start/stop
refusing new sessions.

SIGTERM/SIGINT stop accepting, let running calls finish within the grace
period, interrupt the rest with a typed error and exit 0; a second signal
exits at once.
`;

/** Parsed command line. */
export interface WorkerArgs extends ServerArgs {
  readonly generation: Generation;
  readonly authRejectAll: boolean;
  readonly stickyAuth: boolean;
  readonly failServeStartOnce: boolean;
}

/** Parse argv (without node and script); returns an error message for a usage error. */
export const parseArgs = (argv: readonly string[]): WorkerArgs | { readonly error: string } => {
  let generation: Generation = 90;
  let authRejectAll = false;
  let failServeStartOnce = false;
  let stickyAuth = false;
  const server = parseServerArgs(argv, {
    '--auth-reject-all': () => {
      authRejectAll = true;
      return undefined;
    },
    '--sticky-auth': () => {
      stickyAuth = true;
      return undefined;
    },
    '--fail-serve-start-once': () => {
      failServeStartOnce = true;
      return undefined;
    },
    '--generation': (next) => {
      const v = next();
      const g = parseGeneration(v);
      if (g === undefined) return `--generation expects 89 or 90, got ${v ?? 'nothing'}`;
      generation = g;
      return undefined;
    },
  });
  return 'error' in server ? server : { ...server, generation, authRejectAll, stickyAuth, failServeStartOnce };
};

const parsed = parseArgs(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`conformance-worker: ${parsed.error}\n${USAGE}`);
  process.exitCode = EX_USAGE;
} else {
  // Worker threads copy the environment when they start: this is how they learn the generation.
  process.env[GENERATION_ENV] = String(parsed.generation);
  // Over HTTP one client's requests may reach several worker threads (each worker listening, or the
  // forwarder's balancing): what the reference keeps per process is kept in files shared by the threads.
  const shared = parsed.failServeStartOnce || (parsed.listen.kind === 'http' && !process.env[PROBE_FILE_ENV])
    ? mkdtempSync(join(tmpdir(), 'vgi-conformance-'))
    : undefined;
  if (shared !== undefined) process.once('exit', () => rmSync(shared, { recursive: true, force: true }));
  if (parsed.failServeStartOnce) {
    process.env[FAIL_SERVE_START_ENV] = '1';
    process.env[FAIL_SERVE_START_MARK_ENV] = join(shared!, 'serve-start-failed');
  }
  // The cancel probe's counters are process-wide in the reference.
  if (parsed.listen.kind === 'http' && !process.env[PROBE_FILE_ENV]) process.env[PROBE_FILE_ENV] = join(shared!, 'cancel-probe.json');
  await runServer(parsed, {
    ...conformanceHosting(parsed.generation),
    ...serveStartHook(),
    workerModule: new URL('./worker-thread.js', import.meta.url),
    http: {
      sticky: { echoHeaders: CONFORMANCE_ECHO_HEADERS },
      testDrainEndpoint: true,
      ...(parsed.authRejectAll ? { authenticate: rejectAll } : parsed.stickyAuth ? { authenticate: principalFromHeader } : {}),
    },
  });
}
