/**
 * The main thread's half of a connection placed on a worker: bytes read from
 * the socket (or stdin) go to the worker's port with their buffers
 * transferred; response bytes from the worker are written to the socket
 * (or stdout) with backpressure in both directions. If the worker dies, the
 * peer gets one typed error naming the cause and the connection is closed;
 * other connections are untouched.
 */
import { MessageChannel } from 'node:worker_threads';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { writeErrorStream } from '../src/protocol/responses.js';
import { RpcError, toWireError } from '../src/service/errors.js';
import { emptySchema } from '../src/service/method.js';
import { concatBytes } from '../src/wire/batch-encoder.js';
import type { TransportKind } from '../src/service/call-context.js';
import { type ToMain, type ToWorker, postBytes } from './channel.js';
import type { WorkerPool } from './worker-pool.js';
import type { ConnectionOutcome } from './serve-connection.js';
import type { ReaderLimits } from '../src/wire/stream-reader.js';
import { diagnostic } from './diagnostics.js';
import { PeerProbe } from './peer-probe.js';
import { afterNextPoll } from './quiet-close.js';

/** The two ends of a byte-stream connection on the main thread. */
export interface ConnectionEnds {
  readonly readable: Readable;
  readonly writable: Writable;
  readonly transportKind: TransportKind;
  /** Names the connection in log lines, e.g. `unix connection #3`. */
  readonly label: string;
  /** Byte caps for incoming messages (default: the reader's defaults). */
  readonly limits?: ReaderLimits;
  /**
   * Called once everything for the connection has been written (default:
   * end the writable); the connection counts as finished when its promise
   * settles (a socket: once it has closed).
   */
  readonly finish?: (outcome: ConnectionOutcome) => void | Promise<void>;
}

/** End a finished connection: its `finish` (awaited, never rejecting), else end the writable. */
export const finishEnds = async (ends: ConnectionEnds, outcome: ConnectionOutcome): Promise<void> => {
  if (ends.finish !== undefined) await Promise.resolve(ends.finish(outcome)).catch(() => undefined);
  else if (!ends.writable.writableEnded) ends.writable.end();
};

/** Byte accounting of the forwarding between the main thread and the workers (what a benchmark reports as copies). */
export interface ForwardingCounters {
  /** Request bytes (main -> worker) copied once into a fresh buffer before transfer (chunks sharing a pooled buffer). */
  copied: number;
  /** Request bytes (main -> worker) whose buffer was transferred as is. */
  transferred: number;
  /**
   * Response bytes (worker -> main). The worker gathers each write's chunks
   * into one fresh buffer (one copy, made on the worker thread: the chunks
   * may be cached headers or the handler's own arrays) and transfers it; the
   * main thread writes it to the socket as is.
   */
  gathered: number;
}

/** Control of one forwarded connection. */
export interface ForwardedConnection {
  /** Answer what was received, then stop reading. */
  drain(): void;
  /** Interrupt whatever is still running with a typed error. */
  shutdown(detail: string): void;
  /** Settles when the connection is finished (never rejects). */
  readonly done: Promise<ConnectionOutcome>;
}

/** The error stream a client gets when the worker serving its connection dies: WorkerCrashedError with `error`. */
export const workerCrashedStream = (serverId: string, error: string): Uint8Array => {
  const out: Uint8Array[] = [];
  writeErrorStream(out, emptySchema(), toWireError(RpcError.of('WorkerCrashedError', error)), { serverId, requestId: undefined });
  return concatBytes(out);
};

/**
 * What both relay hops keep on the main thread for one connection: the
 * control port pair (port2 goes to the worker with the task), the peer
 * probe, the outcome, the 'gone' reports of either end, and the drain and
 * shutdown controls. `release` stops the hop's own flow when the
 * connection finishes (it runs once, before the ends are finished).
 */
