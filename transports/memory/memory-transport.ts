/**
 * In-memory transport for tests and embedding: a client connection wired
 * directly to a dispatcher in the same thread, with no copies and no I/O.
 */
import { FrameSource } from '../../src/wire/frame-source.js';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import type { ClientTransport } from '../../src/client/connection.js';
import type { TransportKind } from '../../src/service/call-context.js';

/** Connect a client transport to `dispatcher`; `served` settles when the server side finishes. */
export const memoryConnect = (
  dispatcher: Dispatcher,
  transportKind: TransportKind = 'pipe',
): ClientTransport & { readonly served: Promise<void>; disconnect(): void } => {
  const toServer = new FrameSource();
  const toClient = new FrameSource();
  let gone = false;
  let signalGone: (detail: string) => void = () => {};
  const closed = new Promise<string>((resolve) => { signalGone = resolve; });
  const served = dispatcher.serve({
    frames: toServer,
    transportKind,
    closed,
    write: (chunks) => {
      if (gone) throw new Error('the client disconnected');
      for (const c of chunks) toClient.push(c);
    },
  }).then(
    () => toClient.end(),
    (e: Error) => { toClient.fail(e); throw e; },
  );
  served.catch(() => undefined);
  return {
    frames: toClient,
    write: (chunks) => { for (const c of chunks) toServer.push(c); },
    close: () => toServer.end(),
    /** Vanish like a dropped socket: the server sees its peer gone. */
    disconnect: () => {
      gone = true;
      signalGone('the in-memory client disconnected');
      toClient.end();
    },
    served,
  };
};
