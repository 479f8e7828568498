/**
 * The sticky-session bench's server process: StickyBench over HTTP with
 * sticky sessions on, on 127.0.0.1 and a free port (printed as
 * `PORT:<n>`). Lines on stdin ask the main thread (the front end, which
 * keeps the token -> worker table) for what the workers' probes cannot see:
 * `heap` answers `HEAP:<bytes in use after a full GC>` (run with node
 * --expose-gc; the worker threads inherit the flag), `arm` starts watching
 * the main thread's event loop and `stall` answers `STALL:<StallSummary
 * as JSON>` (the lateness of a 1 ms timer meanwhile).
 *
 *   node --expose-gc dist/bench/sticky-server.js [workers] [default-ttl-s]
 */
import { createInterface } from 'node:readline';
import { startServer } from '../transports/serve.js';
import { StallWatch, StickyBench, StickyBenchLive } from './sticky-service.js';

const workers = Number(process.argv[2] ?? 2);
const ttl = Number(process.argv[3] ?? 3600);
const server = await startServer({
  services: [StickyBench], layer: StickyBenchLive, workers,
  workerModule: new URL('./sticky-worker-thread.js', import.meta.url),
  listen: { kind: 'http', host: '127.0.0.1', port: 0 },
  http: { sticky: { defaultTtlSeconds: ttl } },
});
process.stdout.write(`${server.discovery}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
const watch = new StallWatch();
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'heap') {
    gc?.();
    gc?.();
    process.stdout.write(`HEAP:${gc === undefined ? -1 : process.memoryUsage().heapUsed}\n`);
  } else if (cmd === 'arm') {
    watch.arm();
    process.stdout.write('ARMED\n');
  } else if (cmd === 'stall') {
    process.stdout.write(`STALL:${JSON.stringify(watch.disarm())}\n`);
  }
}).on('close', () => void server.drain());
process.once('SIGTERM', () => void server.drain());
await server.stopped;
process.exit(0);
