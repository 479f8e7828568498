/**
 * Feeding a FrameSource from the reading end of a SAB ring, with the
 * FrameSource's flow control: while it holds more than its high-water mark
 * the pump stops taking from the ring, so the ring fills and its writer
 * waits (backpressure across the threads).
 */
import type { FrameSource } from '../src/wire/frame-source.js';
import { RingError, type RingReader } from './sab-ring.js';

/** A pump's pause switch: the pump waits on `wait` while it is set. */
export interface PumpGate {
  wait: Promise<void> | undefined;
}

/** A pause switch for a pump, and the FrameSource flow control that works it. */
export const pumpGate = (): { gate: PumpGate; pause: () => void; resume: () => void } => {
  const gate: PumpGate = { wait: undefined };
  let open: () => void = () => {};
  return {
    gate,
    pause: () => { gate.wait ??= new Promise<void>((r) => { open = r; }); },
    resume: () => {
      gate.wait = undefined;
      open();
    },
  };
};

/**
 * Move frames from `reader` into `frames`, each pushed as a chunk, until the
 * ring ends. `onLost` hears a ring that failed (the peer closed its reading
 * end, aborted, or its thread died).
 */
export const pumpFrames = (reader: RingReader, frames: FrameSource, gate: PumpGate, onLost: (e: RingError) => void): Promise<void> =>
  (async () => {
    for (;;) {
      if (gate.wait !== undefined) await gate.wait;
      let f: Uint8Array | null | undefined;
      try {
        f = reader.tryRead();
        while (f === undefined) {
          await reader.readable();
          f = reader.tryRead();
        }
      } catch (e) {
        if (e instanceof RingError) onLost(e);
        else throw e;
        return;
      }
      if (f === null) {
        frames.end();
        return;
      }
      frames.push(f);
    }
  })();

/**
 * Move the ring's bytes into `frames` as one byte stream (frame boundaries
 * mean nothing: a relay's frames are socket reads), copied straight from
 * the ring into where the FrameSource wants them (a large body's own
 * buffer, else its scratch), so a request body crosses the thread with one
 * copy. `onLost` as for pumpFrames.
 */
export const pumpBytes = (reader: RingReader, frames: FrameSource, gate: PumpGate, onLost: (e: RingError) => void): Promise<void> =>
  (async () => {
    for (;;) {
      if (gate.wait !== undefined) await gate.wait;
      const target = frames.readTarget();
      let n: number | null;
      try {
        n = reader.readInto(target);
        while (n === 0) {
          // In the middle of a large body, sleep until a good part of the rest is there.
          await reader.readable(frames.wants(target));
          n = reader.readInto(target);
        }
      } catch (e) {
        if (e instanceof RingError) onLost(e);
        else throw e;
        return;
      }
      if (n === null) {
        frames.end();
        return;
      }
      frames.received(n, target);
      // More is waiting, and it would go to the scratch buffer: let the consumer parse what came
      // first. A message header it reads turns the rest of a large body into a target of its own
      // (one copy, and one wake-up for the whole body) instead of scratch reads copied again.
      if (reader.available > 0 && frames.wants(frames.readTarget()) === 1) await new Promise((r) => setImmediate(r));
    }
  })();
