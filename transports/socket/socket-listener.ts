/**
 * Accepting socket connections (unix or tcp) and handing each one to the
 * runtime, concurrently. The listener stops accepting when the runtime
 * drains (or when it is closed); draining the connections themselves is the
 * runtime's job.
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { stderrLog } from '../../runtime/serve-connection.js';
import { type SocketServeOptions, serveSocket } from './serve-socket.js';

/** Options of a socket server. */
export interface ListenOptions extends SocketServeOptions {
  /** Refuse connections beyond this many open ones (default: unlimited). */
  readonly maxConnections?: number;
  /** Receives diagnostic lines (default: stderr). */
  readonly log?: (line: string) => void;
}

/** A listening socket server. */
export interface SocketListener<A> {
  /** Where it listens (a path for unix, host and port for tcp). */
  readonly address: A;
  /** The discovery line announcing it: `UNIX:<path>` or `TCP:<host>:<port>`. */
  readonly discovery: string;
  /** Open connections right now. */
  readonly connections: number;
  /** Stop accepting; resolves once the listener has closed. Idempotent. */
  close(): Promise<void>;
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

/** Listen with `binding` and hand every accepted connection to `runtime`. */
export const listenSockets = async <A>(runtime: RpcRuntime, binding: Binding<A>, options: ListenOptions = {}): Promise<SocketListener<A>> => {
  // Half-open: a peer that ends its side still gets the answers to the requests it already sent.
  const net = createServer({ allowHalfOpen: true });
  if (options.maxConnections !== undefined) net.maxConnections = options.maxConnections;
  let open = 0;
  let seq = 0;
  net.on('connection', (socket) => {
    binding.prepare?.(socket);
    open++;
    void serveSocket(runtime, socket, binding.transportKind, binding.label(socket, ++seq), options).done.then(() => { open--; });
  });
  const address = await binding.bind(net);
  // Accept failures (e.g. EMFILE) after listening are reported, not fatal.
  const log = options.log ?? stderrLog;
  net.on('error', (e: Error) => log(`vgi-rpc: ${binding.transportKind} listener: ${e.message}`));
  const listenerClosed = new Promise<void>((resolve) => net.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      net.close();
      await listenerClosed;
    })();
    return closing;
  };
  runtime.onDrain(() => void close());
  return {
    address,
    discovery: binding.discovery(address),
    get connections() {
      return open;
    },
    close,
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
