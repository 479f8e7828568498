/**
 * Serving one connection whose bytes travel over a SAB channel (the `b`
 * side; the client holds `a`): the ring's frames feed the protocol's
 * FrameSource, response chunks are copied straight into the outgoing ring
 * (no gather buffer), and the ring's backpressure holds the handler when
 * the client reads slowly. It runs wherever the dispatcher is: a pool
 * worker (the `shm` transport tasks, see shm-worker-hook.ts) or the main
 * thread of a server without a pool.
 */
import { FrameSource } from '../../src/wire/frame-source.js';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import { type ConnectionOutcome, serveConnection } from '../../runtime/serve-connection.js';
import { RingError } from '../../runtime/sab-ring.js';
import { pumpFrames, pumpGate } from '../../runtime/sab-pump.js';
import { type SabChannel, openSide } from '../../runtime/sab-channel.js';

/** What the server side of a channel is told from outside (the runtime's drain). */
export interface ShmConnectionControl {
  /** Resolves when the server starts draining. */
  readonly drain: Promise<void>;
  /** Resolves with a detail when running calls must be interrupted. */
  readonly shutdown: Promise<string>;
}

/** Serve the `b` side of `channel` with `dispatcher` until the client ends it; never rejects. */
export const serveShmChannel = async (dispatcher: Dispatcher, channel: SabChannel, label: string, control: ShmConnectionControl, limits?: ReaderLimits): Promise<ConnectionOutcome> => {
  const { reader, writer } = openSide(channel, 'b');
  const { gate, pause, resume } = pumpGate();
  const frames = new FrameSource({ pause, resume }, limits);
  let signalGone: (detail: string) => void = () => {};
  const closed = new Promise<string>((r) => { signalGone = r; });
  const lost = (e: RingError): void => {
    signalGone(e.reason === 'peer-crashed' ? `the client's thread died (exit code ${e.exitCode})` : `the client closed the channel (${e.message})`);
    frames.fail(e);
  };
  const pumped = pumpFrames(reader, frames, gate, lost);
  const write = (chunks: readonly Uint8Array[]): void | Promise<void> => {
    try {
      const w = writer.write(chunks);
      return w === undefined ? undefined : w.catch((e: unknown) => { if (e instanceof RingError) lost(e); throw e; });
    } catch (e) {
      if (e instanceof RingError) lost(e);
      throw e;
    }
  };
  const outcome = await serveConnection(dispatcher, { frames, write, transportKind: 'pipe', closed, drain: control.drain, shutdown: control.shutdown }, label);
  // Our answers are all in the ring: end our side (the client reads them, then end of stream), stop reading.
  await writer.close().catch(() => undefined);
  reader.close();
  await pumped.catch(() => undefined);
  return outcome;
};
