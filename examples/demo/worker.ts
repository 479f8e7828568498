#!/usr/bin/env node
/**
 * The Demo service as a server process:
 * `node dist/examples/demo/worker.js [--stdio | --unix PATH | --tcp [HOST:]PORT] [--workers N] [--grace S]`.
 */
import { EX_USAGE, SERVER_FLAGS_SYNOPSIS, SERVER_FLAGS_USAGE, parseServerArgs, runServer } from '../../transports/server-command.js';
import { Demo, DemoLive } from './demo-service.js';

const parsed = parseServerArgs(process.argv.slice(2));
if ('error' in parsed) {
  process.stderr.write(`demo-worker: ${parsed.error}\nusage: demo-worker ${SERVER_FLAGS_SYNOPSIS}\n\n${SERVER_FLAGS_USAGE}`);
  process.exitCode = EX_USAGE;
} else {
  await runServer(parsed, { services: [Demo], layer: DemoLive, workerModule: new URL('./worker-thread.js', import.meta.url) });
}
