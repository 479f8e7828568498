/**
 * The SAB hop of the front end's links to its workers (the runtime's
 * `hop: 'sab'`): beside its MessagePort, each link gets a channel of two
 * rings (runtime/sab-channel.ts), and the small messages of one event-loop
 * turn (requests, aborts, replies) travel through it as one frame, written
 * with V8's serializer, the one postMessage uses. A message moving a large
 * buffer (a body of RECYCLE_MIN_BYTES or more, a recycled reply buffer)
 * still goes over the port, moved rather than copied three times through a
 * ring. Link messages are independent (each names its request), so the two
 * paths need no common order.
 */
import { deserialize, serialize } from 'node:v8';
import { RingError, type RingReader, type RingWriter } from '../../runtime/sab-ring.js';

/** Write `batch` to `ring` as one frame; false when the ring has failed (its reader closed, or its thread died), which the link's own failure reports. */
export const writeBatch = (ring: RingWriter, batch: readonly unknown[]): boolean => {
  try {
    // A full ring takes the frame later, in order; its failure is the link's, reported when the worker's exit is.
    ring.write(serialize(batch))?.catch(() => undefined);
    return true;
  } catch (e) {
    if (e instanceof RingError) return false;
    throw e;
  }
};

/** Hand every batch `ring` carries to `take` until the ring ends or fails. */
export const pumpBatches = async <T>(ring: RingReader, take: (batch: readonly T[]) => void): Promise<void> => {
  for (;;) {
    let frame: Uint8Array | null;
    try {
      frame = await ring.read();
    } catch (e) {
      if (e instanceof RingError) return;
      throw e;
    }
    if (frame === null) return;
    take(deserialize(frame) as readonly T[]);
  }
};

/** Hand `take` every whole batch `ring` holds now, without waiting (the last replies of a worker that exited). */
export const drainBatches = <T>(ring: RingReader, take: (batch: readonly T[]) => void): void => {
  for (;;) {
    let frame: Uint8Array | null | undefined;
    try {
      frame = ring.tryRead();
    } catch (e) {
      if (e instanceof RingError) return;
      throw e;
    }
    if (frame === null || frame === undefined) return;
    take(deserialize(frame) as readonly T[]);
  }
};
