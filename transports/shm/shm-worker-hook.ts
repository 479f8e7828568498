/**
 * The WorkerHook of the in-process `shm` transport: every pool worker
 * answers `shm` tasks, each one a connection whose bytes travel over the
 * SAB channel in the task (see shm-server.ts for the main thread's part).
 * The task settles with the connection's outcome once it is finished; the
 * task's MessagePort carries the runtime's drain and shutdown to it.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import type { ReaderLimits } from '../../src/wire/stream-reader.js';
import type { TransportTaskHandler } from '../../runtime/worker-entry.js';
import type { SabChannel } from '../../runtime/sab-channel.js';
import { serveShmChannel } from './shm-connection.js';

/** The transport name of `shm` tasks. */
export const SHM_TASKS = 'shm';

/** One `shm` task: the channel to serve, its label, and the control port. */
export interface ShmTask {
  readonly channel: SabChannel;
  readonly label: string;
  readonly control: MessagePort;
  readonly limits?: ReaderLimits;
}

/** Control messages the main thread sends on a task's port. */
export type ShmControl = { readonly t: 'drain' } | { readonly t: 'shutdown'; readonly detail: string };

/** Serve `shm` tasks in this worker. */
export const shmInWorker = (dispatcher: Dispatcher): TransportTaskHandler => ({
  transport: SHM_TASKS,
  handle: async (payload) => {
    const task = payload as ShmTask;
    let startDrain: () => void = () => {};
    let startShutdown: (d: string) => void = () => {};
    const drain = new Promise<void>((r) => { startDrain = r; });
    const shutdown = new Promise<string>((r) => { startShutdown = r; });
    task.control.on('message', (m: ShmControl) => (m.t === 'drain' ? startDrain() : startShutdown(m.detail)));
    // The port must not keep the worker alive on its own (the pool does).
    task.control.unref();
    try {
      return await serveShmChannel(dispatcher, task.channel, task.label, { drain, shutdown }, task.limits);
    } finally {
      task.control.close();
    }
  },
});
