/**
 * The client side of an in-process `shm` connection, in whatever thread
 * opens it: side `a` of the channel an `ShmAcceptor` handed out (see
 * shm-server.ts). Requests are copied straight into the outgoing ring;
 * responses are read from the other ring into the client's FrameSource. If
 * the serving thread dies, the client reads one WorkerCrashedError stream
 * naming it (as a relayed socket client would) and then end of stream.
 */
import { RpcClientError } from '../../src/client/client-error.js';
import type { ClientTransport } from '../../src/client/connection.js';
import { FrameSource } from '../../src/wire/frame-source.js';
import { workerCrashedStream } from '../../runtime/connection-bridge.js';
import { RingError } from '../../runtime/sab-ring.js';
import { openSide } from '../../runtime/sab-channel.js';
import { pumpFrames, pumpGate } from '../../runtime/sab-pump.js';
import type { ShmAcceptor, ShmChannelHandle } from './shm-server.js';

/** A client transport over an `shm` channel. */
export interface ShmTransport extends ClientTransport {
  /** Names the connection (the server's label). */
  readonly label: string;
}

/** Open side `a` of the channel `handle` describes, in this thread. */
export const shmClientTransport = (handle: ShmChannelHandle): ShmTransport => {
  const { reader, writer } = openSide(handle.channel, 'a');
  const { gate, pause, resume } = pumpGate();
  const frames = new FrameSource({ pause, resume });
  let closing = false;
  let failed: Error | undefined;
  const pumped = pumpFrames(reader, frames, gate, (e) => {
    if (e.reason === 'peer-crashed') {
      // What a relayed client gets when its worker dies: one typed error, then the end.
      frames.push(workerCrashedStream(handle.serverId, `the worker thread serving this connection died (exit code ${e.exitCode})`));
      frames.end();
    } else {
      failed = RpcClientError.local('TransportError', `the shm connection broke: ${e.message}`);
      frames.fail(failed);
    }
  });
  const asTransportError = (e: unknown): never => {
    if (e instanceof RingError) {
      throw RpcClientError.local('TransportError', e.reason === 'closed' ? 'the client closed the connection' : e.reason === 'peer-crashed' ? `the worker thread serving this connection died (exit code ${e.exitCode})` : 'the server closed the connection');
    }
    throw e;
  };
  return {
    label: handle.label,
    frames,
    write: (chunks) => {
      try {
        const w = writer.write(chunks);
        return w === undefined ? undefined : w.catch(asTransportError);
      } catch (e) {
        return asTransportError(e);
      }
    },
    close: async () => {
      if (closing) return;
      closing = true;
      // End our requests; the server answers what it has, ends its side, and the pump sees the end.
      await writer.close().catch(() => undefined);
      // Frames nobody reads any more must not hold the pump.
      resume();
      await pumped.catch(() => undefined);
      reader.close();
    },
    closedHere: () => closing,
  };
};

/** Open an in-process connection from `acceptor` (a running `shm` server's endpoint) in this thread. */
export const connectShm = async (acceptor: ShmAcceptor): Promise<ShmTransport> => shmClientTransport(await acceptor.openChannel());
