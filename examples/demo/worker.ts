#!/usr/bin/env node
/**
 * The Demo service on stdio: `node dist/examples/demo/worker.js`.
 */
import { runStdioServer } from '../../transports/pipe/stdio-main.js';
import { Demo, DemoLive } from './demo-service.js';

await runStdioServer({ services: [Demo], layer: DemoLive });
