/**
 * The worker thread of bench/sab-hop.ts: the far end of one hop. Given a
 * SAB channel or a MessagePort and a mode, it either counts the frames it
 * receives (`sink`: says 'done' after `count`) or sends each one back
 * (`echo`), the way the runtime's worker side would answer.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type SabChannel, openSide } from '../runtime/sab-channel.js';

type Job =
  | { readonly via: 'sab'; readonly channel: SabChannel; readonly spin: number }
  | { readonly via: 'port-transfer' | 'port-clone'; readonly port: MessagePort };

/** One measurement the main thread asks for: receive `count` frames, echoing them or not. */
interface Run {
  readonly mode: 'sink' | 'echo';
  readonly count: number;
}

const job = workerData as Job;

if (job.via === 'sab') {
  const { reader, writer } = openSide(job.channel, 'b', { spin: job.spin });
  parentPort!.on('message', (run: Run) => void (async () => {
    parentPort!.postMessage('armed');
    for (let i = 0; i < run.count; i++) {
      let f = reader.tryRead();
      while (f === undefined) {
        await reader.readable();
        f = reader.tryRead();
      }
      if (f === null) throw new Error('the channel ended early');
      if (run.mode === 'echo') {
        const w = writer.write(f);
        if (w !== undefined) await w;
      }
    }
    parentPort!.postMessage('done');
  })());
} else {
  const port = job.port;
  let run: Run | undefined;
  let seen = 0;
  const transfer = job.via === 'port-transfer';
  port.on('message', (m: Uint8Array) => {
    if (run!.mode === 'echo') {
      if (transfer) port.postMessage(m, [m.buffer as ArrayBuffer]);
      else port.postMessage(m);
    }
    if (++seen === run!.count) parentPort!.postMessage('done');
  });
  parentPort!.on('message', (r: Run) => {
    run = r;
    seen = 0;
    parentPort!.postMessage('armed');
  });
}
parentPort!.postMessage('ready');
