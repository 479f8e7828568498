#!/usr/bin/env node
/**
 * `npm run demo`: start the Demo service as a stdio server in a child
 * process (the embedded default), call every kind of method with the typed
 * client, print what came back, and shut the server down.
 */
import { fileURLToPath } from 'node:url';
import { Client, RpcConnection, RpcClientError } from '../../src/index.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { Demo } from './demo-service.js';

const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const transport = spawnServer(process.execPath, [worker]);
const conn = new RpcConnection(transport);
const demo = Client.promises(Demo, conn);
const print = (label: string, value: unknown): void => {
  process.stdout.write(`${label.padEnd(34)} ${typeof value === 'string' ? value : JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))}\n`);
};

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
print('scale({factor: 10}) [1, 2, 3]', (await scale.exchange({ _tag: 'columns', columns: { x: [1, 2, 3] }, metadata: undefined })).values('x'));
await scale.close();
await conn.close();
print('server exit code', await transport.exited);
