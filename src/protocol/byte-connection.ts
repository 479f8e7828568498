/**
 * The contract between the protocol core and a byte-stream transport (pipe,
 * subprocess, unix, tcp, in-memory): frames come in, byte chunks go out.
 */
import type { FrameSource } from '../wire/frame-source.js';
import type { TransportKind } from '../service/call-context.js';

/** One bidirectional byte-stream connection as seen by the protocol. */
export interface ByteConnection {
  /** Incoming IPC frames. */
  readonly frames: FrameSource;
  /** Write response bytes; resolves when the transport can take more. */
  write(chunks: readonly Uint8Array[]): void | Promise<void>;
  /** How the connection reached the server. */
  readonly transportKind: TransportKind;
  /**
   * Resolves (with a description) when the peer is gone: the socket closed
   * or the output broke. Calls still running for it are interrupted.
   */
  readonly closed?: Promise<string>;
  /**
   * Resolves when the server starts draining: requests already received are
   * answered, then the connection stops reading (at once if it is idle).
   */
  readonly drain?: Promise<void>;
  /** Resolves when the server gives up waiting: running calls are interrupted with a typed error. */
  readonly shutdown?: Promise<string>;
  /**
   * The input ended while a handler is running (it owes the peer an
   * answer): find out whether the peer can still read, and resolve `closed`
   * if it cannot. A peer that only ended its side (half-close) still gets
   * its answers; one that closed its socket or died looks the same from the
   * input side, so the transport probes its output. Called again for each
   * call started after the input ended. Every write that follows starts at
   * a message boundary. Transports that cannot tell leave it out.
   */
  readonly checkPeer?: () => void;
  /**
   * Set for a connection that reached a server already draining: none of
   * its requests is served, each is answered with ServerShutdownError
   * carrying this detail, and `drain` then closes it.
   */
  readonly refuse?: string;
}

/** The connection went away while the server was reading from it; not a protocol error. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}
