/**
 * The conformance suite's connection factory (the reference's
 * `conformance_conn`): every test group is written once against
 * `ConformanceConn` and runs over every transport listed here. A transport
 * that cannot run a test names the reason via `skipReason`.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe } from 'vitest';
import { Layer } from 'effect';
import { Client, RpcConnection, makeDispatcher, type ClientTransport, type TransportKind } from '../../src/index.js';
import type { PromiseClient } from '../../src/client/typed-client.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { spawnServer } from '../../transports/pipe/subprocess-client.js';
import { ConformanceService, conformanceLayer } from '../../examples/conformance/service.js';
import { SecondaryLive, SecondaryService } from '../../examples/conformance/secondary.js';

/** One open connection to a conformance server. */
export interface ConformanceConn {
  /** Typed client of ConformanceService. */
  readonly svc: PromiseClient<typeof ConformanceService.methods>;
  /** Typed client of conformance.Secondary.v1 on the same connection. */
  readonly secondary: PromiseClient<typeof SecondaryService.methods>;
  /** The connection (for raw calls). */
  readonly conn: RpcConnection;
  /** The byte transport under it (for adversarial frames; only use it when no client call is in flight). */
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
  teardown(): Promise<void>;
  /** Why a test cannot run on this transport, if it cannot. */
  skipReason(feature: 'raw-frames' | 'http-only' | 'kill-worker'): string | undefined;
}

const open = (transport: ClientTransport): ConformanceConn => {
  const conn = new RpcConnection(transport);
  return { svc: Client.promises(ConformanceService, conn), secondary: Client.promises(SecondaryService, conn), conn, transport };
};

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
    skipReason: (f) => (f === 'http-only' ? 'HTTP transport not built yet' : f === 'kill-worker' ? 'no worker process in-memory' : undefined),
  };
};

const WORKER = fileURLToPath(new URL('../../dist/examples/conformance/worker.js', import.meta.url));

/** A spawned worker over stdio (the reference's `subprocess`); one process per test group, connection shared. */
const subprocess = (): ConformanceTransport => {
  let shared: ConformanceConn | undefined;
  let exited: Promise<number | null> | undefined;
  return {
    name: 'subprocess',
    kind: 'pipe',
    setup: async () => {
      const t = spawnServer(process.execPath, [WORKER]);
      exited = t.exited;
      shared = open(t);
    },
    connect: async () => shared!,
    teardown: async () => {
      await shared?.conn.close();
      await exited;
    },
    skipReason: (f) => (f === 'http-only' ? 'HTTP transport not built yet' : undefined),
  };
};

/** Every transport the suite runs over today. */
export const conformanceTransports = (): ConformanceTransport[] => [memory(), subprocess()];

/**
 * Declare a test group once per transport: `body` receives a function that
 * returns the connection for the current test.
 */
export const overTransports = (group: string, body: (get: () => Promise<ConformanceConn>, transport: ConformanceTransport) => void): void => {
  for (const transport of conformanceTransports()) {
    describe(`${group} [${transport.name}]`, () => {
      beforeAll(() => transport.setup());
      afterAll(() => transport.teardown());
      body(() => transport.connect(), transport);
    });
  }
};
