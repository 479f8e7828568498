#!/usr/bin/env node
/**
 * The Demo service as a server process:
 * `node dist/examples/demo/worker.js [--stdio | --unix PATH | --tcp [HOST:]PORT] [--workers N] [--accept workers|relay] [--grace S]`.
 */
import { runMain } from '../../transports/server-entry.js';
import { Demo, DemoLive } from './demo-service.js';

await runMain({ name: 'demo-worker', services: [Demo], layer: DemoLive, workerModule: new URL('./worker-thread.js', import.meta.url) });
