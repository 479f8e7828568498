/**
 * Finding out whether the peer of a served socket can still read, after its
 * input ended while a handler is running. A peer that only ended its side
 * (half-close) still gets the answers to what it sent; one that closed its
 * socket, or whose process died, looks the same from the input side (a FIN),
 * and only a write tells them apart:
 *
 * - unix: once the peer has closed, the kernel shuts our socket for sending,
 *   and a write of zero bytes fails with EPIPE; to a peer that only
 *   half-closed it writes nothing.
 * - tcp: a closed peer answers data with a reset, so data must be sent. The
 *   probe sends the first byte of the next message (every IPC message starts
 *   with the continuation marker 0xFFFFFFFF) and drops it from the next
 *   write, so a live peer reads exactly the stream it would have read;
 *   zero-byte writes after it fail once the reset has arrived.
 *
 * Zero-byte writes repeat (backing off to once a second) until the
 * connection ends, so a half-closed peer that goes away later is noticed
 * too (on tcp, only while a borrowed byte is unanswered).
 */
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { TransportKind } from '../src/service/call-context.js';

/** The first byte of every IPC message (its continuation marker is four of them). */
const MARKER_BYTE = 0xff;
const ONE_MARKER_BYTE = new Uint8Array([MARKER_BYTE]);
const NOTHING = new Uint8Array(0);
/** The first repeat of a tcp probe: a reset needs a round trip to come back. */
const FIRST_REPEAT_MS = 5;
const MAX_REPEAT_MS = 1_000;

/** Probes one socket's peer; the socket's other writes go through `settle`. */
export class PeerProbe {
  /** Marker bytes sent ahead of the next write. */
  private borrowed = 0;
  private timer: NodeJS.Timeout | undefined;
  private delay = 0;
  private stopped = false;

  private constructor(private readonly socket: Writable, private readonly sendsData: boolean) {
    socket.once('close', () => this.stop());
  }

  /** A probe for `writable` when it is a unix or tcp socket; undefined for anything else (pipes cannot be probed this way). */
  static of(writable: Writable, transportKind: TransportKind): PeerProbe | undefined {
    if (!(writable instanceof Socket)) return undefined;
    if (transportKind === 'unix') return new PeerProbe(writable, false);
    if (transportKind === 'tcp') return new PeerProbe(writable, true);
    return undefined;
  }

  /**
   * Check the peer now and keep checking until `stop`. Only call it at a
   * message boundary with a write owed to the peer: on tcp the next write
   * completes the byte sent ahead.
   */
  check(): void {
    if (this.stopped || this.socket.destroyed) return;
    if (this.sendsData && this.borrowed === 0 && this.socket.writableLength === 0) {
      this.borrowed = 1;
      this.socket.write(ONE_MARKER_BYTE);
      this.delay = FIRST_REPEAT_MS;
    } else {
      this.delay = 0;
    }
    clearTimeout(this.timer);
    if (this.delay === 0) this.repeat();
    else this.timer = setTimeout(this.repeat, this.delay).unref();
  }

  private readonly repeat = (): void => {
    if (this.stopped || this.socket.destroyed) return;
    // A failure surfaces as the socket's 'error' (EPIPE, ECONNRESET), which the connection watches.
    this.socket.write(NOTHING);
    this.delay = Math.min(Math.max(this.delay * 2, FIRST_REPEAT_MS), MAX_REPEAT_MS);
    this.timer = setTimeout(this.repeat, this.delay).unref();
  };

  /** The chunks of the next write, minus the bytes already sent ahead (they start at a message boundary). */
  settle(chunks: readonly Uint8Array[]): readonly Uint8Array[] {
    if (this.borrowed === 0) return chunks;
    let skip = this.borrowed;
    this.borrowed = 0;
    const out: Uint8Array[] = [];
    for (const c of chunks) {
      if (skip === 0) out.push(c);
      else if (c.byteLength <= skip) skip -= c.byteLength;
      else {
        out.push(c.subarray(skip));
        skip = 0;
      }
    }
    return out;
  }

  /** `bytes` (one whole write) minus the bytes already sent ahead. */
  settleOne(bytes: Uint8Array): Uint8Array {
    if (this.borrowed === 0) return bytes;
    const skip = Math.min(this.borrowed, bytes.byteLength);
    this.borrowed = 0;
    return bytes.subarray(skip);
  }

  /** Stop probing (the connection is over). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
