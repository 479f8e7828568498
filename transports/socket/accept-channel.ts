/**
 * The contract between the main thread and worker threads that accept
 * socket connections themselves (`accept: 'workers'`): messages on a
 * BroadcastChannel named per server, and the shared balance table.
 *
 * The main thread binds the listener, hands each worker its own descriptor
 * of it, and stays out of the data path: bytes go from the kernel to the
 * worker that owns the connection and back. Workers balance accepting
 * through a table in a SharedArrayBuffer: a worker accepts only while it
 * owns no more open connections than the least loaded live worker, so
 * connections spread evenly without any per-connection message.
 */
import type { TransportKind } from '../../src/service/call-context.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';

/** The channel name for one server. */
export const acceptChannelName = (serverId: string): string => `vgi-rpc:accept:${serverId}`;

/** Messages from a worker to the main thread. */
export type WorkerToHub =
  /** The worker booted (or was offered a listener) and can accept. */
  | { readonly t: 'want'; readonly tid: number }
  /** The worker accepts on the descriptor it was given. */
  | { readonly t: 'listening'; readonly tid: number }
  /** The worker could not listen on the descriptor. */
  | { readonly t: 'failed'; readonly tid: number; readonly error: string }
  /** After a drain: the worker's last connection is finished. */
  | { readonly t: 'idle'; readonly tid: number };

/** Messages from the main thread to the workers. */
export type HubToWorker =
  /** A listener exists: workers without one answer `want`. */
  | { readonly t: 'offer' }
  /** Worker `tid`: accept on descriptor `fd`, owning balance slot `slot`. */
  | {
      readonly t: 'listen';
      readonly tid: number;
      readonly fd: number;
      readonly slot: number;
      readonly table: SharedArrayBuffer;
      readonly transportKind: TransportKind;
      readonly limits?: ReaderLimits;
    }
  /** Stop accepting (close the worker's descriptor); connections go on. */
  | { readonly t: 'stop' }
  /** Stop accepting; answer what was received on every connection, then report `idle`. */
  | { readonly t: 'drain' }
  /** Interrupt whatever is still running with a typed error. */
  | { readonly t: 'shutdown'; readonly detail: string };

/**
 * Balance table slots: one per worker. After them come a change counter
 * that wakes paused workers (CHANGES) and the connection sequence number
 * that names connections in log lines (SEQUENCE).
 */
export const MAX_ACCEPT_SLOTS = 256;

/** A slot whose worker is gone (ignored by the balance). */
export const DEAD_SLOT = -1;

/** A new balance table with every slot free. */
export const newBalanceTable = (): SharedArrayBuffer => {
  const table = new SharedArrayBuffer(4 * (MAX_ACCEPT_SLOTS + 2));
  new Int32Array(table).fill(DEAD_SLOT, 0, MAX_ACCEPT_SLOTS);
  return table;
};

/** The change counter's index. */
export const CHANGES = MAX_ACCEPT_SLOTS;

/** The connection sequence's index. */
export const SEQUENCE = MAX_ACCEPT_SLOTS + 1;

/** Record a change in the table and wake the workers waiting on it. */
export const announceChange = (cells: Int32Array): void => {
  Atomics.add(cells, CHANGES, 1);
  Atomics.notify(cells, CHANGES);
};

/** True when `slot` owns no more connections than the least loaded live slot. */
export const mayAccept = (cells: Int32Array, slot: number): boolean => {
  const mine = Atomics.load(cells, slot);
  for (let i = 0; i < MAX_ACCEPT_SLOTS; i++) {
    const n = Atomics.load(cells, i);
    if (n !== DEAD_SLOT && n < mine) return false;
  }
  return true;
};
