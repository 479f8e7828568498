#!/usr/bin/env node
/**
 * Bench worker CLI: serves the Bench protocol on stdio (default), a unix
 * socket or TCP. See USAGE; the server flags are shared with every worker
 * CLI (transports/server-command.ts).
 */
import { Bench, BenchLive } from './bench-service.js';
import { EX_USAGE, SERVER_FLAGS_SYNOPSIS, SERVER_FLAGS_USAGE, type ServerArgs, parseServerArgs, runServer } from '../../transports/server-command.js';

export { EX_USAGE };

/** The usage text. */
export const USAGE = `usage: bench-worker ${SERVER_FLAGS_SYNOPSIS}

${SERVER_FLAGS_USAGE}
SIGTERM/SIGINT stop accepting, let running calls finish within the grace
period, interrupt the rest with a typed error and exit 0; a second signal
exits at once.
`;

/** Parsed command line: the server flags only. */
export type WorkerArgs = ServerArgs;

/** Parse argv (without node and script); returns an error message for a usage error. */
export const parseArgs = (argv: readonly string[]): WorkerArgs | { readonly error: string } => parseServerArgs(argv);

const parsed = parseArgs(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`bench-worker: ${parsed.error}\n${USAGE}`);
  process.exitCode = EX_USAGE;
} else {
  await runServer(parsed, {
    services: [Bench],
    layer: BenchLive,
    workerModule: new URL('./worker-thread.js', import.meta.url),
  });
}