export const relayedConnection = (ends: ConnectionEnds, refuse: string | undefined, release: () => void) => {
  const { port1, port2 } = new MessageChannel();
  const { readable, writable } = ends;
  const control = (m: ToWorker): void => { try { port1.postMessage(m); } catch { /* port closed */ } };
  let finished = false;
  let resolveDone: (o: ConnectionOutcome) => void = () => {};
  const done = new Promise<ConnectionOutcome>((r) => { resolveDone = r; });
  const probe = PeerProbe.of(writable, ends.transportKind);
  const finish = (outcome: ConnectionOutcome): void => {
    if (finished) return;
    finished = true;
    probe?.stop();
    release();
    port1.close();
    void finishEnds(ends, outcome).then(() => resolveDone(outcome));
  };
  const gone = (detail: string): void => control({ t: 'gone', detail });
  readable.once('error', (e: Error) => gone(`${e.name}: ${e.message}`));
  writable.once('error', (e: Error) => gone(`${e.name}: ${e.message}`));
  writable.once('close', () => { if (!writable.writableFinished) gone('the connection closed'); });
  // Requests the kernel already holds for this connection were sent before the drain: forward them first.
  const drainAfterPoll = (): void => void afterNextPoll().then(() => control({ t: 'drain' }));
  const forwarded: ForwardedConnection = { drain: drainAfterPoll, shutdown: (detail) => control({ t: 'shutdown', detail }), done };
  return {
    port1, port2, control, probe, finish, forwarded,
    /** True once the connection finished. */
    isFinished: (): boolean => finished,
    /** Call once the task is handed to the worker: a refused connection starts draining at once. */
    started: (): void => { if (refuse !== undefined) drainAfterPoll(); },
  };
};

/**
 * Forward one connection to a worker of `pool`. `serverId` stamps the error
 * sent if the worker dies; `refuse`: it reached a draining server (see
 * ByteConnection.refuse).
 */
export const forwardToWorker = (pool: WorkerPool, ends: ConnectionEnds, serverId: string, counters?: ForwardingCounters, refuse?: string): ForwardedConnection => {
  const { readable, writable } = ends;
  const relay = relayedConnection(ends, refuse, () => readable.off('data', onData));
  const { port1, port2, control, probe, finish } = relay;
  const send = (bytes: Uint8Array): boolean => writable.write(probe === undefined ? bytes : probe.settleOne(bytes));
  // Socket reads are allocated per read and referenced by nothing else: their buffers can be transferred.
  const ownsChunks = readable instanceof Socket;
  const onData = (chunk: Buffer): void => postBytes(port1, chunk, ownsChunks, counters);
  readable.on('data', onData);
  readable.once('end', () => control({ t: 'end' }));
  let congested = false;
  port1.on('message', (m: Uint8Array | ToMain) => {
    if (m instanceof Uint8Array) {
      if (counters !== undefined) counters.gathered += m.byteLength;
      if (writable.destroyed) return;
      if (!send(m) && !congested) {
        congested = true;
        control({ t: 'congested' });
        writable.once('drain', () => {
          congested = false;
          control({ t: 'drained' });
        });
      }
      return;
    }
    switch (m.t) {
      case 'pause': readable.pause(); return;
      case 'resume': readable.resume(); return;
      case 'probe': probe?.check(); return;
      case 'done':
        // The worker already logged an abnormal end.
        finish(m.error === undefined ? {} : { error: m.error });
        return;
    }
  });
  pool.run({ port: port2 as never, transportKind: ends.transportKind, label: ends.label, ...(refuse === undefined ? {} : { refuse }) }).then(
    () => {
      // The worker resolved its task; its final 'done' message may still be in flight on the port.
      setTimeout(() => finish({}), 1_000).unref();
    },
    (e: unknown) => {
      if (relay.isFinished()) return;
      const cause = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      const error = `the worker thread serving this connection died: ${cause}`;
      diagnostic('error')(`vgi-rpc: ${ends.label}: ${error}; closing the connection`);
      if (!writable.destroyed) send(workerCrashedStream(serverId, error));
      readable.destroy();
      finish({ error });
    },
  );
  relay.started();
  return relay.forwarded;
};
