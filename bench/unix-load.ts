/**
 * Load generator for the unix-socket benchmark, run as a child process of
 * bench/unix.ts so the process that measures does no client work. It opens
 * K connections to a unix socket and keeps W unary `add` calls (protocol
 * `Bench`) in flight on each. Two clients:
 *
 *   --client typed   our typed client (Client.promises over RpcConnection)
 *   --client replay  (default) the request our client encodes for add(1, 2),
 *                    encoded once and written again for every call; responses
 *                    are split into IPC messages by their framing (no
 *                    decoding) and counted at each end-of-stream marker. The
 *                    first response on every connection is decoded in full
 *                    and must carry 3.0; every later one must be the same
 *                    size (an error or log stream would not be), else it
 *                    counts as an error.
 *
 * Both speak only the wire protocol, so they drive the peer's server too.
 *
 *   node dist/bench/unix-load.js --path P [--connections K] [--inflight W] [--client replay|typed]
 *
 * Prints `{"ready":true}` once every connection has answered a first call
 * and the load is running. Each `mark` line on stdin is answered with
 * `{"calls":N,"errors":E,"t_ms":T,"cpu_us":C}` (calls completed so far, its
 * own clock, its own CPU time) so the parent can measure one window across
 * several generators; `stop` (or stdin EOF) closes the connections and exits.
 *
 * Standalone: `--duration S [--warmup S]` warms up, measures for S seconds
 * and prints `{"calls_per_s":R,"calls":N,"seconds":S}`.
 */
