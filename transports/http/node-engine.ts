/**
 * The node:http engine: the same contract as the uWebSockets.js engine, for
 * Node versions uWS has no native binary for (and as the reference the uWS
 * engine is tested against). HTTP keep-alive stays on (idle connections
 * close after 10 s, uWS's idle timeout), the body is read into one buffer
 * under the cap, `aborted` fires when the response closes before it
 * finished, and bodies of several chunks are written with backpressure
 * (`res.write`'s return value and 'drain').
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpEngineOptions, HttpListener, HttpReply } from './engine.js';
import { EngineRequest } from './engine-request.js';
import { BodyCollector, OVERSIZE_DRAIN_BYTES, announcedLength } from './request-body.js';
import { type FramedReply, frameReply, handlerFailed, isPromise } from './reply-framing.js';

/** How long an idle keep-alive connection stays open (uWS's fixed idle timeout, so both engines behave alike). */
const KEEP_ALIVE_MS = 10_000;

interface ServerState {
  readonly options: HttpEngineOptions;
  closing: boolean;
  inFlight: number;
  onIdle: (() => void) | undefined;
}

const EMPTY = new Uint8Array(0);
const ignore = (): void => {};

/** Lower-cased header names; repeated headers joined with `, ` (rawHeaders keeps every occurrence in order). */
const headerMap = (raw: readonly string[]): Map<string, string> => {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? raw[i + 1]! : `${previous}, ${raw[i + 1]!}`);
  }
  return headers;
};

/** Resolves on 'drain' or when the response closes (a client gone never drains). */
const drained = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

/** One request and its reply. */
const serve = (req: IncomingMessage, res: ServerResponse, server: ServerState): void => {
  server.inFlight++;
  /** The request the handler got (undefined until the body has been read). */
  let request: EngineRequest | undefined;
  let aborted = false;
  let ended = false;
  let settled = false;
  /** The reply's `onWritten`, called when the response is over (written, or the client gone). */
  let release: (() => void) | undefined;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    const r = release;
    release = undefined;
    r?.();
    server.inFlight--;
    if (server.inFlight === 0 && server.onIdle !== undefined) server.onIdle();
  };
  // 'close' follows 'finish' for a reply written in full; before it, the client went away.
  res.once('close', () => {
    if (!res.writableFinished) {
      aborted = true;
      if (request !== undefined) EngineRequest.abort(request);
    }
    settle();
  });
  req.on('error', ignore); // a client gone mid-body: the response's 'close' reports it

  const method = (req.method ?? 'GET').toUpperCase();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const headers = headerMap(req.rawHeaders);
  const max = server.options.maxBodyBytes;

  let oversize = false;
  let bodyEnded = false;
  let drainGivenUp = false;
  let discarded = 0;
  let held: HttpReply | undefined;

  const write = (reply: HttpReply): void => {
    if (aborted || ended) return;
    ended = true;
    let framed: FramedReply;
    try {
      framed = frameReply(reply, method);
    } catch (error) {
      framed = frameReply(handlerFailed(error, method, path), method);
    }
    const flat: string[] = [];
    for (const [name, value] of framed.headers) flat.push(name, value);
    if (framed.contentLength !== undefined) flat.push('Content-Length', String(framed.contentLength));
    // node:http closes the connection after a reply that says so.
    if (oversize || server.closing || framed.close) flat.push('Connection', 'close');
    try {
      res.writeHead(framed.status, flat);
    } catch (error) {
      // Nothing the handler controls gets here (frameReply checked the headers): cut the connection rather than leave it hanging.
      handlerFailed(error, method, path);
      res.destroy();
      return;
    }
    const chunks = framed.chunks;
    if (chunks.length <= 1) {
      res.end(chunks[0]);
      return;
    }
    void (async () => {
      for (let i = 0; i < chunks.length - 1; i++) {
        if (!res.write(chunks[i]!)) await drained(res);
        if (aborted) return;
      }
      res.end(chunks[chunks.length - 1]);
    })();
  };

  const replied = (reply: HttpReply): void => {
    if (aborted || settled) {
      reply.onWritten?.(); // the client is gone: the reply is dropped
      return;
    }
    release = reply.onWritten;
    if (oversize && !bodyEnded && !drainGivenUp) {
      held = reply; // written once the rest of the body has been read
      return;
    }
    write(reply);
  };

  const releaseHeld = (): void => {
    const reply = held;
    if (reply === undefined) return;
    held = undefined;
    write(reply);
  };

  const dispatch = (body: Uint8Array | undefined): void => {
    request = new EngineRequest(method, path, query, headers, body, req.socket.remoteAddress ?? '');
    let result: HttpReply | Promise<HttpReply>;
    try {
      result = server.options.handler(request);
    } catch (error) {
      result = handlerFailed(error, method, path);
    }
    if (isPromise(result)) result.then(replied, (error: unknown) => replied(handlerFailed(error, method, path)));
    else replied(result);
  };

  const announced = announcedLength(headers);
  if (announced === 0) {
    dispatch(EMPTY);
    return;
  }
  let collector: BodyCollector | undefined;
  if (announced !== undefined && announced > max) {
    oversize = true;
    // Draining what could never fit would only delay the answer: answer now and close.
    if (announced - max > OVERSIZE_DRAIN_BYTES) drainGivenUp = true;
    dispatch(undefined);
  } else {
    collector = new BodyCollector(max, announced);
  }
  req.on('data', (chunk: Buffer) => {
    if (aborted) return;
    if (oversize) {
      discarded += chunk.byteLength;
      if (!drainGivenUp && discarded > OVERSIZE_DRAIN_BYTES) {
        drainGivenUp = true;
        releaseHeld();
      }
      return;
    }
    if (!collector!.add(chunk)) {
      collector = undefined;
      oversize = true;
      discarded = chunk.byteLength;
      dispatch(undefined);
    }
  });
  req.on('end', () => {
    if (aborted) return;
    bodyEnded = true;
    if (oversize) {
      releaseHeld();
      return;
    }
    const body = collector!.body();
    collector = undefined;
    dispatch(body);
  });
};

/** Start serving with node:http. */
export const listenNode = (options: HttpEngineOptions): Promise<HttpListener> => {
  const state: ServerState = { options, closing: false, inFlight: 0, onIdle: undefined };
  const server = createServer({ keepAlive: true, keepAliveTimeout: KEEP_ALIVE_MS }, (req, res) => serve(req, res, state));
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.off('error', onError);
      let closed: Promise<void> | undefined;
      const close = async (): Promise<void> => {
        state.closing = true;
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        while (state.inFlight > 0) await new Promise<void>((r) => { state.onIdle = r; });
        state.onIdle = undefined;
        // Every reply has reached the kernel ('close' follows 'finish'); what is left is idle or half-sent requests.
        server.closeAllConnections();
        await stopped;
      };
      resolve({
        engine: 'node',
        port: (server.address() as AddressInfo).port,
        close: () => (closed ??= close()),
        get inFlight() { return state.inFlight; },
      });
    });
  });
};
