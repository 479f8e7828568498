import type { ByteConnection } from '../src/protocol/byte-connection.js';
import type { ServerLogLevel } from '../src/protocol/call-log.js';
import type { SabChannel } from './sab-channel.js';

/**
 * The main <-> worker message contract for one connection, carried on a
 * MessagePort of its own. Byte chunks travel as Uint8Arrays whose buffers
 * are transferred, never cloned; everything else is a small tagged object.
 */

/** Control messages from the main thread to the worker serving a connection. */
export type ToWorker =
  | { readonly t: 'end' }
  | { readonly t: 'gone'; readonly detail: string }
  | { readonly t: 'drain' }
  | { readonly t: 'shutdown'; readonly detail: string }
  | { readonly t: 'congested' }
  | { readonly t: 'drained' };

/** Control messages from the worker back to the main thread. */
export type ToMain =
  | { readonly t: 'pause' }
  | { readonly t: 'resume' }
  /** The input ended while a handler runs: check whether the peer can still read (see PeerProbe). */
  | { readonly t: 'probe' }
  /** The worker is done with the connection; `error` explains an abnormal end. */
  | { readonly t: 'done'; readonly error?: string };

/** The task a connection is handed to a worker as. */
export interface ConnectionTask {
  /** Byte chunks and control messages; only control messages when `sab` carries the bytes. */
  readonly port: MessagePort;
  /** The relay's SAB hop (see sab-relay.ts): the connection's bytes travel over this channel (the worker holds side `b`). */
  readonly sab?: SabChannel;
  readonly transportKind: 'pipe' | 'unix' | 'tcp' | 'http';
  /** Names the connection in log lines. */
  readonly label: string;
  /** Set when the connection reached a draining server (see ByteConnection.refuse). */
  readonly refuse?: string;
}

/** What the pool hands every worker when it starts (piscina's `workerData`). */
export interface WorkerData {
  /** The worker module's file URL, which the worker loader (worker-loader.cts) imports. */
  readonly module: string;
  /** The server id every worker stamps (one server, many threads). */
  readonly serverId: string;
  /** The server log's level (the runtime's `logLevel`), when one was given. */
  readonly logLevel?: ServerLogLevel;
  /** Per-transport settings for the transports' worker-side parts (e.g. the HTTP routes' options), by transport name. */
  readonly transports?: Readonly<Record<string, unknown>>;
}

/**
 * A request/response task for a transport's worker-side part (one HTTP
 * request, an abort), addressed to the worker that owns it. Its result
 * comes back as the task's answer.
 */
export interface TransportTask {
  /** The transport whose worker-side handler takes it (see WorkerHook). */
  readonly transport: string;
  readonly payload: unknown;
}

/** Every task a worker takes: a readiness ping, a connection, or a transport's request. */
export type WorkerTask = ConnectionTask | TransportTask | { readonly ping: true };

/** What a worker reports when asked for its state. */
export interface WorkerStats {
  readonly threadId: number;
  readonly connections: number;
  readonly runningCalls: number;
}

/**
 * Post a byte chunk. Its buffer is transferred when the caller vouches that
 * nothing else references it (`owned`, e.g. a socket read, which Node
 * allocates per read) and the chunk spans all of it; otherwise it is copied
 * once into a fresh buffer that is transferred.
 */
export const postBytes = (
  port: { postMessage(v: unknown, transfer?: readonly ArrayBuffer[]): void },
  chunk: Uint8Array,
  owned: boolean,
  counters?: { copied: number; transferred: number },
): void => {
  const whole = owned && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.byteLength && !(chunk.buffer instanceof SharedArrayBuffer);
  // Uint8Array's slice copies (a Buffer's slice would be a view of the same memory).
  const out = whole ? chunk : Uint8Array.prototype.slice.call(chunk);
  if (counters !== undefined) {
    if (whole) counters.transferred += chunk.byteLength;
    else counters.copied += chunk.byteLength;
  }
  port.postMessage(out, [out.buffer as ArrayBuffer]);
};

/** A Worker-side MessagePort type without importing worker_threads in callers. */
export type MessagePort = import('node:worker_threads').MessagePort;

/**
 * The byte connection a relayed connection task is served as, in its
 * worker: `parts` plus the task's transport kind and refusal, and, for
 * sockets, a peer check that asks the main thread (which holds the socket)
 * to probe the peer (see PeerProbe).
 */
export const relayedByteConnection = (
  task: ConnectionTask,
  parts: Pick<ByteConnection, 'frames' | 'write' | 'closed' | 'drain' | 'shutdown'>,
  send: (m: ToMain) => void,
): ByteConnection => ({
  ...parts,
  transportKind: task.transportKind,
  ...(task.transportKind === 'unix' || task.transportKind === 'tcp' ? { checkPeer: () => send({ t: 'probe' }) } : {}),
  ...(task.refuse === undefined ? {} : { refuse: task.refuse }),
});

/**
 * What the main thread's control messages tell a relayed connection in its
 * worker, as the promises a ByteConnection reads (`closed`, `drain`,
 * `shutdown`), with `take` to feed them each control message.
 */
export const connectionSignals = (): {
  readonly closed: Promise<string>;
  readonly drain: Promise<void>;
  readonly shutdown: Promise<string>;
  /** The peer is gone (also for the hop's own failures). */
  gone(detail: string): void;
  /** Feed one control message; true when it was one of these three. */
  take(m: ToWorker): boolean;
} => {
  let gone: (d: string) => void = () => {};
  let drained: () => void = () => {};
  let shut: (d: string) => void = () => {};
  const closed = new Promise<string>((r) => { gone = r; });
  const drain = new Promise<void>((r) => { drained = r; });
  const shutdown = new Promise<string>((r) => { shut = r; });
  return {
    closed, drain, shutdown,
    gone: (detail) => gone(detail),
    take: (m) => {
      if (m.t === 'gone') gone(m.detail);
      else if (m.t === 'drain') drained();
      else if (m.t === 'shutdown') shut(m.detail);
      else return false;
      return true;
    },
  };
};
