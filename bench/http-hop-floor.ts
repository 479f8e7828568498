/**
 * The floor of a resume that crosses threads: the bare uWS echo on two
 * worker threads that share one port (SO_REUSEPORT, the kernel spreads the
 * connections, as the runtime's listening workers do), where a request
 * carrying a `VGI-Session` token belongs to one of the two threads (by the
 * token's last character) and is echoed by that thread: a request that
 * arrives at the other one travels there over a MessagePort and its answer
 * comes back the same way. With tokens rotated over the connections, about
 * half the requests cross, as rotated sticky resumes do. There is no
 * vgi-rpc code on the path: what this row costs above the plain echo is the
 * two thread wake-ups and the two structured clones of a cross-thread hop,
 * which no runtime that keeps a session on one thread can avoid.
 *
 * `--work-us N` spins N µs on the thread that answers each request (about
 * what a vgi-rpc call costs its worker), so that the floor can be compared
 * with a server whose threads are sometimes busy when a hop arrives: with
 * tokens, and without (no request crosses).
 *
 *   node dist/bench/http-hop-floor.js [--work-us N]    (prints `HTTP hop <port>`; SIGTERM stops it)
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { HttpHandler, HttpReply } from '../transports/http/engine.js';
import { freePort } from '../transports/http/shared-port.js';
import { type UwsListener, listenUws } from '../transports/http/uws-engine.js';
import { startUntilLine } from './http-echo.js';

const EMPTY = new Uint8Array(0);
const HEADERS: ReadonlyArray<readonly [string, string]> = [['content-type', 'application/octet-stream']];

/** What a worker is told at start: its index (0 or 1), its end of the link to the other one, and the work per request. */
interface HopWorkerData {
  readonly index: number;
  readonly link: MessagePort;
  readonly workUs: number;
}

/** Spin `us` µs (a handler's work, on the thread that answers). */
const spin = (us: number): void => {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
};

/** A request handed to the other thread, and its answer. */
interface Hop {
  readonly id: number;
  readonly body: Uint8Array;
}

const runWorker = async ({ index, link, workUs }: HopWorkerData): Promise<void> => {
  const waiting = new Map<number, (r: HttpReply) => void>();
  let nextId = 0;
  link.on('message', (m: Hop & { readonly answer?: true }) => {
    if (m.answer === true) {
      const resolve = waiting.get(m.id);
      waiting.delete(m.id);
      resolve?.({ status: 200, headers: HEADERS, body: [m.body] });
    } else {
      spin(workUs);
      link.postMessage({ id: m.id, body: m.body, answer: true });
    }
  });
  const handler: HttpHandler = (request) => {
    const body = request.body ?? EMPTY;
    const token = request.headers.get('vgi-session');
    if (token === undefined || token.length === 0 || (token.charCodeAt(token.length - 1) & 1) === index) {
      spin(workUs);
      return { status: 200, headers: HEADERS, body: [body] };
    }
    const id = ++nextId;
    return new Promise<HttpReply>((resolve) => {
      waiting.set(id, resolve);
      link.postMessage({ id, body } satisfies Hop);
    });
  };
  let listener: UwsListener | undefined;
  parentPort!.on('message', async (command: number | 'close') => {
    if (command === 'close') {
      // Closed in this turn: a uWS socket still open when its thread's loop closes aborts the process.
      listener?.closeNow();
      link.close();
      parentPort!.close();
      return;
    }
    listener = await listenUws({ host: '127.0.0.1', port: command, maxBodyBytes: 1024 * 1024, handler, sharedPort: true });
    parentPort!.postMessage(listener.port);
  });
};

const runMain = async (workUs: number): Promise<void> => {
  const { port1, port2 } = new MessageChannel();
  const workers = [port1, port2].map((link, index) =>
    new Worker(fileURLToPath(import.meta.url), { workerData: { index, link, workUs } satisfies HopWorkerData, transferList: [link] }));
  const listen = (w: Worker, port: number): Promise<number> => new Promise((resolve) => {
    w.once('message', resolve);
    w.postMessage(port);
  });
  // uWS cannot share a port the kernel picked for it: a free port is picked first, then both take it.
  const port = await freePort('127.0.0.1');
  await listen(workers[0]!, port);
  await listen(workers[1]!, port);
  process.stdout.write(`HTTP hop ${port}\n`);
  process.on('SIGTERM', () => {
    for (const w of workers) w.postMessage('close');
    void Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r)))).then(() => process.exit(0));
  });
};

/** Start the hop floor's server process (`workUs` µs of work per request); resolves with it and its port once both threads listen. */
export const startHopFloor = async (workUs = 0): Promise<{ child: ChildProcess; port: number }> => {
  const { child, match } = await startUntilLine([fileURLToPath(import.meta.url), '--work-us', String(workUs)], /^HTTP hop (\d+)$/, 'the hop floor server');
  return { child, port: Number(match[1]) };
};

if (!isMainThread && (workerData as Partial<HopWorkerData> | undefined)?.link !== undefined) {
  await runWorker(workerData as HopWorkerData);
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--work-us');
  const workUs = at < 0 ? 0 : Number(process.argv[at + 1]);
  if (!Number.isFinite(workUs) || workUs < 0) {
    process.stderr.write('usage: http-hop-floor.js [--work-us N]\n');
    process.exit(2);
  }
  await runMain(workUs);
}
