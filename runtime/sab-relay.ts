/**
 * The relay's thread hop over a SAB channel (`hop: 'sab'`) instead of
 * transferred buffers on a MessagePort: the main thread copies each socket
 * (or stdin) read into the channel's request ring, and writes each frame of
 * the response ring to the socket (or stdout). Backpressure is the rings':
 * a full request ring pauses the socket, a socket that cannot take more
 * stops the main thread reading the response ring, whose writer (the
 * handler) then waits. The connection's MessagePort still carries the
 * control messages (gone, drain, shutdown, probe, done), which are rare.
 *
 * A worker write is one frame, read back whole: the socket gets whole
 * writes only, so when the worker dies mid-write the client reads whole
 * messages, then the WorkerCrashedError stream, as with the port hop.
 */
import { threadId } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import { FrameSource } from '../src/wire/frame-source.js';
import { type ConnectionTask, type ToMain, type ToWorker, type WorkerStats, connectionSignals, relayedByteConnection } from './channel.js';
import { type ConnectionEnds, type ForwardedConnection, type ForwardingCounters, relayedConnection, workerCrashedStream } from './connection-bridge.js';
import { diagnostic } from './diagnostics.js';
import { DEFAULT_RING_BYTES, type SabChannel, createSabChannel, markSideCrashed, openSide } from './sab-channel.js';
import { pumpBytes, pumpGate } from './sab-pump.js';
import { RingError } from './sab-ring.js';
import { type ConnectionOutcome, serveConnection } from './serve-connection.js';
import type { WorkerPool } from './worker-pool.js';

/** How the relay carries a connection's bytes between the main thread and its worker. */
export type RelayHop = 'port' | 'sab';

/** Resolves once `writable` can take more (or will never: it closed or failed). */
const writableAgain = (writable: Writable): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      writable.off('drain', done);
      writable.off('close', done);
      writable.off('error', done);
      resolve();
    };
    writable.once('drain', done);
    writable.once('close', done);
    writable.once('error', done);
  });

/**
 * Forward one connection to a worker of `pool` over a SAB channel with
 * `ringBytes` data bytes per direction (see forwardToWorker for the rest:
 * `serverId` stamps the error sent if the worker dies, `refuse` marks a
 * connection that reached a draining server).
 */
