/**
 * The conformance suite's connection factory (the reference's
 * `conformance_conn`): every test group is written once against
 * `ConformanceConn` and runs over every transport listed here. A transport
 * that cannot run a test names the reason via `skipReason`.
 *
 * Transports: `memory` (in-process), `subprocess` (the stdio worker, calls
 * on its main thread), `stdio-workers` (the stdio worker with `--workers 1`),
 * `unix` and `tcp` (the worker listening with `--workers 2`, a fresh
 * connection per test), `stdio-workers-sab` and `unix-relay-sab` (the
 * relay's SAB hop, `--hop sab`, stdio and `--accept relay` on unix; a
 * subset of the groups, see SAB_HOP_GROUPS), `http` (the worker with `--http --workers 2
 * --listeners main`, a fresh HTTP client per test), `http-workers` (the same, each worker
 * listening: the default), `http-sab` (the same with `--hop sab`, the SAB_HOP_GROUPS), `shm` (a runtime in the test process with two
 * worker threads, a fresh SharedArrayBuffer channel per test from the test's
 * thread to one of them), `shm-segment` (the stdio worker, our
 * subprocess client owning an 8 MiB shared-memory segment, as the
 * reference's runner does with `ShmSegment.create(8 MiB)`; Linux only).
 * Workers are the compiled
 * `dist/examples/conformance/worker.js`: build first. The README's
 * Transports section says how long each process and connection lives, and
 * why.
 */
import type { ChildProcess } from 'node:child_process';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import * as Layer from 'effect/Layer';
import { Client, RpcConnection, type ClientConnection, type ClientTransport, type TransportKind, httpConnect } from '../../src/index.js';
import type { PromiseClient } from '../../src/client/typed-client.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { spawnFirstLine } from '../support/first-line.js';
import { connectUnix } from '../../transports/unix/unix-client.js';
import { connectTcp } from '../../transports/tcp/tcp-client.js';
import { httpUnaryBridge } from '../support/http-unary-bridge.js';
import type { ClientSegment } from '../../src/client/client-shm.js';
import { createClientSegment, segmentsAvailable } from '../../transports/shm/segments.js';
import { ConformanceService, conformanceLayer } from '../../examples/conformance/service.js';
import { SecondaryLive, SecondaryService } from '../../examples/conformance/secondary.js';
import { type RunningServer, startServer } from '../../transports/serve.js';
import { connectShm } from '../../transports/shm/shm-client.js';
import type { ShmAcceptor } from '../../transports/shm/shm-server.js';

/** One open connection to a conformance server. */
export interface ConformanceConn {
  /** Typed client of ConformanceService. */
  readonly svc: PromiseClient<typeof ConformanceService.methods>;
  /** Typed client of conformance.Secondary.v1 on the same connection. */
  readonly secondary: PromiseClient<typeof SecondaryService.methods>;
  /** The connection (for raw calls). */
  readonly conn: ClientConnection;
  /**
   * The byte transport under it (for adversarial frames; only use it when no
   * client call is in flight). Over HTTP it carries raw unary requests only.
   */
  readonly transport: ClientTransport;
}

/** A way to reach a conformance server. */
export interface ConformanceTransport {
  readonly name: string;
  readonly kind: TransportKind;
  /** Start whatever the transport needs (a worker process, a listener). */
  setup(): Promise<void>;
  /** A connection for one test; connections may be shared by the tests of a group. */
  connect(): Promise<ConformanceConn>;
  /** After each test: close that test's connection, for transports that open one per test. */
  release?(): Promise<void>;
  teardown(): Promise<void>;
  /** Why a test cannot run on this transport, if it cannot. */
  skipReason(feature: 'raw-frames' | 'http-only' | 'kill-worker'): string | undefined;
  /** The groups this transport runs (all when undefined): a lane that checks one layer runs the groups that exercise it. */
  readonly covers?: ReadonlySet<string>;
  /** HTTP only: the server's base URL, and that of a server refusing every RPC with 401 (started on first use). */
  httpUrls?(): Promise<{ readonly baseUrl: string; readonly authBaseUrl: string }>;
}

const open = (transport: ClientTransport, shm?: ClientSegment): ConformanceConn => {
  const conn = new RpcConnection(transport, shm === undefined ? {} : { shm });
  return { svc: Client.promises(ConformanceService, conn), secondary: Client.promises(SecondaryService, conn), conn, transport };
};

