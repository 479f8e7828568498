/**
 * Serving one accepted socket: bind it to the protocol as a ByteConnection
 * and run the connection server on it until the peer closes its side, the
 * peer goes away, or the server drains. This is the unit a worker-thread
 * runtime will place: it knows nothing about listening or accepting.
 *
 * A framing error the protocol cannot resynchronise from closes this
 * connection only: one line on the log, a protocol-error stream to the
 * peer, then the socket is ended. A peer that resets or vanishes closes it
 * silently (its running calls are interrupted by the dispatcher).
 */
import type { Socket } from 'node:net';
import type { ByteConnection } from '../../src/protocol/byte-connection.js';
import type { Dispatcher } from '../../src/protocol/dispatcher.js';
import { writeErrorStream } from '../../src/protocol/responses.js';
import type { TransportKind } from '../../src/service/call-context.js';
import { Errors, toWireError } from '../../src/service/errors.js';
import { emptySchema } from '../../src/service/method.js';
import { isWireError } from '../../src/wire/errors.js';
import { type ReaderLimits, defaultReaderLimits } from '../../src/wire/stream-reader.js';
import { framesFrom, peerGone, writerTo } from '../duplex/node-stream-io.js';

/**
 * What serves a connection's byte stream: a Dispatcher, or anything with the
 * same shape (a runtime that forwards the connection to a worker).
 */
export type ConnectionServer = Pick<Dispatcher, 'serve' | 'serverId'>;

/** Options shared by every connection of a server. */
export interface SocketServeOptions {
  /** Byte caps for incoming IPC messages (default: the reader's defaults). */
  readonly limits?: ReaderLimits;
  /** Receives one diagnostic line per failed connection (default: stderr). */
  readonly log?: (line: string) => void;
}

/** One accepted connection. */
export interface AcceptedSocket {
  readonly socket: Socket;
  readonly transportKind: TransportKind;
  /** Names the connection in log lines, e.g. `unix connection #3`. */
  readonly label: string;
  /** Resolves when the server drains: requests already received are answered, then the socket is closed. */
  readonly drain?: Promise<void>;
}

/**
 * How long an ended socket may wait for the peer to close its side before it
 * is destroyed (a peer that never closes must not hold a draining server).
 */
const LINGER_MS = 2_000;

/** The default log: one line on stderr. */
export const stderrLog = (line: string): void => { process.stderr.write(`${line}\n`); };

/** End our side once everything is written; destroy the socket if the peer has not closed within LINGER_MS. */
const endSocket = (socket: Socket): void => {
  if (socket.destroyed) return;
  socket.end(() => {
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
};

/** Serve requests from one accepted socket until it closes; never rejects. */
export const serveSocket = async (server: ConnectionServer, accepted: AcceptedSocket, options: SocketServeOptions = {}): Promise<void> => {
  const { socket, transportKind, label, drain } = accepted;
  const log = options.log ?? stderrLog;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const write = writerTo(socket);
  const conn: ByteConnection = {
    frames: framesFrom(socket, options.limits ?? defaultReaderLimits),
    write,
    transportKind,
    closed: peerGone(socket),
    ...(drain === undefined ? {} : { drain }),
  };
  try {
    await server.serve(conn);
    endSocket(socket);
  } catch (e) {
    if (socket.destroyed) {
      // The peer went away while we were reading or writing: nothing to report.
    } else if (isWireError(e)) {
      log(`vgi-rpc: ${label}: cannot read the request stream (${e.name}: ${e.message}); closing the connection`);
      // Stop parsing: whatever else the peer sends is read and dropped so our error reaches it before the close.
      socket.removeAllListeners('data');
      socket.on('data', () => undefined);
      socket.resume();
      const out: Uint8Array[] = [];
      writeErrorStream(out, emptySchema(), toWireError(Errors.protocol(e.message)), { serverId: server.serverId, requestId: undefined });
      await Promise.resolve(write(out)).catch(() => undefined);
      endSocket(socket);
    } else {
      log(`vgi-rpc: ${label}: connection failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      socket.destroy();
    }
  }
  await closed;
};