export const forwardOverSab = (
  pool: WorkerPool,
  ends: ConnectionEnds,
  serverId: string,
  ringBytes: number = DEFAULT_RING_BYTES,
  counters?: ForwardingCounters,
  refuse?: string,
): ForwardedConnection => {
  const channel = createSabChannel(ringBytes);
  const { reader, writer } = openSide(channel, 'a');
  const { readable, writable } = ends;
  const relay = relayedConnection(ends, refuse, () => {
    readable.off('data', onData);
    // Our ends stop holding the thread; a worker still writing or reading gets a RingError.
    writer.abort();
    reader.close();
  });
  const { port1, port2, probe, finish } = relay;

  // Socket -> request ring. A full ring pauses the socket until the read is in.
  let held = false;
  const onData = (chunk: Buffer): void => {
    let w: void | Promise<void>;
    try {
      w = writer.write(chunk);
    } catch {
      // The worker is done reading (it finished or died): what the peer sends now has no reader.
      return;
    }
    if (counters !== undefined) counters.copied += chunk.byteLength;
    if (w === undefined || held) return;
    held = true;
    readable.pause();
    w.then(() => {
      held = false;
      if (!relay.isFinished()) readable.resume();
    }, () => undefined);
  };
  readable.on('data', onData);
  readable.once('end', () => void writer.close().catch(() => undefined));

  // Response ring -> socket, whole frames; the frames found at once go out in one corked write.
  let crashCause: string | undefined;
  let answered: ConnectionOutcome | undefined;
  let pumped = false;
  let taskEnded = false;
  // The worker's task ended and its answers are out, but its 'done' (posted before) has not come: give it a moment.
  const finishSoon = (): void => void setTimeout(() => finish(answered ?? {}), 1_000).unref();
  const crashed = (error: string): void => {
    diagnostic('error')(`vgi-rpc: ${ends.label}: ${error}; closing the connection`);
    if (!writable.destroyed) writable.write(workerCrashedStream(serverId, error));
    readable.destroy();
    finish({ error });
  };
  void (async () => {
    let corked = false;
    const uncork = (): void => {
      if (corked) writable.uncork();
      corked = false;
    };
    try {
      for (;;) {
        const f = reader.tryRead();
        if (f === undefined) {
          uncork();
          await reader.readable();
          continue;
        }
        if (f === null) break;
        if (counters !== undefined) counters.gathered += f.byteLength;
        // A peer that is gone gets nothing, but the ring is still emptied: the worker must not wait on it.
        if (writable.destroyed) continue;
        if (!corked) {
          writable.cork();
          corked = true;
        }
        if (!writable.write(probe === undefined ? f : probe.settleOne(f))) {
          uncork();
          await writableAgain(writable);
        }
      }
      uncork();
    } catch (e) {
      uncork();
      if (!(e instanceof RingError) || relay.isFinished()) return;
      if (e.reason === 'peer-crashed') return crashed(crashCause ?? `the worker thread serving this connection died (exit code ${e.exitCode})`);
      // The worker aborted its writing end: it is finished; its 'done' says how.
    }
    pumped = true;
    if (answered !== undefined) finish(answered);
    else if (taskEnded) finishSoon();
  })();

  port1.on('message', (m: ToMain) => {
    switch (m.t) {
      case 'probe': probe?.check(); return;
      case 'done':
        // The worker already logged an abnormal end; its last answers may still be in the ring.
        answered = m.error === undefined ? {} : { error: m.error };
        if (pumped) finish(answered);
        return;
      default: return;
    }
  });
  const task: ConnectionTask = { port: port2 as never, sab: channel, transportKind: ends.transportKind, label: ends.label, ...(refuse === undefined ? {} : { refuse }) };
  pool.run(task).then(
    () => {
      // The worker resolved its task; its 'done' message may still be in flight. Its last answers
      // may still be in the ring (a client reading slowly): the connection finishes once they are out.
      taskEnded = true;
      if (pumped) finishSoon();
    },
    (e: unknown) => {
      if (relay.isFinished()) return;
      const cause = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      crashCause = `the worker thread serving this connection died: ${cause}`;
      // The response pump writes what the worker wrote whole, then the error (see above).
      markSideCrashed(channel, 'b', 1);
      if (pumped) crashed(crashCause);
    },
  );
  relay.started();
  return relay.forwarded;
};

/**
 * The worker's half: serve one connection whose bytes travel over
 * `task.sab` (side `b`), with the task's port for control; resolves when it
 * is finished.
 */
export const serveSabConnectionTask = async (dispatcher: Dispatcher, task: ConnectionTask & { readonly sab: SabChannel }): Promise<WorkerStats> => {
  const port = task.port;
  const send = (m: ToMain): void => { try { port.postMessage(m); } catch { /* closed */ } };
  const { reader, writer } = openSide(task.sab, 'b');
  const { gate, pause, resume } = pumpGate();
  const frames = new FrameSource({ pause, resume });
  const signals = connectionSignals();
  const { closed, drain, shutdown } = signals;
  port.on('message', (m: ToWorker) => void signals.take(m));
  // The main thread stopped relaying (the connection is finished there): nothing more comes or goes.
  const relayStopped = (e: RingError): void => signals.gone(`the relay stopped (${e.message})`);
  const lost = (e: RingError): void => {
    relayStopped(e);
    frames.fail(e);
  };
  const pumped = pumpBytes(reader, frames, gate, lost);
  // A write to a relay that stopped is dropped, as a post to a closed port would be; `closed` says why.
  const dropped = (e: unknown): undefined => {
    if (!(e instanceof RingError)) throw e;
    relayStopped(e);
    return undefined;
  };
  const write = (chunks: readonly Uint8Array[]): void | Promise<void> => {
    try {
      const w = writer.write(chunks);
      return w === undefined ? undefined : w.catch(dropped);
    } catch (e) {
      return dropped(e);
    }
  };
  const conn = relayedByteConnection(task, { frames, write, closed, drain, shutdown }, send);
  const { error } = await serveConnection(dispatcher, conn, task.label);
  // Our answers are all in the ring once it closes: the main thread writes them, then sees the end.
  await writer.close().catch(() => undefined);
  reader.close();
  resume();
  await pumped.catch(() => undefined);
  send(error === undefined ? { t: 'done' } : { t: 'done', error });
  port.close();
  return { threadId, connections: dispatcher.connections, runningCalls: dispatcher.runningCalls };
};