/** An HTTP connection; its `transport` carries raw unary requests as HTTP requests (see http-unary-bridge). */
const openHttp = (conn: ClientConnection, baseUrl: string): ConformanceConn =>
  ({ svc: Client.promises(ConformanceService, conn), secondary: Client.promises(SecondaryService, conn), conn, transport: httpUnaryBridge(baseUrl) });

/** In-process: the dispatcher and the client share a thread (the reference's `pipe`). */
const memory = (): ConformanceTransport => {
  let dispatcher: Awaited<ReturnType<typeof makeDispatcher>> | undefined;
  return {
    name: 'memory',
    kind: 'pipe',
    setup: async () => {
      dispatcher = await makeDispatcher([ConformanceService, SecondaryService], Layer.mergeAll(conformanceLayer(), SecondaryLive));
    },
    connect: async () => open(memoryConnect(dispatcher!.dispatcher)),
    teardown: async () => { await dispatcher?.dispose(); },
    skipReason: (f) => (f === 'http-only' ? 'an HTTP-only test' : f === 'kill-worker' ? 'no worker process in-memory' : undefined),
  };
};

const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));

/** Forward a worker's stderr to ours, line by line, tagged with the transport. */
const forwardStderr = (name: string) => (line: string): void => { process.stderr.write(`[${name} server] ${line}\n`); };

/**
 * A spawned worker over stdio; one process per test group, started when the
 * group's first test connects (a group whose tests all skip starts none),
 * its connection shared by the group's tests. `subprocess` is the
 * reference's transport of that name (calls on the worker's main thread);
 * `stdio-workers` places the one connection on a worker thread
 * (`--workers 1`).
 */
const stdioWorker = (name: string, args: readonly string[]): ConformanceTransport => {
  let shared: ConformanceConn | undefined;
  let exited: Promise<number | null> | undefined;
  return {
    name,
    kind: 'pipe',
    setup: async () => {},
    connect: async () => {
      if (shared === undefined) {
        const t = await spawnServer(process.execPath, [WORKER, ...args], { onStderr: forwardStderr(name) });
        exited = t.exited;
        shared = open(t);
      }
      return shared;
    },
    teardown: async () => {
      if (shared === undefined) return;
      await shared.conn.close();
      const code = await exited;
      // stdin ended: the worker exits 0 (2 would mean it hit a framing error it could not recover from).
      if (code !== 0) throw new Error(`the ${name} worker exited with code ${code}`);
    },
    skipReason: (f) => (f === 'http-only' ? 'an HTTP-only test' : undefined),
  };
};

/** Bytes of the `shm-segment` lane's segment: the reference runner's `ShmSegment.create(8 MiB)`. */
export const SHM_LANE_SEGMENT_BYTES = 8 * 1024 * 1024;

/**
 * The `shm-segment` lane's writer threshold, on both sides: every non-empty
 * batch goes through the segment (the reference's own shm tests neutralise
 * the 128 KiB gate the same way), so the whole suite exercises pointers and
 * TestLargeData's payloads (10 KB to 160 KB) cross it.
 */
export const SHM_LANE_MIN_BATCH_BYTES = 0;

/**
 * The stdio worker (calls on its main thread) with our subprocess client
 * owning a shared-memory segment; like `subprocess`, one process per test
 * group. Teardown checks the worker exited 0 and the segment was unlinked.
 */
const shmSegment = (): ConformanceTransport => {
  let shared: ConformanceConn | undefined;
  let exited: Promise<number | null> | undefined;
  let segment: ClientSegment | undefined;
  return {
    name: 'shm-segment',
    kind: 'pipe',
    setup: async () => {},
    connect: async () => {
      if (shared === undefined) {
        const env = { ...process.env, VGI_RPC_SHM_MIN_BATCH_BYTES: String(SHM_LANE_MIN_BATCH_BYTES) };
        const t = await spawnServer(process.execPath, [WORKER], { onStderr: forwardStderr('shm-segment'), env });
        exited = t.exited;
        segment = createClientSegment({ size: SHM_LANE_SEGMENT_BYTES, minBatchBytes: SHM_LANE_MIN_BATCH_BYTES });
        shared = open(t, segment);
      }
      return shared;
    },
    teardown: async () => {
      if (shared === undefined) return;
      await shared.conn.close();
      const code = await exited;
      if (code !== 0) throw new Error(`the shm-segment worker exited with code ${code}`);
      if (existsSync(`/dev/shm/${segment!.channel.name}`)) throw new Error(`segment ${segment!.channel.name} was not unlinked`);
    },
    skipReason: (f) => (f === 'http-only' ? 'an HTTP-only test' : undefined),
  };
};

