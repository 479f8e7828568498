#!/usr/bin/env node
/**
 * Bench worker CLI: `npm run -s bench-worker -- --stdio` serves the Bench
 * protocol on stdin/stdout.
 */
import { Bench, BenchLive } from './bench-service.js';
import { runStdioServer } from '../../transports/pipe/stdio-main.js';

const args = process.argv.slice(2);
if (args.length === 0 || args.includes('--stdio')) {
  await runStdioServer([Bench], BenchLive);
} else {
  process.stderr.write(`usage: bench-worker --stdio\n`);
  process.exitCode = 64;
}
