/**
 * HTTP test plumbing for the HTTP client's tests: the npm peer's HTTP server
 * as a child process (test/interop/peer-http-server.mjs), a node:http stub
 * server with a handler of the test's own, and forwarding a request to
 * another server byte for byte (no decoding), so a stub can sit in front of
 * the peer and fail, rewrite or count what passes.
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnFirstLine } from './first-line.js';

const PEER_HTTP_SERVER = fileURLToPath(new URL('../interop/peer-http-server.mjs', import.meta.url));

/** A running peer HTTP server. */
export interface PeerHttp {
  /** The base URL, with the server's prefix when it was started with one. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  readonly stderr: string[];
}

/** Start the peer's HTTP server with `flags` (see peer-http-server.mjs). */
export const startPeerHttp = async (flags: readonly string[] = []): Promise<PeerHttp> => {
  const stderr: string[] = [];
  const { child, line, exited } = await spawnFirstLine(PEER_HTTP_SERVER, flags, (s) => s.on('data', (d: Buffer) => stderr.push(d.toString())));
  const port = Number(/^PORT:(\d+)$/.exec(line ?? '')?.[1]);
  if (!Number.isInteger(port)) throw new Error(`the peer HTTP server did not start: ${line} ${stderr.join('')}`);
  const prefix = flags.includes('--prefix') ? flags[flags.indexOf('--prefix') + 1]! : '';
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    port,
    stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
};

/** A request as a stub received it, body read. */
export interface StubRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The socket it came on (to count connections, or to destroy it). */
  readonly socket: Socket;
}

/** A running stub server. */
export interface Stub {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: StubRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** Start a node:http server answering each request (its body read first) with `handle`. */
export const startStub = async (handle: (req: StubRequest, res: ServerResponse) => void | Promise<void>): Promise<Stub> => {
  const requests: StubRequest[] = [];
  let connections = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: StubRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), socket: req.socket };
      requests.push(r);
      Promise.resolve(handle(r, res)).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};

/** An answer as forwarded: status, headers and the raw (still encoded) body. */
export interface Forwarded {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Send `req` on to `target` (a base URL) unchanged but for `headers` overrides (undefined removes one); the answer raw. */
export const forward = (target: string, req: StubRequest, headers: Readonly<Record<string, string | undefined>> = {}): Promise<Forwarded> =>
  new Promise((resolve, reject) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== 'host' && k !== 'connection') out[k] = v;
    for (const [k, v] of Object.entries(headers)) {
      delete out[k.toLowerCase()];
      if (v !== undefined) out[k.toLowerCase()] = v;
    }
    out['content-length'] = String(req.body.byteLength);
    const u = new URL(req.url, target);
    const r = request(u, { method: req.method, headers: out }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });

/** Write a forwarded answer back (its length recomputed; `headers` overrides, undefined removes one). */
export const reply = (res: ServerResponse, f: Forwarded, body: Buffer = f.body, headers: Readonly<Record<string, string | undefined>> = {}): void => {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(f.headers)) if (v !== undefined && k !== 'transfer-encoding' && k !== 'connection' && k !== 'keep-alive') out[k] = v;
  for (const [k, v] of Object.entries(headers)) {
    delete out[k.toLowerCase()];
    if (v !== undefined) out[k.toLowerCase()] = v;
  }
  out['content-length'] = String(body.byteLength);
  res.writeHead(f.status, out);
  res.end(body);
};

/** A stub that passes every request to `target` unchanged. */
export const startProxy = (target: string): Promise<Stub> => startStub(async (req, res) => reply(res, await forward(target, req)));