/** A listening worker process: its discovery line, and how to stop it. */
interface ListeningWorker {
  readonly line: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The drain notice a worker prints when the harness stops it: expected, so not forwarded. */
const DRAIN_NOTICE = /^vgi-rpc: SIGTERM received, draining/;

/** Spawn the worker with `args` and wait for its discovery line on stdout. */
const spawnListening = async (name: string, args: readonly string[]): Promise<ListeningWorker> => {
  const stderr: string[] = [];
  const { child, line, exited } = await spawnFirstLine(WORKER, args, (input) => createInterface({ input }).on('line', (l) => {
    stderr.push(l);
    if (!DRAIN_NOTICE.test(l)) forwardStderr(name)(l);
  }));
  if (line === null) {
    const { code, signal } = await exited;
    throw new Error(`the ${name} worker exited (${code ?? signal}) before listening: ${stderr.join('\n')}`);
  }
  return { line, child, exited };
};

/** One listening worker process, started on first use. */
class SocketServer {
  private worker: Promise<ListeningWorker> | undefined;

  constructor(private readonly name: string, private readonly start: () => Promise<ListeningWorker>) {}

  /** The running worker (started now if it is not). */
  get(): Promise<ListeningWorker> {
    this.worker ??= this.start();
    return this.worker;
  }

