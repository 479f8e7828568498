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
}
