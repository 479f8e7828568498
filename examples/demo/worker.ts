#!/usr/bin/env node
/**
 * The Demo service as a server process:
 * `node dist/examples/demo/worker.js [--stdio | --unix PATH | --tcp [HOST:]PORT] [--workers N]`.
 */
import { runStdioServer } from '../../transports/pipe/stdio-main.js';
import { runSocketServer } from '../../transports/socket/socket-main.js';
import { serveTcp } from '../../transports/tcp/tcp-server.js';
import { serveUnix } from '../../transports/unix/unix-server.js';
import { Demo, DemoLive } from './demo-service.js';

const args = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};
const workers = value('--workers');
const options = {
  services: [Demo],
  layer: DemoLive,
  workerModule: new URL('./worker-thread.js', import.meta.url),
  ...(workers === undefined ? {} : { workers: Number(workers) }),
};
const unix = value('--unix');
const tcp = value('--tcp');
if (unix !== undefined) await runSocketServer(options, (rt) => serveUnix(rt, unix));
else if (tcp !== undefined) {
  const at = tcp.lastIndexOf(':');
  await runSocketServer(options, (rt) => serveTcp(rt, at < 0 ? '127.0.0.1' : tcp.slice(0, at), Number(at < 0 ? tcp : tcp.slice(at + 1))));
} else await runStdioServer(options);
