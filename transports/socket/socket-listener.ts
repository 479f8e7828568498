/**
 * Accepting socket connections (unix or tcp) and serving each one with
 * `serveSocket`, concurrently. Closing the listener drains: it stops
 * accepting, closes idle connections, lets connections with a call in
 * flight finish it (and answer requests already received), and resolves
 * once every connection has closed.
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import { type ConnectionServer, type SocketServeOptions, serveSocket, stderrLog } from './serve-socket.js';

/** Options of a socket server. */
export interface ListenOptions extends SocketServeOptions {
  /** Refuse connections beyond this many open ones (default: unlimited). */
  readonly maxConnections?: number;
}

/** Options of `close`. */
export interface CloseOptions {
  /**
   * Connections still open this long after close() are destroyed (their
   * in-flight calls are interrupted). Default: wait for them to finish.
   */
  readonly graceMs?: number;
}

/** A listening socket server. */
export interface SocketListener<A> {
  /** Where it listens (a path for unix, host and port for tcp). */
  readonly address: A;
  /** The discovery line announcing it: `UNIX:<path>` or `TCP:<host>:<port>`. */
  readonly discovery: string;
  /** Open connections right now. */
  readonly connections: number;
  /** Stop accepting and drain; resolves once every connection has closed. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

/** How a transport binds the server and describes where it listens. */
export interface Binding<A> {
  readonly transportKind: TransportKind;
  /** Bind `server` (called once); resolves with the bound address or rejects with a clear error. */
  bind(server: Server): Promise<A>;
  /** The discovery line for the bound address. */
  discovery(address: A): string;
  /** Name of a connection in log lines. */
  label(socket: Socket, seq: number): string;
  /** Per-socket setup before serving (e.g. TCP_NODELAY). */
  prepare?(socket: Socket): void;
}

/** Listen with `binding` and serve every accepted connection with `server`. */
export const listenSockets = async <A>(server: ConnectionServer, binding: Binding<A>, options: ListenOptions = {}): Promise<SocketListener<A>> => {
  // Half-open: a peer that ends its side still gets the answers to the requests it already sent.
  const net = createServer({ allowHalfOpen: true });
  if (options.maxConnections !== undefined) net.maxConnections = options.maxConnections;
  const open = new Map<Socket, Promise<void>>();
  let seq = 0;
  let startDrain: () => void = () => {};
  const drain = new Promise<void>((resolve) => { startDrain = resolve; });
  net.on('connection', (socket) => {
    binding.prepare?.(socket);
    const served = serveSocket(server, { socket, transportKind: binding.transportKind, label: binding.label(socket, ++seq), drain }, options);
    open.set(socket, served);
    void served.then(() => open.delete(socket));
  });
  const address = await binding.bind(net);
  // Accept failures (e.g. EMFILE) after listening are reported, not fatal.
  const log = options.log ?? stderrLog;
  net.on('error', (e: Error) => log(`vgi-rpc: ${binding.transportKind} listener: ${e.message}`));
  const listenerClosed = new Promise<void>((resolve) => net.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  return {
    address,
    discovery: binding.discovery(address),
    get connections() {
      return open.size;
    },
    close: (closeOptions = {}) => {
      closing ??= (async () => {
        net.close();
        startDrain();
        const grace = closeOptions.graceMs === undefined
          ? undefined
          : setTimeout(() => { for (const s of open.keys()) s.destroy(); }, closeOptions.graceMs);
        try {
          while (open.size > 0) await Promise.all(open.values());
          await listenerClosed;
        } finally {
          clearTimeout(grace);
        }
      })();
      return closing;
    },
  };
};

/** Resolve once `server` listens, or reject with the listen error; `start` issues the listen call. */
export const listening = (server: Server, start: () => void): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (e: Error): void => { server.off('listening', onListening); reject(e); };
    const onListening = (): void => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    start();
  });
