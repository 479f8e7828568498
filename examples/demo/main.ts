#!/usr/bin/env node
/**
 * `npm run demo`: start the Demo service on TCP (127.0.0.1, a free port) on
 * a pool of worker threads, one per core; call every kind of method with the
 * typed client over several connections, show which threads served them,
 * then stop the server with SIGTERM (a graceful drain) and print its exit
 * code.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { Client, Output, RpcClientError } from '../../src/index.js';
import { open } from '../../transports/connect-entry.js';
import { Demo } from './demo-service.js';

const print = (label: string, value: unknown): void => {
  process.stdout.write(`${label.padEnd(36)} ${typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))}\n`);
};

const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const server = spawn(process.execPath, [worker, '--tcp', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
const line = await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout! }).once('line', resolve);
  void exited.then((code) => reject(new Error(`the demo server exited (${code}) before listening`)));
});
print('server', `${line} (${availableParallelism()} worker threads, one per core)`);

const connections = await Promise.all(Array.from({ length: 8 }, () => open(line)));
const demo = Client.promises(Demo, connections[0]!);

print('greet({name: "world"})', await demo.greet({ name: 'world' }));
print('norm({point: {x: 3, y: 4}})', await demo.norm({ point: { x: 3, y: 4 } }, { onLog: (l) => print(`  log ${l.level}`, `${l.message} ${JSON.stringify(l.extra)}`) }));
try {
  await demo.divide({ a: 1, b: 0 });
} catch (e) {
  if (!(e instanceof RpcClientError)) throw e;
  print('divide({a: 1, b: 0})', `${e.errorType}: ${e.message}`);
}
const countdown = await demo.countdown({ from: 3n });
print('countdown({from: 3}) header', countdown.header);
for await (const batch of countdown) print('  batch', batch.rows());
const scale = await demo.scale({ factor: 10 });
print('scale({factor: 10}) [1, 2, 3]', (await scale.exchange(Output.columns({ x: [1, 2, 3] }))).values('x'));
await scale.close();

const served = await Promise.all(connections.map((c) => Client.promises(Demo, c).whoami()));
const threads = new Map<string, number>();
for (const s of served) threads.set(s, (threads.get(s) ?? 0) + 1);
print(`whoami() on ${connections.length} connections`, [...threads].map(([t, n]) => `${t}: ${n}`).join(', '));

await Promise.all(connections.map((c) => c.close()));
server.kill('SIGTERM');
print('server exit code after SIGTERM', await exited);
