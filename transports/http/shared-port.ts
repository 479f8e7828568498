/**
 * `listeners: 'workers'`, the main thread's part: every worker listens on
 * the server's port itself (uWebSockets.js with SO_REUSEPORT; the kernel
 * spreads connections among them) and runs the whole front end (see
 * worker-listener.ts), so no request crosses the main thread. The main
 * thread orders the listening (port 0: it picks a free port first, since
 * uWS cannot share a port the kernel picked for it; a given port is probed
 * exclusively first), starts a replacement's listener when a worker died, brokers the worker-to-worker links a continuation travels on to the
 * worker holding its stream, tells the workers who is alive, flips the
 * drain switches on every worker, and on a drain makes each stop listening
 * once its requests are answered (a uWS socket still open when a worker's
 * loop closes would abort the process); a process that exits while they
 * listen has them close their sockets first, in its 'exit' event.
 */
import { createServer } from 'node:net';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { WorkerPool } from '../../runtime/worker-pool.js';
import type { HttpListener } from './engine.js';
import type { FrontEndSettings } from './front-end-settings.js';
import { HTTP_TASKS, type HttpTaskPayload } from './http-worker.js';
import { everyWorker, liveSessions } from './worker-forwarder.js';
import type { ControlToMain, ControlToWorker, ListenOrder } from './worker-listener.js';

/** The workers' listeners, seen from the main thread. */
export interface WorkerListeners extends HttpListener {
  /** Refuse new sticky sessions and answer readiness 503 on every worker (`on`), or undo it. */
  setDraining(on: boolean): Promise<void>;
  /** Sticky sessions the workers hold. */
  openSessions(): Promise<number>;
  /** Release every sticky session the workers hold, now (the drain handle's shutdown). */
  closeSessions(): Promise<void>;
  /** Whether a drain (or the test drain switch) is on. */
  readonly draining: boolean;
  /** Stop listening at once on every worker (the drain's grace period is over, or the process exits now); resolves once they have. */
  closeNow(): Promise<void>;
}

/**
 * Make every worker of `pool` listen on host:port with its own front end;
 * resolves once all listen. `testDrain`: what a worker's test drain switch
 * does (every worker's sessions; see FrontEndOptions.testDrain).
 */
