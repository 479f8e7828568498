/**
 * The uWebSockets.js engine: HTTP/1.1 served by uWS's native event loop
 * integration, about twice node:http's request rate here.
 *
 * uWS hands out objects with short lives, and the rules below follow from
 * them: its HttpRequest is valid only during the route callback (so method,
 * URL, query, headers and the peer's address are copied there); body chunks
 * are detached when their callback returns (so each is copied once, into the
 * BodyCollector); the HttpResponse dies on abort or once a reply has ended
 * (so every use checks `aborted`/`ended` first, and `onAborted` is
 * registered before anything can go async, as uWS demands). Writes made
 * outside uWS's own callbacks go inside `res.cork()`; bodies go out with
 * `tryEnd` and resume from `onWritable` under backpressure, so a 20 MB
 * reply is never copied into uWS's user-space buffer.
 *
 * Behaviour of the uWS version installed (20.30) that shapes this code:
 * - `endWithoutBody(length)` never completes the response (fixed upstream in
 *   2025), so HEAD writes its Content-Length header itself and calls
 *   `endWithoutBody()` with no argument.
 * - `tryEnd` ignores a close flag; only `end(body, true)` closes after the
 *   reply (it adds `Connection: close`, waits for the bytes to drain, then
 *   sends FIN and closes).
 * - A request pipelined behind one whose reply is still pending makes uWS
 *   close the connection; clients that wait for each reply (all common ones)
 *   are unaffected. Methods uWS does not know (e.g. PROPFIND) and
 *   absolute-form request targets are refused by closing the connection.
 * - Request headers are limited to 50 and, when they arrive over several
 *   reads, to 4 KiB in total (431 otherwise); `Expect: 100-continue` is
 *   answered by uWS itself.
 *
 * The package falls back, silently but for a console warning, to a slow
 * JavaScript implementation when it has no native binary for the running
 * Node; `uwsStatus()` tells which one loaded and the engine refuses the
 * fallback. The package is an optional peer dependency, so it is loaded
 * with `require` on first use rather than imported: this module (and
 * listen-http) load without it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';
import type { HttpEngineOptions, HttpListener, HttpReply } from './engine.js';
import { EngineRequest } from './engine-request.js';
import { BodyCollector, OVERSIZE_DRAIN_BYTES, announcedLength } from './request-body.js';
import { type FramedReply, frameReply, handlerFailed, isPromise, statusLine } from './reply-framing.js';

type UwsModule = typeof Uws;

/** Whether the native uWebSockets.js loaded, or why not. */
export type UwsStatus = { readonly available: true } | { readonly available: false; readonly reason: string };

const require = createRequire(import.meta.url);
let loaded: { readonly uws: UwsModule } | { readonly reason: string } | undefined;

