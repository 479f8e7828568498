/**
 * A minimal keep-alive HTTP/1.1 client over one TCP connection, for load
 * generation: one request at a time, the request written with a single
 * write, the answer framed by its Content-Length and gathered into one
 * buffer (each read lands in one buffer per connection). No redirects, no chunked answers (an error: the servers measured
 * here send Content-Length), no retries. Node's fetch costs about a
 * millisecond of CPU per small request on this machine, more than the
 * servers it would measure; this costs a few tens of microseconds.
 */
import { type Socket, createConnection } from 'node:net';

/** One answer: status, headers (lower-case names) and the whole body. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** Bytes one socket read may bring. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * A keep-alive connection to one host:port. An answer's body lives in a
 * buffer the connection reuses for the next answer that fits: a caller
 * must be done with it (and with anything decoded from it) before its next
 * request. A fresh 1.6 MB buffer per answer cost this process a full
 * garbage collection every few answers.
 */
export class RawHttpConnection {
  private readonly socket: Socket;
  private readonly connected: Promise<void>;
  private pending: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;
  private head: Buffer | undefined;
  private status = 0;
  private headers = new Map<string, string>();
  private body: Buffer | undefined;
  private spare: Buffer | undefined;
  private filled = 0;
  private failure: Error | undefined;

  constructor(private readonly host: string, private readonly port: number) {
    // Reads land in one buffer per connection (copied out at once), not a fresh 64 KiB buffer per read:
    // at 1.6 MB answers those cost this process a tenth of its time in garbage collection.
    const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    this.socket = createConnection({ host, port, noDelay: true, onread: { buffer: readBuffer, callback: (n: number) => { this.onData(readBuffer.subarray(0, n)); return true; } } });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('the server closed the connection')));
  }

  /** POST `body` to `path` with `headers`; resolves with the whole answer. */
  async post(path: string, headers: Readonly<Record<string, string>>, body: readonly Uint8Array[]): Promise<RawAnswer> {
    await this.connected;
    if (this.failure !== undefined) throw this.failure;
    if (this.pending !== undefined) throw new Error('one request at a time');
    let length = 0;
    for (const b of body) length += b.byteLength;
    let text = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Length: ${length}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    const out = Buffer.allocUnsafe(Buffer.byteLength(text, 'latin1') + 2 + length);
    let at = out.write(`${text}\r\n`, 'latin1');
    for (const b of body) {
      out.set(b, at);
      at += b.byteLength;
    }
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(out);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  private onData(chunk: Buffer): void {
    if (this.body === undefined) {
      const head = this.head === undefined ? chunk : Buffer.concat([this.head, chunk]);
      const end = head.indexOf(HEADER_END);
      if (end < 0) {
        // The read buffer is reused: keep a copy.
        this.head = head === chunk ? Buffer.from(chunk) : head;
        return;
      }
      this.head = undefined;
      const lines = head.toString('latin1', 0, end).split('\r\n');
      this.status = Number(lines[0]!.split(' ')[1]);
      this.headers = new Map();
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i]!.indexOf(':');
        this.headers.set(lines[i]!.slice(0, colon).trim().toLowerCase(), lines[i]!.slice(colon + 1).trim());
      }
      if (this.headers.get('transfer-encoding') !== undefined) {
        this.fail(new Error('chunked answers are not supported by this load generator'));
        this.socket.destroy();
        return;
      }
      const length = Number(this.headers.get('content-length') ?? 0);
      if (length >= 64 * 1024) {
        if (this.spare === undefined || this.spare.length < length) this.spare = Buffer.allocUnsafeSlow(length + (length >>> 3));
        this.body = this.spare.subarray(0, length);
      } else {
        this.body = Buffer.allocUnsafe(length);
      }
      this.filled = 0;
      chunk = head.subarray(end + HEADER_END.length);
    }
    const body = this.body;
    const n = Math.min(chunk.length, body.length - this.filled);
    chunk.copy(body, this.filled, 0, n);
    this.filled += n;
    if (this.filled < body.length) return;
    if (n < chunk.length) {
      this.fail(new Error('the server sent more than the answer it was asked for'));
      return;
    }
    this.body = undefined;
    const p = this.pending;
    this.pending = undefined;
    p?.resolve({ status: this.status, headers: this.headers, body });
  }
}
