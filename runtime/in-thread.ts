/**
 * Serving a connection on the main thread (a pool of size 0): the same
 * control surface as a connection forwarded to a worker, for the smallest
 * deployments and for measuring what the pool buys.
 */
import type { Dispatcher } from '../src/protocol/dispatcher.js';
import { writeErrorStream } from '../src/protocol/responses.js';
import { Errors, toWireError } from '../src/service/errors.js';
import { emptySchema } from '../src/service/method.js';
import { isWireError } from '../src/wire/errors.js';
import { concatBytes } from '../src/wire/batch-encoder.js';
import { framesFrom, peerGone, writerTo } from '../transports/duplex/node-stream-io.js';
import type { ConnectionEnds, ForwardedConnection } from './connection-bridge.js';

/** Serve `ends` with `dispatcher` on this thread. */
export const serveInThread = (dispatcher: Dispatcher, ends: ConnectionEnds): ForwardedConnection => {
  let startDrain: () => void = () => {};
  let startShutdown: (d: string) => void = () => {};
  const drain = new Promise<void>((r) => { startDrain = r; });
  const shutdown = new Promise<string>((r) => { startShutdown = r; });
  const frames = framesFrom(ends.readable);
  const write = writerTo(ends.writable);
  const done = dispatcher
    .serve({ frames, write, transportKind: ends.transportKind, closed: peerGone(ends.writable), drain, shutdown })
    .catch(async (e: unknown) => {
      const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      process.stderr.write(`vgi-rpc: ${ends.transportKind} connection closed: ${why.split('\n')[0]}\n`);
      if (isWireError(e)) {
        const out: Uint8Array[] = [];
        writeErrorStream(out, emptySchema(), toWireError(Errors.protocol((e as Error).message)), { serverId: dispatcher.serverId, requestId: undefined });
        await Promise.resolve(write([concatBytes(out)])).catch(() => undefined);
      }
    })
    .finally(() => {
      if (ends.finish !== undefined) ends.finish();
      else if (!ends.writable.writableEnded) ends.writable.end();
    });
  return { drain: () => startDrain(), shutdown: (d) => startShutdown(d), done };
};