import { type Socket, createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import { Client, RpcConnection } from '../src/index.js';
import { encodeRequest } from '../src/client/connection.js';
import { classifyBatch } from '../src/wire/classify.js';
import { decodeOneStream } from '../src/wire/stream-reader.js';
import { connectUnix } from '../transports/unix/unix-client.js';
import { Bench } from '../examples/bench/bench-service.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const path = flag('path');
if (path === undefined) {
  process.stderr.write('usage: unix-load --path SOCKET [--connections K] [--inflight W] [--client replay|typed] [--duration S [--warmup S]]\n');
  process.exit(64);
}
const connections = Number(flag('connections', '16'));
const inflight = Number(flag('inflight', '1'));
const clientKind = flag('client', 'replay');
const duration = flag('duration');

let calls = 0;
let errors = 0;
let lastError = '';
let running = true;

const failed = (e: unknown): void => {
  errors++;
  lastError = e instanceof Error ? e.message : String(e);
  if (errors > 100) running = false;
};

/** A load: start() resolves once every connection answered a first call; stop() resolves when closed. */
interface Load {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const typedLoad = (): Load => {
  const conns = Array.from({ length: connections }, () => new RpcConnection(connectUnix(path)));
  const clients = conns.map((c) => Client.promises(Bench, c));
  let loops: Promise<void>[] = [];
  const loop = async (bench: (typeof clients)[number], id: number): Promise<void> => {
    let i = id;
    while (running) {
      try {
        const r = await bench.add({ a: i, b: 1 });
        if (r !== i + 1) throw new Error(`add returned ${r}, expected ${i + 1}`);
        calls++;
      } catch (e) {
        failed(e);
      }
      i = (i + 1) % 1_000_000;
    }
  };
  return {
    start: async () => {
      await Promise.all(clients.map((b) => b.add({ a: 1, b: 1 })));
      loops = clients.flatMap((b, k) => Array.from({ length: inflight }, (_, w) => loop(b, k * 1000 + w)));
    },
    stop: async () => {
      await Promise.all(loops);
      await Promise.all(conns.map((c) => Promise.race([c.close(), new Promise((r) => setTimeout(r, 1000))])));
    },
  };
};

/** bodyLength of the flatbuffer Message at `at` in `buf` (field 3, an int64; 0 when absent). */
const messageBodyLength = (buf: Buffer, at: number): number => {
  const table = at + buf.readUInt32LE(at);
  const vtable = table - buf.readInt32LE(table);
  const vtableSize = buf.readUInt16LE(vtable);
  const slot = 4 + 3 * 2;
  if (slot + 2 > vtableSize) return 0;
  const off = buf.readUInt16LE(vtable + slot);
  return off === 0 ? 0 : Number(buf.readBigInt64LE(table + off));
};

const replayLoad = (): Load => {
  const parts: Uint8Array[] = [];
  encodeRequest(parts, { protocol: 'Bench', protocolVersion: undefined }, 'add', Bench.methods.add, { a: 1, b: 2 });
  const request = Buffer.concat(parts);
  const sockets: Socket[] = [];
  const firsts: Promise<void>[] = [];
  for (let k = 0; k < connections; k++) {
    const socket = createConnection({ path });
    sockets.push(socket);
    let pending: Buffer | undefined;
    let responseBytes = 0;
    let expected = -1; // size of a good response, learnt from the first one
    let firstDone: () => void = () => {};
    let firstFailed: (e: Error) => void = () => {};
    firsts.push(new Promise<void>((resolve, reject) => { firstDone = resolve; firstFailed = reject; }));
    let firstBytes: Buffer[] = [];
    socket.on('error', (e) => { failed(e); firstFailed(e); });
    socket.on('data', (chunk: Buffer) => {
      if (expected < 0) firstBytes.push(chunk);
      let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      let pos = 0;
      for (;;) {
        if (buf.length - pos < 8) break;
        const metaLen = buf.readInt32LE(pos + 4);
        if (buf.readUInt32LE(pos) !== 0xffffffff || metaLen < 0) {
          failed(new Error('response framing lost'));
          socket.destroy();
          return;
        }
        let size = 8;
        if (metaLen > 0) {
          if (buf.length - pos < 8 + metaLen) break;
          size = 8 + metaLen + messageBodyLength(buf, pos + 8);
          if (buf.length - pos < size) break;
        }
        pos += size;
        responseBytes += size;
        if (metaLen !== 0) continue;
        // End of stream: one response complete. (A unary response is one stream.)
        if (expected < 0) {
          expected = responseBytes;
          const all = Buffer.concat(firstBytes).subarray(0, responseBytes);
          firstBytes = [];
          try {
            const { batches } = decodeOneStream(all);
            const b = batches[0];
            if (b === undefined || classifyBatch(b.numRows, b.metadata) !== 'data') throw new Error(`first response is not a result: ${JSON.stringify([...(b?.metadata ?? [])])}`);
            const v = b.columns[0]!.values[0];
            if (v !== 3) throw new Error(`add(1, 2) returned ${String(v)}`);
            firstDone();
          } catch (e) {
            failed(e);
            firstFailed(e as Error);
          }
        } else if (responseBytes === expected) {
          calls++;
          if (running) socket.write(request);
        } else {
          failed(new Error(`a response of ${responseBytes} bytes (a good one has ${expected})`));
          if (running) socket.write(request);
        }
        responseBytes = 0;
      }
      pending = pos === buf.length ? undefined : buf.subarray(pos);
    });
    socket.write(request);
  }
  return {
    start: async () => {
      await Promise.all(firsts);
      for (const s of sockets) for (let w = 0; w < inflight; w++) s.write(request);
    },
    stop: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
        if (s.destroyed) return resolve();
        const t = setTimeout(() => { s.destroy(); resolve(); }, 1000);
        s.once('close', () => { clearTimeout(t); resolve(); });
        s.end();
      })));
    },
  };
};

const load = clientKind === 'typed' ? typedLoad() : replayLoad();
await load.start();

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const stop = async (): Promise<void> => {
  running = false;
  await load.stop();
  if (errors > 0) process.stderr.write(`unix-load: ${errors} failed calls; last: ${lastError}\n`);
  process.exit(errors > 100 ? 1 : 0);
};

if (duration !== undefined) {
  await new Promise((r) => setTimeout(r, Number(flag('warmup', '1')) * 1000));
  const c0 = calls;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(duration) * 1000));
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ calls_per_s: (calls - c0) / seconds, calls: calls - c0, errors, seconds })}\n`);
  await stop();
} else {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === 'mark') process.stdout.write(`${JSON.stringify({ calls, errors, t_ms: performance.now(), cpu_us: cpuUs() })}\n`);
    else if (line.trim() === 'stop') void stop();
  });
  rl.on('close', () => void stop());
}
