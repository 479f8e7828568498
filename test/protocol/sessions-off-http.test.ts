/**
 * Sticky sessions exist only over HTTP: on any other transport a handler's
 * `openSession` / `openScopedSession` fails with a RuntimeError that names
 * the HTTP transport and the one the call came over (the scoped form
 * without running the acquisition, so nothing is acquired that no session
 * would release), no session is ever bound, and the connection keeps
 * serving.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDispatcher } from '../../runtime/make-dispatcher.js';
import { Client, RpcConnection, RpcClientError } from '../../src/index.js';
import { memoryConnect } from '../../transports/memory/memory-transport.js';
import { open } from '../../transports/connect.js';
import { startServer } from '../../transports/serve.js';
import { Tally, TallyLive } from '../fixtures/session-service.js';

/** The calls every transport answers the same way; `kind` is the transport kind the error names. */
const expectNoSessions = async (conn: RpcConnection, kind: string): Promise<void> => {
  const tally = Client.promises(Tally, conn);
  const marker = join(mkdtempSync(join(tmpdir(), 'vgi-nosess-')), 'marker');
  writeFileSync(marker, '');
  for (const opening of [() => tally.open({ marker, initial: 1n, ttl: 0n }), () => tally.open_scoped({ marker, initial: 1n, fail: false })]) {
    const e = await opening().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcClientError);
    expect((e as RpcClientError).errorType).toBe('RuntimeError');
    expect((e as RpcClientError).message).toContain('needs the HTTP transport');
    expect((e as RpcClientError).message).toContain(`came over ${kind}`);
  }
  // The scoped form never ran its acquisition; the plain state was never released (it was never held).
  expect(readFileSync(marker, 'utf8')).toBe('');
  expect(await tally.session_id({})).toBe('');
  const unbound = await tally.add({ by: 1n }).catch((x: unknown) => x);
  expect((unbound as RpcClientError).message).toBe('no tally bound to this request');
  expect(typeof (await tally.thread({}))).toBe('bigint');
};

describe('sticky sessions off HTTP', () => {
  it('in-memory transport: opening fails with a RuntimeError naming HTTP; nothing is bound; the connection serves on', async () => {
    const { dispatcher, dispose } = await makeDispatcher([Tally], TallyLive);
    const conn = new RpcConnection(memoryConnect(dispatcher));
    try {
      // The in-memory transport presents itself as a pipe.
      await expectNoSessions(conn, 'pipe');
    } finally {
      await conn.close();
      await dispose();
    }
  });

  it('TCP with a worker thread: the same', async () => {
    const server = await startServer({ services: [Tally], layer: TallyLive, workers: 1, workerModule: new URL('../../dist/test/fixtures/session-worker-thread.js', import.meta.url), listen: { kind: 'tcp', port: 0 } });
    const conn = (await open(server.endpoint!)) as RpcConnection;
    try {
      await expectNoSessions(conn, 'tcp');
    } finally {
      await conn.close();
      await server.drain();
    }
  }, 30_000);
});
