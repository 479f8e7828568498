/**
 * Accepting socket connections (unix or tcp). With a pool in the default
 * accept mode the main thread binds the socket and shares it: every worker
 * accepts on its own descriptor and serves its connections itself. Otherwise
 * the main thread accepts and hands each connection to the runtime. The
 * listener stops accepting when the runtime drains (or when it is closed);
 * draining the connections themselves is the runtime's job.
 */
import { type Server, createServer } from 'node:net';
import type { TransportKind } from '../../src/service/call-context.js';
import type { RpcRuntime } from '../../runtime/rpc-runtime.js';
import { diagnostic } from '../../runtime/diagnostics.js';
import { type SocketServeOptions, serveSocket } from './serve-socket.js';
import { duplicateListener, handleOf } from './listener-dup.js';
import { AcceptHub } from './accept-hub.js';
import { connectionLabel } from './socket-ends.js';
import { closeWhenQuiet } from '../../runtime/quiet-close.js';

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
  /**
   * Bind `server` (called once); resolves with the bound address or rejects
   * with a clear error. `staged`: the socket is shared with the workers, and
   * a binding with a `publish` step binds where clients cannot reach it yet.
   */
  bind(server: Server, staged: boolean): Promise<A>;
  /** Make a staged socket reachable at `address` (unix: move the socket file into place). */
  publish?(address: A): Promise<void>;
  /**
   * Before the listener stops: make `address` unreachable for new clients
   * (unix: remove the socket file, if still ours), so that none queues
   * behind the last accepts.
   */
  unpublish?(address: A): Promise<void>;
  /** The discovery line for the bound address. */
  discovery(address: A): string;
}

/** Listen with `binding` and serve every accepted connection with `runtime`. */
export const listenSockets = async <A>(runtime: RpcRuntime, binding: Binding<A>, options: ListenOptions = {}): Promise<SocketListener<A>> => {
  // Half-open: a peer that ends its side still gets the answers to the requests it already sent.
  const net = createServer({ allowHalfOpen: true });
  if (options.maxConnections !== undefined) net.maxConnections = options.maxConnections;
  let open = 0;
  let seq = 0;
  // The main thread's own accepts (all of them when relaying; when shared, only a TCP client that
  // connects to a fixed port before the workers take over is relayed).
  net.on('connection', (socket) => {
    open++;
    void serveSocket(runtime, socket, binding.transportKind, connectionLabel(binding.transportKind, ++seq, socket), options).done.then(() => { open--; });
  });
  const shared = runtime.acceptsInWorkers;
  const address = await binding.bind(net, shared);
  // Accept failures (e.g. EMFILE) after listening are reported, not fatal.
  const log = options.log ?? diagnostic('error');
  net.on('error', (e: Error) => log(`vgi-rpc: ${binding.transportKind} listener: ${e.message}`));
  const listenerClosed = new Promise<void>((resolve) => net.once('close', () => resolve()));
  let hub: AcceptHub | undefined;
  if (shared) {
    try {
      const [template] = await duplicateListener(handleOf(net), 1);
      hub = new AcceptHub(runtime.serverId, runtime.workerPool!);
      runtime.participate(hub);
      await hub.share({
        template: template!,
        transportKind: binding.transportKind,
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      });
      await binding.publish?.(address);
    } catch (e) {
      net.close();
      throw e;
    }
    // The workers accept now; the main thread stops (the socket stays open through their descriptors).
    net.close();
  }
  // Stopping must not reset anyone (see closeWhenQuiet): new clients are turned away first
  // (unix: the socket file goes), then what is queued is accepted, then the listener closes
  // (the workers' descriptors, when shared: see worker-accept).
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await binding.unpublish?.(address).catch((e: unknown) => log(`vgi-rpc: ${binding.transportKind} listener: ${e instanceof Error ? e.message : String(e)}`));
      if (hub !== undefined) hub.stop();
      else await closeWhenQuiet(() => net.close(), () => seq);
    })();
    return stopping;
  };
  const close = async (): Promise<void> => {
    await stop();
    await listenerClosed;
  };
  runtime.onDrain(stop);
  return {
    address,
    discovery: binding.discovery(address),
    get connections() {
      return shared ? runtime.connections : open;
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