const loadUws = (): { readonly uws: UwsModule } | { readonly reason: string } => {
  if (/^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? '')) {
    return { reason: 'UWS_USE_FALLBACK is set, which selects its slow JavaScript fallback' };
  }
  let root: string;
  try {
    root = dirname(require.resolve('uWebSockets.js/package.json'));
  } catch {
    return { reason: 'the uWebSockets.js package is not installed' };
  }
  const abi = `${process.platform}_${process.arch}_${process.versions.modules}`;
  // The installed build keeps its binaries in binaries/uws_<platform>_<arch>_<abi>.node; when that
  // folder exists without our binary, don't load the package at all (it would print a warning and
  // load its fallback).
  const binaries = join(root, 'binaries');
  if (existsSync(binaries) && !existsSync(join(binaries, `uws_${abi}.node`))) {
    return { reason: `it has no native binary for ${abi} (Node ${process.version}) and would fall back to its slow JavaScript implementation` };
  }
  let uws: UwsModule;
  try {
    uws = require('uWebSockets.js') as UwsModule;
  } catch (error) {
    return { reason: `loading it failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  // The authority: the package's exports must be those of a native `.node` module inside it
  // (its fallback is plain JavaScript).
  const native = Object.values(require.cache).some((m) => m !== undefined && m.filename.startsWith(root) && m.filename.endsWith('.node') && m.exports === uws);
  if (!native) return { reason: `its native binary did not load (for ${abi}, Node ${process.version}); it fell back to its slow JavaScript implementation` };
  // Drops the `uWebSockets: 20` header uWS adds to every reply (its only effect besides a start-up line it no longer prints).
  uws._cfg('silent');
  return { uws };
};

const uwsLoaded = (): { readonly uws: UwsModule } | { readonly reason: string } => (loaded ??= loadUws());

/** Whether uWebSockets.js is installed and its native binary (not its slow fallback) loaded; loads it on first call. */
export const uwsStatus = (): UwsStatus => {
  const l = uwsLoaded();
  return 'uws' in l ? { available: true } : { available: false, reason: l.reason };
};

/** `true` when the native uWebSockets.js can serve here (see `uwsStatus` for why not). */
export const uwsAvailable = (): boolean => uwsStatus().available;

/** Thrown by `listenUws` (and by `listenHttp` with `engine: 'uws'`) when uWebSockets.js cannot serve here. */
export class UwsUnavailableError extends Error {
  override readonly name = 'UwsUnavailableError';
  constructor(readonly reason: string) {
    super(`uWebSockets.js cannot serve here: ${reason}`);
  }
}

/** Replies this small are written with one `end(body, true)` when the connection must close after them. */
const CLOSING_END_MAX = 1024 * 1024;

/** The server-wide state an exchange reports to. */
interface ServerState {
  readonly options: UwsListenOptions;
  closing: boolean;
  inFlight: number;
  onIdle: (() => void) | undefined;
  /** Exchanges whose reply has not started (told the farewell if the thread dies; see UwsListener.closeNow). */
  readonly waiting: Set<Exchange>;
}

/** Options of `listenUws`: the engine's, and whether the port is shared. */
export interface UwsListenOptions extends HttpEngineOptions {
  /**
   * Listen with SO_REUSEPORT, so listeners in other threads of this process
   * (the workers' own listeners) take the same port and the kernel spreads
   * connections among them. Without it the port is taken exclusively: a
   * second server on a busy port fails instead of sharing it.
   */
  readonly sharedPort?: boolean;
}

/** A uWS listener, which can also be closed synchronously. */
export interface UwsListener extends HttpListener {
  /**
   * Stop at once, in this turn (a worker thread about to exit: a uWS socket
   * still open when its thread's loop closes aborts the process): requests
   * still waiting for their reply are answered `farewell` (when given, as
   * far as the socket takes it without waiting), then the listening socket
   * and every connection are closed.
   */
  closeNow(farewell?: HttpReply): void;
}

const EMPTY = new Uint8Array(0);

/** uWS's `listen(host, port, options, cb)`, which the installed typings omit. */
interface ListenWithOptions {
  listen(host: string, port: number, options: number, cb: (socket: Uws.us_listen_socket | false) => void): unknown;
}

/** One request and its reply on a uWS HttpResponse. */
class Exchange {
  private aborted = false;
  private ended = false;
  private settled = false;
  /** The request the handler got (undefined until the body has been read). */
  private request: EngineRequest | undefined;
  private collector: BodyCollector | undefined;
  /** The body passed the cap: the rest is read and thrown away. */
  private oversize = false;
  private discarded = 0;
  private bodyEnded = false;
  /** An over-cap request's reply, held until its body has been drained. */
  private held: HttpReply | undefined;
  private drainGivenUp = false;
  // Body writing.
  private framed: FramedReply | undefined;
  private chunkIndex = 0;
  /** Body bytes before chunks[chunkIndex]. */
  private chunkBase = 0;
  private writableHooked = false;
  /** The reply's `onWritten`, called when the exchange settles. */
  private release: (() => void) | undefined;

  constructor(
    private readonly res: Uws.HttpResponse,
    private readonly server: ServerState,
    private readonly method: string,
    private readonly path: string,
    private readonly query: string,
    private readonly headers: Map<string, string>,
    private readonly remoteAddress: string,
  ) {}

  /** uWS says the connection went away: the response is dead from here on. */
  onAborted(): void {
    this.aborted = true;
    this.server.waiting.delete(this);
    if (this.request !== undefined) EngineRequest.abort(this.request);
    this.settle();
  }

  /** Decide how the body is read, right after the headers were copied (still inside the route callback). */
  start(): void {
    const announced = announcedLength(this.headers);
    if (announced === 0) {
      this.dispatch(EMPTY);
      return;
    }
    // Registered before a dispatch: a synchronous handler may end the response, after which it must not be touched.
    this.res.onData((chunk, isLast) => this.onData(chunk, isLast));
    const max = this.server.options.maxBodyBytes;
    if (announced !== undefined && announced > max) {
      this.oversize = true;
      // Draining what could never fit would only delay the answer: answer now and close.
      if (announced - max > OVERSIZE_DRAIN_BYTES) this.drainGivenUp = true;
      this.dispatch(undefined);
    } else {
      this.collector = new BodyCollector(max, announced);
    }
  }

  private onData(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.aborted) return;
    if (this.oversize) {
      if (this.bodyEnded) return;
      this.discarded += chunk.byteLength;
      if (isLast) {
        this.bodyEnded = true;
        this.releaseHeld();
      } else if (!this.drainGivenUp && this.discarded > OVERSIZE_DRAIN_BYTES) {
        this.drainGivenUp = true;
        this.releaseHeld();
      }
      return;
    }
    const collector = this.collector!;
    // The chunk is detached when this callback returns: `add` copies it.
    if (!collector.add(new Uint8Array(chunk))) {
      this.collector = undefined;
      this.oversize = true;
      this.discarded = chunk.byteLength;
      this.bodyEnded = isLast;
      this.dispatch(undefined);
      return;
    }
    if (isLast) {
      this.bodyEnded = true;
      this.collector = undefined;
      this.dispatch(collector.body());
    }
  }

  private dispatch(body: Uint8Array | undefined): void {
    const request = new EngineRequest(this.method, this.path, this.query, this.headers, body, this.remoteAddress);
    this.request = request;
    let result: HttpReply | Promise<HttpReply>;
    try {
      result = this.server.options.handler(request);
    } catch (error) {
      result = handlerFailed(error, this.method, this.path);
    }
    if (isPromise(result)) {
      result.then(
        (reply) => this.replied(reply),
        (error: unknown) => this.replied(handlerFailed(error, this.method, this.path)),
      );
    } else {
      this.replied(result);
    }
  }

  private replied(reply: HttpReply): void {
    this.server.waiting.delete(this);
    if (this.aborted || this.ended) {
      reply.onWritten?.(); // the client is gone: the reply is dropped
      return;
    }
    this.release = reply.onWritten;
    if (this.oversize && !this.bodyEnded && !this.drainGivenUp) {
      this.held = reply; // written once the rest of the body has been read
      return;
    }
    this.write(reply);
  }

  private releaseHeld(): void {
    const reply = this.held;
    if (reply === undefined) return;
    this.held = undefined;
    this.write(reply);
  }

  private write(reply: HttpReply): void {
    let framed: FramedReply;
    try {
      framed = frameReply(reply, this.method);
    } catch (error) {
      framed = frameReply(handlerFailed(error, this.method, this.path), this.method);
    }
    const close = this.oversize || this.server.closing || framed.close;
    const res = this.res;
    try {
      this.writeFramed(framed, close);
    } catch (error) {
      // Nothing the handler controls gets here (frameReply checked the headers): a uWS refusal. Cut the connection rather than leave it hanging.
      handlerFailed(error, this.method, this.path);
      if (!this.ended && !this.aborted) {
        this.ended = true;
        res.close();
      }
      this.settle();
    }
  }

  private writeFramed(framed: FramedReply, close: boolean): void {
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine(framed.status));
      for (const [name, value] of framed.headers) res.writeHeader(name, value);
      if (framed.chunks.length === 0 || framed.bodyBytes === 0) {
        if (framed.contentLength === undefined || this.method === 'HEAD') {
          // endWithoutBody(length) never completes in this uWS: write the header ourselves.
          if (framed.contentLength !== undefined) res.writeHeader('Content-Length', String(framed.contentLength));
          if (close) res.writeHeader('Connection', 'close');
          this.ended = true;
          res.endWithoutBody();
        } else {
          this.ended = true;
          res.end(EMPTY, close);
        }
        this.settle();
        return;
      }
      if (close && framed.bodyBytes <= CLOSING_END_MAX) {
        // uWS closes the connection itself once this is written.
        this.ended = true;
        res.end(framed.chunks.length === 1 ? framed.chunks[0]! : Buffer.concat(framed.chunks), true);
        this.settle();
        return;
      }
      // Large replies on a closing connection say so; the client closes after reading (tryEnd cannot close).
      if (close) res.writeHeader('Connection', 'close');
      this.framed = framed;
      this.pump(0);
    });
  }

  /**
   * Write body chunks from body offset `offset` until done or until the
   * socket pushes back; `onWritable` resumes here with uWS's offset (tryEnd
   * writes only what the socket takes, so the rest of a chunk is offered again).
   */
  private pump(offset: number): boolean {
    const framed = this.framed!;
    const res = this.res;
    let from = offset - this.chunkBase;
    while (this.chunkIndex < framed.chunks.length) {
      if (this.aborted) return true;
      const chunk = framed.chunks[this.chunkIndex]!;
      const [ok, done] = res.tryEnd(from === 0 ? chunk : chunk.subarray(from), framed.bodyBytes);
      if (done) {
        this.ended = true;
        this.framed = undefined;
        this.settle();
        return true;
      }
      if (!ok) {
        if (!this.writableHooked) {
          this.writableHooked = true;
          res.onWritable((offset) => this.pump(offset));
        }
        return false;
      }
      this.chunkBase += chunk.byteLength;
      this.chunkIndex++;
      from = 0;
    }
    return true;
  }

  /** The thread is going away: answer `farewell` now if no reply has started (see UwsListener.closeNow). */
  farewell(reply: HttpReply): void {
    if (this.aborted || this.ended || this.framed !== undefined || this.held !== undefined) return;
    this.replied(reply);
  }

  /** The exchange is over for the server's count: answered or abandoned. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.server.waiting.delete(this);
    const release = this.release;
    this.release = undefined;
    release?.();
    const server = this.server;
    server.inFlight--;
    if (server.inFlight === 0 && server.onIdle !== undefined) server.onIdle();
  }
}

/** Start serving with uWebSockets.js; rejects with UwsUnavailableError when its native binary cannot load here. */
export const listenUws = (options: UwsListenOptions): Promise<UwsListener> => {
  const l = uwsLoaded();
  if (!('uws' in l)) return Promise.reject(new UwsUnavailableError(l.reason));
  const uws = l.uws;
  const app = uws.App();
  const server: ServerState = { options, closing: false, inFlight: 0, onIdle: undefined, waiting: new Set() };

  app.any('/*', (res, req) => {
    // Everything the request object holds is copied now: it is gone once this callback returns.
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const headers = new Map<string, string>();
    req.forEach((name, value) => {
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    });
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
    server.inFlight++;
    const exchange = new Exchange(res, server, method, path, query, headers, remoteAddress);
    server.waiting.add(exchange);
    res.onAborted(() => exchange.onAborted());
    exchange.start();
  });

  return new Promise((resolve, reject) => {
    // Exclusive unless shared: without it a second server on a busy port may share it (SO_REUSEPORT) instead of failing.
    const exclusive = options.sharedPort === true ? 0 : (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
    (app as unknown as ListenWithOptions).listen(options.host, options.port, exclusive, (socket) => {
      if (socket === false) {
        reject(new Error(`uWebSockets.js could not listen on ${options.host}:${options.port} (address in use or not available)`));
        return;
      }
      let listenSocket: Uws.us_listen_socket | undefined = socket;
      let closed: Promise<void> | undefined;
      const close = async (): Promise<void> => {
        server.closing = true;
        if (listenSocket !== undefined) {
          uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
        }
        while (server.inFlight > 0) await new Promise<void>((r) => { server.onIdle = r; });
        server.onIdle = undefined;
        // Let the last replies' corked bytes reach the kernel, then drop the idle keep-alive connections.
        await new Promise((r) => setImmediate(r));
        if (!stopped) {
          stopped = true;
          (app as Uws.TemplatedApp & { close(): void }).close();
        }
      };
      let stopped = false;
      const closeNow = (farewell?: HttpReply): void => {
        if (stopped) return;
        stopped = true;
        server.closing = true;
        if (farewell !== undefined) for (const x of [...server.waiting]) x.farewell(farewell);
        if (listenSocket !== undefined) {
          uws.us_listen_socket_close(listenSocket);
          listenSocket = undefined;
        }
        (app as Uws.TemplatedApp & { close(): void }).close();
      };
      resolve({
        engine: 'uws',
        port: uws.us_socket_local_port(socket as unknown as Uws.us_socket),
        close: () => (closed ??= close()),
        closeNow,
        get inFlight() { return server.inFlight; },
      });
    });
  });
};