  /** SIGTERM the worker, if one was started, and check that its drain exits 0. */
  async stop(): Promise<void> {
    const started = this.worker;
    this.worker = undefined;
    // A worker that never listened has failed the tests that needed it already; there is nothing to stop.
    const w = await started?.catch(() => undefined);
    if (w === undefined) return;
    w.child.kill('SIGTERM');
    const { code, signal } = await w.exited;
    // Every connection is closed by then: the drain has nothing to wait for and the worker exits 0.
    if (code !== 0) throw new Error(`the ${this.name} worker exited with ${code ?? signal} after SIGTERM`);
  }
}

/**
 * How long a socket worker lives. `file` (the default): one process per
 * socket transport per test file, shared by the file's groups and stopped
 * after its last group. `group`: one process per group, like the stdio
 * transports (set `VGI_CONFORMANCE_SOCKET_WORKER_SCOPE=group`). A worker with
 * two threads costs about 1.9 s of CPU to start (each thread loads the
 * runtime and the service); one per group on both socket transports would
 * add about 70 groups × 1.9 s, over a minute of this suite's two-core
 * budget, for no extra coverage: every test opens its own connection either
 * way, and the suite's process-wide state (the cancel probe) is reset by the
 * tests that read it.
 */
const SOCKET_WORKER_SCOPE: 'file' | 'group' = process.env.VGI_CONFORMANCE_SOCKET_WORKER_SCOPE === 'group' ? 'group' : 'file';

let socketDir: string | undefined;
let nextSocket = 0;

/** This test file's shared socket workers, by transport (harness state is per test file: vitest isolates files). */
const fileServers = new Map<string, SocketServer>();

/** This test file's in-process shm server (the `shm` transport), started on first use. */
let shmServer: Promise<RunningServer> | undefined;

/** Stop this test file's shared socket workers and remove its socket directory (registered as a file-level afterAll). */
const stopFileServers = async (): Promise<void> => {
  const servers = [...fileServers.values()];
  fileServers.clear();
  const shm = shmServer;
  shmServer = undefined;
  try {
    await Promise.all([
      ...servers.map((s) => s.stop()),
      (async () => {
        const server = await shm?.catch(() => undefined);
        if (server === undefined) return;
        await server.drain();
        // Every connection was closed after its test: the drain had nothing to interrupt.
        const outcome = await server.stopped;
        if (outcome.error !== undefined) throw new Error(`the shm server stopped with ${outcome.error}`);
      })(),
    ]);
  } finally {
    if (socketDir !== undefined) rmSync(socketDir, { recursive: true, force: true });
    socketDir = undefined;
  }
};

/**
 * A spawned worker listening on a socket (`--workers 2`), started when the
 * first test that needs it connects (a group whose tests all skip starts
 * none), shared as SOCKET_WORKER_SCOPE says. Each test gets a fresh
 * connection, closed after it; every connection lands on one of the
 * worker's two threads.
 */
const socketWorker = (
  name: string,
  kind: 'unix' | 'tcp',
  listenArgs: () => readonly string[],
  dial: (line: string) => ClientTransport,
  extraArgs: readonly string[] = [],
): ConformanceTransport => {
  const start = (): Promise<ListeningWorker> => spawnListening(name, [...listenArgs(), '--workers', '2', ...extraArgs]);
  let server: SocketServer;
  if (SOCKET_WORKER_SCOPE === 'group') server = new SocketServer(name, start);
  else {
    server = fileServers.get(name) ?? new SocketServer(name, start);
    fileServers.set(name, server);
  }
  let current: ConformanceConn | undefined;
  const release = async (): Promise<void> => {
    const c = current;
    current = undefined;
    await c?.conn.close();
  };
  return {
    name,
    kind,
    setup: async () => {},
    connect: async () => {
      const w = await server.get();
      current ??= open(dial(w.line));
      return current;
    },
    release,
    teardown: async () => {
      await release();
      if (SOCKET_WORKER_SCOPE === 'group') await server.stop();
    },
    skipReason: (f) => (f === 'http-only' ? 'an HTTP-only test' : undefined),
  };
};

/** A fresh socket path in this test file's temporary directory (removed after the file's last group). */
const socketPath = (): string => {
  socketDir ??= mkdtempSync(join(tmpdir(), 'vgi-conf-'));
  return join(socketDir, `w${nextSocket++}.sock`);
};

const unix = (name = 'unix', extraArgs: readonly string[] = []): ConformanceTransport =>
  socketWorker(name, 'unix', () => ['--unix', socketPath()], (line) => {
    if (!line.startsWith('UNIX:')) throw new Error(`unexpected discovery line from the unix worker: ${line}`);
    return connectUnix(line.slice('UNIX:'.length));
  }, extraArgs);

const tcp = (): ConformanceTransport =>
  socketWorker('tcp', 'tcp', () => ['--tcp', '127.0.0.1:0'], (line) => {
    const m = /^TCP:(.+):(\d+)$/.exec(line);
    if (m === null) throw new Error(`unexpected discovery line from the tcp worker: ${line}`);
    return connectTcp(m[1]!, Number(m[2]));
  });

/**
 * HTTP: the worker with `--http --workers 2 --listeners main` (`http-workers`:
 * `--listeners workers`, the default) (one process per test file, like
 * the socket workers), a fresh HTTP client per test. It also exposes the
 * base URL of an auth-refusing worker (`authBaseUrl`, for TestHealth),
 * started only when a test asks for it (`httpUrls`).
 */
const http = (name: 'http' | 'http-workers' | 'http-sab' = 'http'): ConformanceTransport => {
  const portOf = (w: ListeningWorker): number => {
    const m = /^PORT:(\d+)$/.exec(w.line);
    if (m === null) throw new Error(`unexpected discovery line from the http worker: ${w.line}`);
    return Number(m[1]);
  };
  // `http`: the main thread's front end hands each request to a worker; `http-workers` (the default):
  // every worker listens on the port itself; `http-sab`: the front end's links to the workers carry
  // their small messages through rings (--hop sab).
  const flags = ['--http', '--workers', '2', '--listeners', ...(name === 'http-workers' ? ['workers'] : name === 'http-sab' ? ['main', '--hop', 'sab'] : ['main'])];
  const server = fileServers.get(name) ?? new SocketServer(name, () => spawnListening(name, flags));
  fileServers.set(name, server);
  const auth = fileServers.get('http-auth') ?? new SocketServer('http-auth', () => spawnListening('http-auth', ['--http', '--workers', '1', '--auth-reject-all']));
  fileServers.set('http-auth', auth);
  let baseUrl: string | undefined;
  let current: ConformanceConn | undefined;
  const release = async (): Promise<void> => {
    const c = current;
    current = undefined;
    await c?.conn.close();
  };
  return {
    name,
    kind: 'http',
    setup: async () => {},
    connect: async () => {
      baseUrl ??= `http://127.0.0.1:${portOf(await server.get())}`;
      if (current === undefined) current = openHttp(await httpConnect(baseUrl), baseUrl);
      return current;
    },
    release,
    teardown: release,
    skipReason: (f) => (f === 'raw-frames' ? 'HTTP carries one request stream per HTTP request: there is no byte stream to write raw frames on' : undefined),
    httpUrls: async () => {
      baseUrl ??= `http://127.0.0.1:${portOf(await server.get())}`;
      return { baseUrl, authBaseUrl: `http://127.0.0.1:${portOf(await auth.get())}` };
    },
  };
};

const WORKER_THREAD = fileURLToPath(new URL('../../dist/examples/conformance/worker-thread.js', import.meta.url));

/**
 * In-process over SAB channels: a runtime in this test process (two worker
 * threads running the compiled conformance worker-thread module, one
 * runtime per test file like the socket workers), a fresh channel per test
 * from the test's thread to one of the workers, closed after it.
 */
const shm = (): ConformanceTransport => {
  let current: ConformanceConn | undefined;
  const release = async (): Promise<void> => {
    const c = current;
    current = undefined;
    await c?.conn.close();
  };
  return {
    name: 'shm',
    kind: 'pipe',
    setup: async () => {},
    connect: async () => {
      shmServer ??= startServer({
        services: [ConformanceService, SecondaryService],
        layer: Layer.mergeAll(conformanceLayer(), SecondaryLive),
        workerModule: WORKER_THREAD,
        workers: 2,
        graceMs: 5_000,
        listen: { kind: 'shm' },
      });
      const server = await shmServer;
      current ??= open(await connectShm((server.endpoint as { inProcess: ShmAcceptor }).inProcess));
      return current;
    },
    release,
    teardown: release,
    skipReason: (f) => (f === 'http-only' ? 'an HTTP-only test' : undefined),
  };
};

/**
 * The groups the SAB hop lanes run (the relay's `unix-relay-sab` and
 * `stdio-workers-sab`, the HTTP front end's `http-sab`): unary calls, producer and exchange streams, large
 * payloads, errors and recovery, cancellation, framing errors. The rest of
 * the suite adds nothing the hop could break (it only moves bytes) and would
 * cost two more lanes of the whole suite; naming a lane in
 * VGI_CONFORMANCE_TRANSPORTS runs every group on it.
 */
const SAB_HOP_GROUPS: ReadonlySet<string> = new Set([
  'TestUnaryScalarEcho', 'TestUnaryErrors', 'TestProducerStream', 'TestProducerStreamWithHeader', 'TestExchangeStream',
  'TestExchangeStreamWithHeader', 'TestLargeData', 'TestConnectionReuse', 'TestErrorRecovery', 'TestCancel', 'TestProtocolErrors',
  'TestAdversarialRawRequestContract',
]);

/** Restrict `transport` to the groups in `groups` (unless it is named in VGI_CONFORMANCE_TRANSPORTS). */
const coveringOnly = (transport: ConformanceTransport, groups: ReadonlySet<string>): ConformanceTransport => ({ ...transport, covers: groups });

/** Every transport the suite runs over today. */
const allTransports = (): ConformanceTransport[] => [
  memory(),
  stdioWorker('subprocess', []),
  stdioWorker('stdio-workers', ['--workers', '1']),
  coveringOnly(stdioWorker('stdio-workers-sab', ['--workers', '1', '--hop', 'sab']), SAB_HOP_GROUPS),
  unix(),
  coveringOnly(unix('unix-relay-sab', ['--accept', 'relay', '--hop', 'sab']), SAB_HOP_GROUPS),
  tcp(),
  http(),
  http('http-workers'),
  coveringOnly(http('http-sab'), SAB_HOP_GROUPS),
  shm(),
  ...(segmentsAvailable() ? [shmSegment()] : []),
];

/**
 * The transports of this run: all of them, or the comma-separated names in
 * `VGI_CONFORMANCE_TRANSPORTS` (e.g. `memory,tcp`) to run a subset.
 */
export const conformanceTransports = (): ConformanceTransport[] => {
  const all = allTransports();
  const wanted = process.env.VGI_CONFORMANCE_TRANSPORTS?.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (wanted === undefined || wanted.length === 0) return all;
  const unknown = wanted.filter((n) => !all.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`VGI_CONFORMANCE_TRANSPORTS names unknown transports: ${unknown.join(', ')} (known: ${all.map((t) => t.name).join(', ')})`);
  return all.filter((t) => wanted.includes(t.name));
};

let fileHookRegistered = false;

/**
 * Declare a test group once per transport: `body` receives a function that
 * returns the connection for the current test.
 */
export const overTransports = (group: string, body: (get: () => Promise<ConformanceConn>, transport: ConformanceTransport) => void): void => {
  if (!fileHookRegistered) {
    // Called at a test file's top level: this hook runs once, after the file's last group.
    fileHookRegistered = true;
    afterAll(stopFileServers);
  }
  const named = process.env.VGI_CONFORMANCE_TRANSPORTS?.split(',').map((n) => n.trim()) ?? [];
  for (const transport of conformanceTransports()) {
    if (transport.covers !== undefined && !transport.covers.has(group) && !named.includes(transport.name)) continue;
    describe(`${group} [${transport.name}]`, () => {
      beforeAll(() => transport.setup());
      afterEach(() => transport.release?.());
      afterAll(() => transport.teardown());
      body(() => transport.connect(), transport);
    });
  }
};
