/**
 * The public serve and connect entries in-process: `startServer`, `serve`
 * (Effect in a Scope), `serverLayer` and `open`/`connect`, in each accept
 * mode, and the typed errors a user meets when a server cannot start or an
 * endpoint cannot be reached.
 */
import * as Effect from 'effect/Effect';
import * as Exit from 'effect/Exit';
import * as Layer from 'effect/Layer';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client, RpcClientError } from '../../src/index.js';
import { Bench, BenchLive } from '../../examples/bench/bench-service.js';
import { connect, open, parseEndpoint } from '../../transports/connect-entry.js';
import { RpcServer, type ServeOptions, ServeError, serve, serverLayer, startServer } from '../../transports/server-entry.js';

const dir = mkdtempSync(join(tmpdir(), 'vgi-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let nextSock = 0;
const sockPath = (): string => join(dir, `s${nextSock++}.sock`);

const workerModule = new URL('../../dist/examples/bench/worker-thread.js', import.meta.url);
const base = { services: [Bench], layer: BenchLive, workerModule } as const;

describe('startServer and open', () => {
  for (const [label, options] of [
    ['unix, workers accepting', { ...base, workers: 2, listen: { kind: 'unix', path: sockPath() } }],
    ['unix, relayed', { ...base, workers: 2, accept: 'relay', listen: { kind: 'unix', path: sockPath() } }],
    ['tcp, workers accepting', { ...base, workers: 2, listen: { kind: 'tcp', port: 0 } }],
    ['tcp, main thread', { ...base, workers: 0, listen: { kind: 'tcp' } }],
  ] as const satisfies readonly (readonly [string, ServeOptions<never>])[]) {
    it(`serves ${label}; the endpoint it reports connects; drain stops it`, async () => {
      const server = await startServer(options);
      try {
        expect(server.runtime.workers).toBe(options.workers);
        expect(server.runtime.acceptsInWorkers).toBe(options.workers > 0 && !('accept' in options));
        expect(server.discovery).toMatch(options.listen.kind === 'unix' ? /^UNIX:\// : /^TCP:127\.0\.0\.1:\d+$/);
        // Both the endpoint object and the discovery line work.
        for (const endpoint of [server.endpoint!, server.discovery]) {
          const conn = await open(endpoint);
          expect(await Client.promises(Bench, conn).add({ a: 2, b: 3 })).toBe(5);
          await conn.close();
        }
      } finally {
        await server.drain();
      }
      expect(await server.stopped).toEqual({});
      await expect(open(server.endpoint!)).rejects.toMatchObject({ errorType: 'TransportError' });
    }, 30_000);
  }
});

describe('the Effect entries', () => {
  it('serve holds the server in a Scope and drains it when the Scope closes; connect closes its connection', async () => {
    const path = sockPath();
    const stopped = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const server = yield* serve({ ...base, workers: 2, listen: { kind: 'unix', path } });
      const bench = Client.make(Bench, yield* connect({ unix: path }));
      expect(yield* bench.add({ a: 1, b: 1 })).toBe(2);
      return server.stopped;
    })));
    // The Scope is closed: the drain has run, so the server has stopped.
    expect(await stopped).toEqual({});
    await expect(open({ unix: path })).rejects.toBeInstanceOf(RpcClientError);
  }, 30_000);

  it('serverLayer provides RpcServer', async () => {
    const discovery = await Effect.runPromise(Effect.scoped(Layer.build(serverLayer({ ...base, workers: 0, listen: { kind: 'tcp' } })).pipe(
      Effect.map((ctx) => ctx.unsafeMap.get(RpcServer.key) as { discovery: string }),
      Effect.map((s) => s.discovery),
    )));
    expect(discovery).toMatch(/^TCP:/);
  });

  it('serve fails with ServeError when the port is taken, and the runtime it started is shut down', async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as { port: number }).port;
    try {
      const exit = await Effect.runPromiseExit(Effect.scoped(serve({ ...base, workers: 0, listen: { kind: 'tcp', port } })));
      expect(Exit.isFailure(exit)).toBe(true);
      if (Exit.isFailure(exit)) {
        const error = exit.cause._tag === 'Fail' ? exit.cause.error : undefined;
        expect(error).toBeInstanceOf(ServeError);
        expect((error as ServeError).message).toMatch(/address already in use/);
      }
    } finally {
      squatter.close();
    }
  });
});

describe('connect errors', () => {
  it('an unreachable endpoint is an RpcClientError of type TransportError naming it', async () => {
    await expect(open({ unix: join(dir, 'nobody.sock') })).rejects.toMatchObject({ errorType: 'TransportError', message: expect.stringMatching(/cannot connect to unix socket .*nobody\.sock: .*ENOENT/) });
    await expect(open({ command: [join(dir, 'no-such-program')] })).rejects.toMatchObject({ errorType: 'TransportError', message: expect.stringMatching(/no-such-program.*ENOENT/) });
    const exit = await Effect.runPromiseExit(Effect.scoped(connect('tcp:127.0.0.1:1')));
    expect(Exit.isFailure(exit) && exit.cause._tag === 'Fail' && exit.cause.error.errorType).toBe('TransportError');
  });

  it('string endpoints: unix:/tcp: in any case (discovery lines), http(s) URLs, anything else refused', () => {
    expect(parseEndpoint('UNIX:/tmp/a.sock')).toEqual({ unix: '/tmp/a.sock' });
    expect(parseEndpoint('tcp:[::1]:7000')).toEqual({ tcp: '[::1]:7000' });
    expect(parseEndpoint('http://x:8000/vgi')).toEqual({ url: 'http://x:8000/vgi' });
    expect(parseEndpoint('HTTPS://x')).toEqual({ url: 'HTTPS://x' });
    expect(() => parseEndpoint('ftp://x')).toThrow(RpcClientError);
    expect(() => parseEndpoint('http:x')).toThrow(RpcClientError);
    expect(() => parseEndpoint('unix:')).toThrow(/unix:PATH/);
  });
});
