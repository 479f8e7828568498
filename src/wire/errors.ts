/**
 * Typed errors raised by the wire layer. Each carries the reference's error
 * type name so the dispatcher can answer with an EXCEPTION batch directly.
 */
import { strayTextNote } from './stray-text.js';

/** The byte stream is not valid Arrow IPC (bad framing, corrupt header, bad buffers). */
export class IpcFormatError extends Error {
  override readonly name = 'IpcFormatError';
  /** Error type written on the wire when this error is reported to a peer. */
  readonly errorType = 'ProtocolError';

  /** `strayText`: the bytes that failed to parse were this text (the message quotes it). */
  constructor(message: string, readonly strayText?: string) {
    super(strayText === undefined ? message : message + strayTextNote(strayText));
  }
}

/** A length prefix announced more bytes than the configured cap allows. */
export class IpcLimitError extends Error {
  override readonly name = 'IpcLimitError';
  /** Error type written on the wire when this error is reported to a peer. */
  readonly errorType = 'ProtocolError';

  /** `strayText`: the length prefix was this text (the message quotes it). */
  constructor(message: string, readonly strayText?: string) {
    super(strayText === undefined ? message : message + strayTextNote(strayText));
  }
}

/** The byte stream ended in the middle of an IPC message or stream. */
export class IpcTruncatedError extends Error {
  override readonly name = 'IpcTruncatedError';
  /** Error type written on the wire when this error is reported to a peer. */
  readonly errorType = 'ProtocolError';

  /** `betweenMessages`: every message arrived whole, only the stream's end-of-stream marker is missing. */
  constructor(message: string, readonly betweenMessages = false) {
    super(message);
  }
}

/** Any error of the wire layer. */
export type WireError = IpcFormatError | IpcLimitError | IpcTruncatedError;

/** True when `e` is one of the wire layer's own errors. */
export const isWireError = (e: unknown): e is WireError =>
  e instanceof IpcFormatError || e instanceof IpcLimitError || e instanceof IpcTruncatedError;
