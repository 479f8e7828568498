/**
 * One thread hop, measured: small frames (64 B and 1 KiB) between the main
 * thread and a worker thread, over the SAB channel (transports/shm) and over
 * a MessagePort, in messages per second, one way (the main thread sends
 * `count` frames as fast as the hop takes them; the worker counts them) and
 * round trip (one frame out, the worker sends it back, the next one after
 * the reply). MessagePort variants: the runtime's way (each frame copied
 * into a fresh ArrayBuffer that is transferred, as runtime/channel.ts
 * postBytes does) and a plain postMessage of the Uint8Array (structured
 * clone). CPU is the whole process's (both threads), per message and as a
 * share of one core. Run: `npx tsc -p . && node dist/bench/sab-hop.js`
 * (`--quick` for small counts). Not part of bench/run.ts.
 */
import { type MessagePort, MessageChannel, Worker } from 'node:worker_threads';
import { createSabChannel, openSide } from '../runtime/sab-channel.js';

type Via = 'sab' | 'sab-spin' | 'port-transfer' | 'port-clone';
type Mode = 'sink' | 'echo';

/** Spin iterations of the `sab-spin` variant before each sleep (bounded). */
const SPIN = 2_000;
const WORKER = new URL('./sab-hop-worker.js', import.meta.url);

/** One worker serving one hop of one kind. */
interface Hop {
  /** Send `count` frames of `frame` one way, or as ping-pong round trips; resolves when the worker has them all. */
  run(mode: Mode, count: number, frame: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Wait for the worker's next message equal to `what`. */
const heard = (worker: Worker, what: string): Promise<void> => new Promise((resolve) => {
  const on = (m: unknown): void => {
    if (m !== what) return;
    worker.off('message', on);
    resolve();
  };
  worker.on('message', on);
});

const startHop = async (via: Via): Promise<Hop> => {
  if (via === 'sab' || via === 'sab-spin') {
    const spin = via === 'sab-spin' ? SPIN : 0;
    const channel = createSabChannel();
    const worker = new Worker(WORKER, { workerData: { via: 'sab', channel, spin } });
    await heard(worker, 'ready');
    const { reader, writer } = openSide(channel, 'a', { spin });
    return {
      run: async (mode, count, frame) => {
        const armed = heard(worker, 'armed');
        const done = heard(worker, 'done');
        worker.postMessage({ mode, count });
        await armed;
        for (let i = 0; i < count; i++) {
          const w = writer.write(frame);
          if (w !== undefined) await w;
          if (mode === 'echo') {
            let f = reader.tryRead();
            while (f === undefined) {
              await reader.readable();
              f = reader.tryRead();
            }
          }
        }
        await done;
      },
      close: async () => {
        await writer.close();
        reader.close();
        await worker.terminate();
      },
    };
  }
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, { workerData: { via, port: port2 }, transferList: [port2] });
  await heard(worker, 'ready');
  const transfer = via === 'port-transfer';
  const send = (frame: Uint8Array): void => {
    if (transfer) {
      // What postBytes does with a chunk it does not own: one copy into a fresh buffer, transferred.
      const out = Uint8Array.prototype.slice.call(frame) as Uint8Array;
      port1.postMessage(out, [out.buffer as ArrayBuffer]);
    } else port1.postMessage(frame);
  };
  let replied: (() => void) | undefined;
  port1.on('message', () => replied?.());
  return {
    run: async (mode, count, frame) => {
      const armed = heard(worker, 'armed');
      const done = heard(worker, 'done');
      worker.postMessage({ mode, count });
      await armed;
      if (mode === 'sink') for (let i = 0; i < count; i++) send(frame);
      else {
        for (let i = 0; i < count; i++) {
          const reply = new Promise<void>((r) => { replied = r; });
          send(frame);
          await reply;
        }
      }
      await done;
    },
    close: async () => {
      port1.close();
      await worker.terminate();
    },
  };
};

/** One measurement. */
interface Result {
  readonly via: Via;
  readonly mode: Mode;
  readonly size: number;
  readonly count: number;
  readonly msgsPerSec: number;
  /** CPU of the whole process (both threads) per message, µs. */
  readonly cpuUsPerMsg: number;
  /** CPU of the whole process as a share of one core while it ran. */
  readonly cpuCores: number;
}

const measure = async (hop: Hop, via: Via, mode: Mode, size: number, count: number): Promise<Result> => {
  const frame = new Uint8Array(size).fill(7);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await hop.run(mode, count, frame);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return { via, mode, size, count, msgsPerSec: count / wall, cpuUsPerMsg: (cpuSec / count) * 1e6, cpuCores: cpuSec / wall };
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const main = async (): Promise<void> => {
  const quick = process.argv.includes('--quick');
  const counts = { sink: quick ? 20_000 : 200_000, echo: quick ? 5_000 : 40_000 };
  const repeats = quick ? 1 : 3;
  const vias: Via[] = ['sab', 'sab-spin', 'port-transfer', 'port-clone'];
  console.log(`sab-hop: main thread <-> one worker thread; SAB channel (256 KiB rings; sab-spin polls ${SPIN} times before sleeping) vs MessagePort`);
  console.log(`  one way: ${fmt(counts.sink)} frames sent back to back, timed until the worker has read them all; round trip: ${fmt(counts.echo)} ping-pongs`);
  console.log(`  best of ${repeats} runs after a warm-up; CPU = process.cpuUsage (both threads), per message and in cores`);
  const results: Result[] = [];
  for (const via of vias) {
    const hop = await startHop(via);
    for (const mode of ['sink', 'echo'] as const) {
      for (const size of [64, 1024]) {
        await measure(hop, via, mode, size, Math.floor(counts[mode] / 10)); // warm-up
        let best: Result | undefined;
        for (let r = 0; r < repeats; r++) {
          const res = await measure(hop, via, mode, size, counts[mode]);
          if (best === undefined || res.msgsPerSec > best.msgsPerSec) best = res;
        }
        results.push(best!);
      }
    }
    await hop.close();
  }
  console.log('\n| hop | direction | frame | msgs/s | CPU µs/msg | CPU cores |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.via} | ${r.mode === 'sink' ? 'one way' : 'round trip'} | ${r.size} B | ${fmt(r.msgsPerSec)} | ${r.cpuUsPerMsg.toFixed(2)} | ${r.cpuCores.toFixed(2)} |`);
  }
  console.log('\nSAB / MessagePort (transferred) msgs/s:');
  for (const mode of ['sink', 'echo'] as const) {
    for (const size of [64, 1024]) {
      const of = (via: Via): number => results.find((r) => r.via === via && r.mode === mode && r.size === size)!.msgsPerSec;
      console.log(`  ${mode === 'sink' ? 'one way   ' : 'round trip'} ${String(size).padStart(4)} B: sab ${(of('sab') / of('port-transfer')).toFixed(2)}x, sab-spin ${(of('sab-spin') / of('port-transfer')).toFixed(2)}x (vs clone: ${(of('sab') / of('port-clone')).toFixed(2)}x)`);
    }
  }
};

await main();
