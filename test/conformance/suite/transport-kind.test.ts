/**
 * Port of the reference's TestTransportKindContext
 * (vgi_rpc/conformance/_transport_lifecycle_pytest.py @ 2b0b30f, imported by
 * `_pytest_suite.py` @ 749b550): a call observes the concrete transport kind
 * it arrived on.
 *
 * Like the reference runner's `conformance_transport_kind_probes` fixture,
 * the probe is a standalone versionless protocol (not a ConformanceService
 * method) served over each transport kind this runtime has: pipe (in
 * process), unix, tcp and http.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { makeDispatcher } from '../../../runtime/make-dispatcher.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Effect from 'effect/Effect';
import { CallContext, Client, Method, RpcConnection, Service, T, type ClientTransport, httpConnect } from '../../../src/index.js';
import { startServer } from '../../../transports/serve.js';
import { RpcRuntime } from '../../../runtime/rpc-runtime.js';
import { memoryConnect } from '../../../transports/memory/memory-transport.js';
import { serveUnix } from '../../../transports/unix/unix-server.js';
import { connectUnix } from '../../../transports/unix/unix-client.js';
import { serveTcp } from '../../../transports/tcp/tcp-server.js';
import { connectTcp } from '../../../transports/tcp/tcp-client.js';

/** The reference fixture's `_KindProbe` protocol. */
const KindProbe = Service.define('_KindProbe', {}, {
  report_transport_kind: Method.unary({ result: T.utf8 }),
});

const KindProbeLive = KindProbe.toLayer({
  report_transport_kind: () => Effect.map(CallContext, (ctx) => ctx.transportKind),
});

/** Ask the probe over `transport`, then close the connection. */
const ask = async (transport: ClientTransport): Promise<string> => {
  const conn = new RpcConnection(transport);
  try {
    return await Client.promises(KindProbe, conn).report_transport_kind();
  } finally {
    await conn.close();
  }
};

/** A socket server of the probe on the main thread (no worker pool), stopped afterwards. */
const withRuntime = async (body: (runtime: RpcRuntime) => Promise<string>): Promise<string> => {
  const runtime = await RpcRuntime.start({ services: [KindProbe], layer: KindProbeLive, workers: 0 });
  try {
    return await body(runtime);
  } finally {
    await runtime.drain();
  }
};

type Probe = readonly [expected: string, probe: () => Promise<string>];

const probes: readonly Probe[] = [
  ['pipe', async () => {
    const { dispatcher, dispose } = await makeDispatcher([KindProbe], KindProbeLive);
    try {
      return await ask(memoryConnect(dispatcher));
    } finally {
      await dispose();
    }
  }],
  ['unix', () => withRuntime(async (runtime) => {
    const dir = mkdtempSync(join(tmpdir(), 'vgi-kind-'));
    const listener = await serveUnix(runtime, join(dir, 'probe.sock'));
    try {
      return await ask(connectUnix(listener.address));
    } finally {
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    }
  })],
  ['tcp', () => withRuntime(async (runtime) => {
    const listener = await serveTcp(runtime, '127.0.0.1', 0);
    try {
      return await ask(connectTcp(listener.address.host, listener.address.port));
    } finally {
      await listener.close();
    }
  })],
  ['http', async () => {
    const server = await startServer({ services: [KindProbe], layer: KindProbeLive, workers: 0, listen: { kind: 'http' } });
    const conn = await httpConnect(server.address.kind === 'http' ? server.address.url : '');
    try {
      return await Client.promises(KindProbe, conn).report_transport_kind();
    } finally {
      await conn.close();
      await server.drain();
    }
  }],
];

describe('TestTransportKindContext', () => {
  it('test_each_transport_reports_its_kind', async () => {
    expect(probes.length, 'transport-kind fixture must expose at least one wire probe').toBeGreaterThan(0);
    const allowed = new Set(['pipe', 'http', 'unix', 'tcp']);
    for (const [expected, probe] of probes) {
      expect(allowed.has(expected), `unknown TransportKind conformance label: ${expected}`).toBe(true);
      expect(await probe()).toBe(expected);
    }
  });
});