export const listenInWorkers = async (
  pool: WorkerPool,
  host: string,
  port: number,
  front: FrontEndSettings,
  testDrain: (on: boolean) => Promise<void>,
): Promise<WorkerListeners> => {
  const task = (threadId: number, payload: HttpTaskPayload, transfer: readonly MessagePort[] = []): Promise<unknown> =>
    pool.runTask(threadId, { transport: HTTP_TASKS, payload }, transfer);
  const controls = new Map<number, MessagePort>();
  const inFlight = new SharedArrayBuffer(4);
  const counter = new Int32Array(inFlight);
  const exitAck = new SharedArrayBuffer(4);
  let closing = false;
  let draining = false;
  let bound = port;

  const broadcast = (m: ControlToWorker): void => {
    for (const c of controls.values()) c.postMessage(m);
  };
  const start = async (threadId: number, at: number): Promise<number> => {
    const { port1, port2 } = new MessageChannel();
    controls.set(threadId, port1);
    port1.on('message', (m: ControlToMain) => {
      if (m.op === 'link') {
        // The other worker answers this worker's requests on the link as it answers the forwarder's.
        task(m.threadId, { op: 'link', threadId: m.threadId, port: m.port }, [m.port]).catch((e: unknown) =>
          port1.postMessage({ op: 'linkFailed', threadId: m.threadId, error: e instanceof Error ? e.message : String(e) } satisfies ControlToWorker));
      } else {
        void testDrain(m.on).finally(() => port1.postMessage({ op: 'testDrained', id: m.id } satisfies ControlToWorker));
      }
    });
    port1.unref();
    const order: ListenOrder = { host, port: at, front, control: port2, live: pool.liveWorkers, inFlight, exitAck };
    try {
      return (await task(threadId, { op: 'listen', order }, [port2])) as number;
    } catch (e) {
      if (controls.get(threadId) === port1) controls.delete(threadId);
      port1.close();
      throw e;
    }
  };

  pool.onWorkerExit((threadId) => {
    const c = controls.get(threadId);
    controls.delete(threadId);
    c?.close();
    broadcast({ op: 'exited', threadId });
  });
  // A replacement listens again (its predecessor's listener died with it), and the others learn of it.
  pool.onWorkerStart((threadId) => {
    if (closing) return;
    // The others learn of it before it listens: a token it mints on a connection it accepts can reach
    // another worker at once, which must know where to send it (its link needs no listener).
    broadcast({ op: 'workers', live: pool.liveWorkers });
    void start(threadId, bound).then(
      async () => {
        // A replacement started during a drain drains too (readiness 503, no new sessions).
        if (draining) await task(threadId, { op: 'draining', on: true });
      },
      () => undefined,
    ).catch(() => undefined);
  });

  const [first, ...rest] = pool.liveWorkers;
  if (first === undefined) throw new Error('no worker is running');
  try {
    if (port !== 0) {
      // SO_REUSEPORT would let the workers join another server already listening there with it (a
      // second instance of this one): an exclusive probe first makes a busy port fail as it should.
      await probePort(host, port);
      bound = await start(first, port);
    } else {
      // uWS does not share a port it was asked to pick (port 0 with SO_REUSEPORT): the port is picked
      // here, and picked again if another process took it in between.
      for (let attempt = 1; ; attempt++) {
        try {
          bound = await start(first, await freePort(host));
          break;
        } catch (e) {
          if (attempt >= 5) throw e;
        }
      }
    }
    await Promise.all(rest.map((t) => start(t, bound)));
  } catch (e) {
    closing = true;
    await Promise.all([...controls.keys()].map((t) => task(t, { op: 'unlisten', now: true }).catch(() => undefined)));
    throw e;
  }
  broadcast({ op: 'workers', live: pool.liveWorkers });

  // The listening sockets are the workers': this keeps the process alive while they serve, as the
  // main thread's own listener would (a process that exits with uWS open in a worker aborts).
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  // A process that exits while they listen (process.exit, an uncaught exception) would abort in Node's
  // teardown of each worker: the main thread stops them listening first, waiting a bounded time.
  const onExit = (): void => {
    if (closing) return;
    closing = true;
    stopListeningForExit(controls, exitAck);
  };
  process.once('exit', onExit);
  /** Closing by the server's own drain or halt: no replacement listens again, and the exit need not wait. */
  const beginClose = (): void => {
    closing = true;
    process.off('exit', onExit);
  };
  let closed: Promise<void> | undefined;
  return {
    engine: 'uws',
    port: bound,
    get inFlight() { return Atomics.load(counter, 0); },
    close: () => (closed ??= (async () => {
      beginClose();
      await everyWorker(pool, { op: 'unlisten', now: false });
      clearInterval(keepAlive);
    })()),
    closeNow: async () => {
      beginClose();
      await everyWorker(pool, { op: 'unlisten', now: true });
      clearInterval(keepAlive);
    },
    setDraining: async (on) => {
      draining = on;
      await everyWorker(pool, { op: 'draining', on });
    },
    openSessions: () => liveSessions(pool),
    closeSessions: async () => {
      await everyWorker(pool, { op: 'closeSessions' });
    },
    get draining() { return draining; },
  };
};

/** How long a process exit waits for the workers to stop listening, ms. */
const EXIT_CLOSE_MS = 1_000;

/**
 * Tell every worker the process exits now and block (this thread is in its
 * 'exit' event: nothing asynchronous runs any more) until each has stopped
 * listening, or EXIT_CLOSE_MS has passed.
 */
const stopListeningForExit = (controls: ReadonlyMap<number, MessagePort>, exitAck: SharedArrayBuffer): void => {
  const cell = new Int32Array(exitAck);
  const expected = controls.size;
  for (const c of controls.values()) c.postMessage({ op: 'exitNow' } satisfies ControlToWorker);
  const deadline = performance.now() + EXIT_CLOSE_MS;
  for (let seen = Atomics.load(cell, 0); seen < expected; seen = Atomics.load(cell, 0)) {
    const left = deadline - performance.now();
    if (left <= 0) return;
    Atomics.wait(cell, 0, seen, left);
  }
};

/** Bind host:port exclusively and let it go again: the port a free one (port 0: the kernel's pick); rejects when it is in use. */
const probePort = (host: string, port: number): Promise<number> => new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', (e: NodeJS.ErrnoException) =>
    reject(new Error(`uWebSockets.js could not listen on ${host}:${port} (${e.code === 'EADDRINUSE' ? 'address in use' : e.message})`)));
  probe.listen(port, host, () => {
    const address = probe.address();
    probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
  });
});

/** A port free on `host` right now (the kernel's pick). */
export const freePort = (host: string): Promise<number> => probePort(host, 0);
