/**
 * The worker side of `accept: 'workers'`: a worker that is handed its own
 * descriptor of the server's listening socket accepts connections on it and
 * serves them on its own thread, with no main-thread hop for any byte. It
 * accepts only while it owns no more connections than the least loaded live
 * worker (the shared balance table), pausing its listener otherwise; on
 * drain it closes its descriptor, lets its connections finish and reports
 * idle.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import { type HubToWorker, type WorkerToHub, CHANGES, SEQUENCE, acceptChannelName, announceChange, mayAccept } from './accept-channel.js';
import { workerCrashedStream } from '../../runtime/connection-bridge.js';
import { type InThreadConnection, serveInThread } from '../../runtime/in-thread.js';
import { diagnostic } from '../../runtime/diagnostics.js';
import { connectionLabel, socketEnds } from './socket-ends.js';
import { closeWhenQuiet } from '../../runtime/quiet-close.js';
import { refusalOf } from '../../runtime/drain-refusal.js';

type ListenOrder = Extract<HubToWorker, { t: 'listen' }>;

/** `Atomics.waitAsync` (Node 16+; ES2024 in TypeScript's library, newer than ours). */
const waitAsync = (Atomics as unknown as {
  waitAsync(cells: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** A listening handle's read switch: on a listening socket it turns accepting on and off without closing it. */
interface ReadSwitch {
  readStart(): number;
  readStop(): number;
}

/** Pause or resume accepting on `server`, keeping its descriptor open. */
const setAccepting = (server: Server, on: boolean): void => {
  const handle = (server as unknown as { _handle?: ReadSwitch | null })._handle;
  if (handle === undefined || handle === null) return;
  // readStart on a listening handle (re)arms its accept watcher; readStop disarms it. The
  // first call of a pause arms the switch so that readStop has something to stop.
  handle.readStart();
  if (!on) handle.readStop();
};

/** Answer the main thread's accept orders for this worker's `dispatcher`. */
export const acceptInWorker = (dispatcher: Dispatcher, serverId: string): void => {
  const channel = new BroadcastChannel(acceptChannelName(serverId));
  const post = (m: WorkerToHub): void => channel.postMessage(m);
  /** This worker's connections, by socket. */
  const live = new Map<Socket, InThreadConnection>();
  let server: Server | undefined;
  let draining = false;
  let farewellSaid = false;

  // If this thread dies (an uncaught throw, process.exit), its clients get one typed error naming the
  // cause before the thread's sockets close, as the relay's clients do. The writes are attempted at
  // once (an empty socket queue writes synchronously); a heap overflow leaves no chance to.
  const farewell = (cause: string): void => {
    if (farewellSaid || live.size === 0) return;
    farewellSaid = true;
    const error = `the worker thread serving this connection died: ${cause}`;
    diagnostic('error')(`vgi-rpc: worker ${threadId}: ${error}; closing its ${live.size} connection(s)`);
    const bytes = workerCrashedStream(serverId, error);
    for (const c of live.values()) c.farewell(bytes);
  };
  process.on('uncaughtExceptionMonitor', (e: Error) => farewell(`${e.name}: ${e.message}`));
  process.on('exit', (code) => farewell(`the thread exited with code ${code}`));

  /** True once this worker accepts no more (it never had a listener, or it was closed). */
  let listenerGone = true;
  let listenerClosing = false;
  /** Set once calls are being interrupted: connections accepted later are interrupted too. */
  let interrupting: string | undefined;
  const reportIdleWhenDone = (): void => {
    if (draining && listenerGone && live.size === 0) post({ t: 'idle', tid: threadId });
  };

  /**
   * Stop accepting without resetting anyone (see closeWhenQuiet): accepting
   * is re-armed whatever the balance says, queued connections are accepted
   * (served like any other; drained if the server drains), and this worker's
   * descriptor closes once no worker has accepted one for a moment.
   */
  const stopListening = (): void => {
    const net = server;
    if (net === undefined || listenerClosing) return;
    listenerClosing = true;
    if (!net.listening || accepted === undefined) {
      listenerGone = true;
      reportIdleWhenDone();
      return;
    }
    setAccepting(net, true);
    void closeWhenQuiet(() => net.close(), accepted).then(() => {
      listenerGone = true;
      reportIdleWhenDone();
    });
  };
  /** Connections accepted by all the workers so far (the shared sequence). */
  let accepted: (() => number) | undefined;

  const listen = (order: ListenOrder): void => {
    if (server !== undefined || draining) return;
    const cells = new Int32Array(order.table);
    accepted = () => Atomics.load(cells, SEQUENCE);
    const net = createServer({ allowHalfOpen: true });
    server = net;
    listenerGone = false;
    let accepting = true;
    let waiting = false;
    const rebalance = (): void => {
      if (draining || listenerClosing) return;
      const ok = mayAccept(cells, order.slot);
      if (ok !== accepting) {
        accepting = ok;
        setAccepting(net, ok);
      }
      if (!accepting && !waiting) {
        // Paused: look again whenever any worker's count changes.
        waiting = true;
        const seen = Atomics.load(cells, CHANGES);
        const wake = (): void => { waiting = false; rebalance(); };
        const w = waitAsync(cells, CHANGES, seen);
        if (w.async) void (w.value as Promise<string>).then(wake);
        else queueMicrotask(wake);
      }
    };
    net.on('connection', (socket: Socket) => {
      Atomics.add(cells, order.slot, 1);
      announceChange(cells);
      const label = connectionLabel(order.transportKind, Atomics.add(cells, SEQUENCE, 1) + 1, socket);
      // Accepted while draining (the kernel queued it before the listener closed): refused, see drain-refusal.
      const refuse = refusalOf(draining, interrupting);
      const c = serveInThread(dispatcher, socketEnds(socket, order.transportKind, label, order.limits), refuse);
      live.set(socket, c);
      void c.done.then(() => {
        live.delete(socket);
        Atomics.sub(cells, order.slot, 1);
        announceChange(cells);
        if (draining) reportIdleWhenDone();
        else rebalance();
      });
      rebalance();
    });
    net.on('error', (e: Error) => {
      if (!net.listening) {
        server = undefined;
        listenerGone = true;
        post({ t: 'failed', tid: threadId, error: e.message });
        return;
      }
      diagnostic('error')(`vgi-rpc: worker ${threadId} listener: ${e.message}`);
    });
    net.listen({ fd: order.fd }, () => {
      post({ t: 'listening', tid: threadId });
      rebalance();
    });
  };

  channel.onmessage = (event: unknown) => {
    const m = (event as { data: HubToWorker }).data;
    switch (m.t) {
      case 'offer':
        if (server === undefined && !draining) post({ t: 'want', tid: threadId });
        return;
      case 'listen':
        if (m.tid === threadId) listen(m);
        return;
      case 'stop':
        stopListening();
        return;
      case 'drain':
        if (draining) return;
        draining = true;
        for (const c of live.values()) c.drain();
        stopListening();
        reportIdleWhenDone();
        return;
      case 'shutdown':
        interrupting ??= m.detail;
        for (const c of live.values()) c.shutdown(m.detail);
        return;
    }
  };
  // The pool keeps the worker alive; the channel must not.
  channel.unref();
  post({ t: 'want', tid: threadId });
};
